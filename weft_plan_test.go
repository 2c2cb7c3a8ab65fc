package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// planTools is a function source "fn": ok answers, secret answers with a
// secret, and wait blocks until its call is canceled (telling entered).
func planTools(entered chan<- struct{}) *function.Source {
	src := function.New("fn", "plan test tools")
	type in struct {
		Text string `json:"text,omitempty"`
	}
	type secretIn struct {
		// The schema of a hidden tool must never show in an error.
		Vault string `json:"vault_location_xyz" jsonschema:"where the vault is"`
	}
	function.Must(function.Add(src, "ok", "Answers ok", func(_ context.Context, a in) (string, error) { return "ok " + a.Text, nil }))
	function.Must(function.Add(src, "secret", "Reveals the secret", func(context.Context, secretIn) (string, error) { return "the-secret", nil }))
	function.Must(function.Add(src, "wait", "Waits to be canceled", func(ctx context.Context, _ in) (string, error) {
		if entered != nil {
			entered <- struct{}{}
		}
		<-ctx.Done()
		return "", ctx.Err()
	}))
	return src
}

// planOrchestrator is an orchestrator over planTools only; start says
// whether Start is called.
func planOrchestrator(t *testing.T, cfg *config.Config, entered chan<- struct{}, start bool) *weft.Orchestrator {
	t.Helper()
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{planTools(entered)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if start {
		if err := o.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func parsePlan(t *testing.T, o *weft.Orchestrator, doc string) *plan.Plan {
	t.Helper()
	p, err := o.ParsePlan([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlansSurviveACanceledFirstRequest (issue 10, 2): the first plan
// request arriving with a canceled context must not disable plans for the
// life of the process.
func TestPlansSurviveACanceledFirstRequest(t *testing.T) {
	o := planOrchestrator(t, baseConfig(t), nil, false)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = o.ListRuns(canceled, plan.ListOptions{}) // the first caller gave up
	ctx := context.Background()
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ListRuns(ctx, plan.ListOptions{}); err != nil {
		t.Fatalf("list after a canceled first request: %v", err)
	}
	run, err := o.RunPlan(ctx, parsePlan(t, o, `{"steps":[{"id":"a","tool":"fn__ok","args":{"text":"x"}}]}`), nil, plan.RunOptions{})
	if err != nil || run.Status != plan.RunSucceeded {
		t.Fatalf("run after a canceled first request: %v %+v", err, run)
	}
}

// TestStartOpensTheRunStore: Start opens runs.db (0600) before any request.
func TestStartOpensTheRunStore(t *testing.T) {
	o := planOrchestrator(t, baseConfig(t), nil, true)
	fi, err := os.Stat(o.PlanStorePath())
	if err != nil {
		t.Fatalf("runs.db after Start: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("runs.db mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestCloseDrainsRuns (issue 10, 3): Close cancels a background run and
// saves its final record before closing the store.
func TestCloseDrainsRuns(t *testing.T) {
	cfg := baseConfig(t)
	entered := make(chan struct{}, 1)
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{planTools(entered)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := o.StartPlan(context.Background(), parsePlan(t, o, `{"steps":[{"id":"w","tool":"fn__wait","args":{}}]}`), nil, plan.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := o.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Close returned while the run was still going")
	}
	st, err := plan.OpenStore(context.Background(), filepath.Join(cfg.Cache.Dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := st.Get(context.Background(), h.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != plan.RunInterrupted || rec.Error != "weft shut down before the run finished" {
		t.Errorf("record after Close: %s %q", rec.Status, rec.Error)
	}
	if _, err := o.ListRuns(context.Background(), plan.ListOptions{}); err == nil {
		t.Error("plans still usable after Close")
	}
}

// TestNewClosesWhatItOpenedOnError (issue 10, 3): when New fails after the
// embedding cache was opened, the cache's file is closed.
func TestNewClosesWhatItOpenedOnError(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Search.Embedder.URL = "http://127.0.0.1:1/v1"
	cfg.Search.Embedder.Model = "m"
	cfg.Limits.RedisURL = "redis://%zz" // unparseable: New fails after the embedder
	_, err := weft.New(weft.Options{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "limits.redis_url") {
		t.Fatalf("New: %v", err)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("the error does not wrap its cause: %v", err)
	}
	dir := filepath.Join(cfg.Cache.Dir, "embeddings")
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
			t.Errorf("New left %s open", target)
		}
	}
}

// TestBackgroundRunsKeepTheCallersPolicy (issue 9 #14): a run started in
// the background (StartPlan: context.WithoutCancel) keeps the caller's
// policy and identity for every step — tool, code and nested — after the
// request that started it is gone; a hidden tool is unknown, and nothing of
// it (its schema, its description) shows in any error.
func TestBackgroundRunsKeepTheCallersPolicy(t *testing.T) {
	o := planOrchestrator(t, baseConfig(t), nil, true)
	scoped := weft.WithClient(weft.WithScope(context.Background(), weft.Scope{Tools: []string{"fn__ok"}}), "alice")

	// Checked against the caller's view: hidden is exactly like missing.
	check := func(tool string) string {
		doc := `{"steps":[{"id":"n","plan":{"steps":[{"id":"s","tool":"` + tool + `","args":{"vault_location_xyz":1,"text":2}}]}}]}`
		b, _ := json.Marshal(o.CheckPlan(scoped, parsePlan(t, o, doc)))
		return string(b)
	}
	hiddenProbs, missingProbs := check("fn__secret"), check("fn__ghost")
	if strings.ReplaceAll(hiddenProbs, "fn__secret", "fn__ghost") != missingProbs {
		t.Errorf("a hidden tool is distinguishable from a missing one:\n%s\n%s", hiddenProbs, missingProbs)
	}
	if strings.Contains(hiddenProbs, "vault") || !strings.Contains(hiddenProbs, "unknown_tool") {
		t.Errorf("problems for a hidden tool: %s", hiddenProbs)
	}
	if _, err := o.StartPlan(scoped, parsePlan(t, o, `{"steps":[{"id":"n","plan":{"steps":[{"id":"s","tool":"fn__secret","args":{}}]}}]}`), nil, plan.RunOptions{}); err == nil {
		t.Error("a nested step naming a hidden tool started")
	}

	// Code steps and nested plans of a background run call with the
	// caller's policy, after the request's context is canceled.
	req, cancel := context.WithCancel(scoped)
	h, err := o.StartPlan(req, parsePlan(t, o, `{"steps":[
		{"id":"code_ok","code":"return await tools.fn.ok({text: 'c'})"},
		{"id":"code_hidden","code":"return await callTool('fn__secret', {vault_location_xyz: 'x'})","continue_on_error":true},
		{"id":"nested","plan":{"steps":[{"id":"c","code":"return await callTool('fn__secret', {})"}]},"continue_on_error":true}
	]}`), nil, plan.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the request is gone; the run goes on
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	run, err := h.Wait(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.Owner != "alice" || h.Owner() != "alice" {
		t.Errorf("owner %q", run.Owner)
	}
	if s := run.Step("code_ok"); s.Status != plan.StepSucceeded {
		t.Errorf("code_ok: %+v %+v", s.Status, s.Error)
	}
	for _, id := range []string{"code_hidden", "nested"} {
		s := run.Step(id)
		b, _ := json.Marshal(s)
		if s.Status != plan.StepFailed || !strings.Contains(string(b), `fn__secret\" in the catalog`) || strings.Contains(string(b), "the-secret") {
			t.Errorf("%s: %s", id, b)
		}
	}
	// The run is alice's: another client does not see it.
	if _, err := o.GetRun(weft.WithClient(context.Background(), "bob"), h.ID()); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("bob reads alice's run: %v", err)
	}
	if err := o.CancelRun(weft.WithClient(context.Background(), "bob"), h.ID()); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("bob cancels alice's run: %v", err)
	}
	if err := o.CancelRun(scoped, h.ID()); !errors.Is(err, weft.ErrRunFinished) {
		t.Errorf("alice cancels her finished run: %v", err)
	}
}

// TestIdempotentRerunInANewProcess (issue 10, F): a plan whose writes carry
// idempotency keys, run again by a new orchestrator (a new process) over
// the same cache directory, reuses the stored results instead of writing
// twice — as examples/plans/knowledge-graph.json promises.
func TestIdempotentRerunInANewProcess(t *testing.T) {
	cfg := baseConfig(t)
	doc := `{"inputs":{"type":"object","properties":{"who":{"type":"string"}}},
		"steps":[{"id":"w","tool":"fn__ok","args":{"text":"{{inputs.who}}"},"idempotency_key":"write-{{inputs.who}}"}]}`
	for i, want := range []string{"", "cache"} {
		o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{planTools(nil)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		run, err := o.RunPlan(context.Background(), parsePlan(t, o, doc), map[string]any{"who": "ann"}, plan.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s := run.Step("w"); s.Status != plan.StepSucceeded || s.Reused != want || s.Result != "ok ann" {
			t.Errorf("process %d: step %+v", i+1, s)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseIsIdempotent: a second Close (a deferred one after an explicit
// one) returns without stopping anything twice.
func TestCloseIsIdempotent(t *testing.T) {
	cfg := baseConfig(t)
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{planTools(make(chan struct{}, 1))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ListRuns(context.Background(), plan.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("first close: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestPlanLimitDefaultsAgree: config (which imports nothing of weft) and
// plan (usable without config) each name the plan limits' defaults; they
// must be the same numbers.
func TestPlanLimitDefaultsAgree(t *testing.T) {
	pc := config.Default().Plans
	got := [8]int64{int64(pc.MaxSteps), int64(pc.MaxDepth), int64(pc.MaxForeachItems), int64(pc.MaxResultBytes),
		int64(pc.MaxRecordBytes), int64(pc.MaxRunBytes), int64(pc.MaxConditionCost), int64(pc.MaxRunConditionCost)}
	want := [8]int64{plan.DefaultMaxSteps, plan.DefaultMaxDepth, plan.DefaultMaxForeachItems, plan.DefaultMaxResultBytes,
		plan.DefaultMaxRecordBytes, plan.DefaultMaxRunBytes, plan.DefaultMaxConditionCost, plan.DefaultMaxRunConditionCost}
	if got != want {
		t.Fatalf("config plans defaults %v, plan package defaults %v", got, want)
	}
}
