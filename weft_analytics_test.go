package weft_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// mirrors are two servers with the same weather tool (near-duplicates:
// the same name and description); fail makes server "a"'s copy fail.
func mirrors(fail *bool) (a, b *function.Source) {
	type city struct {
		City string `json:"city" jsonschema:"the city"`
	}
	mk := func(name string, failing *bool) *function.Source {
		src := function.New(name, "weather service")
		function.Must(function.Add(src, "forecast", "Weather forecast for a city: temperature and rain",
			func(_ context.Context, c city) (string, error) {
				if failing != nil && *failing {
					return "", errors.New("backend unavailable")
				}
				return "sunny in " + c.City, nil
			}))
		return src
	}
	return mk("mirror_a", fail), mk("mirror_b", nil)
}

func analyticsOrchestrator(t *testing.T, edit func(*config.Config), srcs ...source.Source) *weft.Orchestrator {
	t.Helper()
	cfg := baseConfig(t)
	if edit != nil {
		edit(cfg)
	}
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func ranked(t *testing.T, o *weft.Orchestrator, q string) []string {
	t.Helper()
	resp, err := o.Search(context.Background(), search.Query{Text: q, K: 5})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range resp.Results {
		names = append(names, r.Name)
	}
	return names
}

// TestHealthAwareRanking: of two near-duplicate tools, the copy that fails
// its calls ranks below the healthy one; while both are healthy the
// ranking is the plain search's. A tool whose upstream is down is demoted
// likewise, and /readyz's health (Readiness) shows the failing server.
func TestHealthAwareRanking(t *testing.T) {
	const q = "weather forecast for a city"
	fail := false
	a, b := mirrors(&fail)
	o := analyticsOrchestrator(t, nil, a, b)
	healthy := ranked(t, o, q)
	if len(healthy) != 2 || healthy[0] != "mirror_a__forecast" {
		t.Fatalf("healthy ranking %v: want both copies, mirror_a's first (equal scores keep catalog order)", healthy)
	}
	// Successful calls of both keep the ranking exactly as it was.
	ctx := context.Background()
	for _, name := range healthy {
		for range 3 {
			if _, err := o.Call(ctx, name, []byte(`{"city":"Oslo"}`), weft.CallerAPI); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := ranked(t, o, q); fmt.Sprint(got) != fmt.Sprint(healthy) {
		t.Fatalf("after healthy calls: %v, want %v", got, healthy)
	}
	// mirror_a's copy starts failing.
	fail = true
	for range 5 {
		res, err := o.Call(ctx, "mirror_a__forecast", []byte(`{"city":"Oslo"}`), weft.CallerAPI)
		if err == nil && !res.IsError {
			t.Fatal("the failing copy succeeded")
		}
	}
	if got := ranked(t, o, q); len(got) != 2 || got[0] != "mirror_b__forecast" {
		t.Fatalf("with mirror_a failing: %v, want mirror_b__forecast first", got)
	}
	h := o.ToolHealth("mirror_a__forecast", "mirror_a")
	if h.Healthy() || h.Failures != 5 || h.Calls != 8 {
		t.Errorf("mirror_a__forecast health %+v: want unhealthy, 5 failures of 8 calls", h)
	}
	rd := o.Readiness()
	if rd.Health["mirror_a"].Healthy() || !rd.Health["mirror_b"].Healthy() {
		t.Errorf("readiness health %+v", rd.Health)
	}
}

// TestDownUpstreamDemoted: a tool whose upstream is down ranks below its
// healthy twin, and scores 0.
func TestDownUpstreamDemoted(t *testing.T) {
	const q = "weather forecast for a city"
	a, b := mirrors(nil)
	o := analyticsOrchestrator(t, nil, a, b)
	if got := ranked(t, o, q); len(got) != 2 || got[0] != "mirror_a__forecast" {
		t.Fatalf("healthy ranking %v", got)
	}
	a.Close()
	if got := ranked(t, o, q); len(got) != 2 || got[0] != "mirror_b__forecast" {
		t.Fatalf("with mirror_a down: %v, want mirror_b__forecast first", got)
	}
	if h := o.ToolHealth("mirror_a__forecast", "mirror_a"); h.Score != 0 || !h.Down {
		t.Errorf("down tool health %+v", h)
	}
}

// TestRateToolAndStats: a rating needs a tool the caller may see (a hidden
// one is ErrNotFound, like a missing one); one rating per client, the
// latest wins; ToolStats reads the calls and ratings from the database,
// and a fresh orchestrator on the same database sees them (health too).
func TestRateToolAndStats(t *testing.T) {
	a, b := mirrors(nil)
	dir := t.TempDir()
	edit := func(c *config.Config) { c.Analytics.DBPath = dir + "/analytics.db" }
	o := analyticsOrchestrator(t, edit, a, b)
	ctx := context.Background()
	for range 4 {
		if _, err := o.Call(ctx, "mirror_a__forecast", []byte(`{"city":"Oslo"}`), weft.CallerAPI); err != nil {
			t.Fatal(err)
		}
	}
	scoped := weft.WithScope(weft.WithClient(ctx, "k1"), weft.Scope{Servers: []string{"mirror_b"}})
	if _, err := o.RateTool(scoped, "mirror_a__forecast", 5, ""); !errors.Is(err, weft.ErrNotFound) {
		t.Fatalf("rating a hidden tool: %v, want ErrNotFound", err)
	}
	if _, err := o.RateTool(scoped, "mirror_x__nope", 5, ""); !errors.Is(err, weft.ErrNotFound) {
		t.Fatalf("rating a missing tool: %v, want ErrNotFound", err)
	}
	if _, err := o.RateTool(scoped, "mirror_b__forecast", 1, "wrong city"); err != nil {
		t.Fatal(err)
	}
	sum, err := o.RateTool(scoped, "mirror_b__forecast", 2, "")
	if err != nil || sum.Count != 1 || sum.Mean != 2 {
		t.Fatalf("re-rating: %+v, %v: want one rating of 2", sum, err)
	}
	if sum, err = o.RateTool(weft.WithClient(ctx, "k2"), "mirror_b__forecast", 1, ""); err != nil || sum.Count != 2 || sum.Mean != 1.5 {
		t.Fatalf("second client: %+v, %v", sum, err)
	}
	// Smoothed mean (2+1+6)/4 = 2.25: rating factor 0.85.
	if h := o.ToolHealth("mirror_b__forecast", "mirror_b"); h.Rating < 0.849 || h.Rating > 0.851 || h.Ratings != 2 {
		t.Errorf("rated health %+v", h)
	}
	rows, err := o.ToolStats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Tool != "mirror_a__forecast" || rows[0].Calls != 4 || rows[0].FailureRate != 0 ||
		rows[0].Health < 0.99 || rows[1].Tool != "mirror_b__forecast" || rows[1].Calls != 0 || rows[1].Ratings != 2 {
		t.Fatalf("stats %+v", rows)
	}
	o.Close()
	// A fresh process on the same database: the calls and ratings are there.
	a2, b2 := mirrors(nil)
	o2 := analyticsOrchestrator(t, edit, a2, b2)
	if h := o2.ToolHealth("mirror_a__forecast", "mirror_a"); h.Calls != 4 {
		t.Errorf("health after restart %+v: want the 4 calls replayed", h)
	}
	if h := o2.ToolHealth("mirror_b__forecast", "mirror_b"); h.Ratings != 2 {
		t.Errorf("health after restart %+v: want the 2 ratings", h)
	}
}

// TestRatingsNeedSQLite: without the sqlite backend, ratings say how to
// enable them.
func TestRatingsNeedSQLite(t *testing.T) {
	a, b := mirrors(nil)
	o := analyticsOrchestrator(t, func(c *config.Config) { c.Analytics.Backends = []string{"prometheus"} }, a, b)
	if _, err := o.RateTool(context.Background(), "mirror_a__forecast", 3, ""); !errors.Is(err, weft.ErrRatingsUnavailable) {
		t.Fatalf("%v, want ErrRatingsUnavailable", err)
	}
}

// TestAnalyticsBackendsObservable: each backend changes something one can
// observe. With none, /metrics has no analytics series and there is no
// database; with prometheus, sqlite and otlp, one tool call, one code-mode
// program and one plan show up in /metrics, in the database, and at a real
// OpenTelemetry Collector.
func TestAnalyticsBackendsObservable(t *testing.T) {
	scrape := func(o *weft.Orchestrator) string {
		rec := httptest.NewRecorder()
		o.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	ctx := context.Background()
	a, b := mirrors(nil)
	none := analyticsOrchestrator(t, func(c *config.Config) { c.Analytics.Backends = nil }, a, b)
	if _, err := none.Call(ctx, "mirror_a__forecast", []byte(`{"city":"Oslo"}`), weft.CallerAPI); err != nil {
		t.Fatal(err)
	}
	if m := scrape(none); strings.Contains(m, "weft_tool_calls_total") || !strings.Contains(m, "go_goroutines") {
		t.Errorf("no backend: /metrics has the analytics series or lacks the runtime ones")
	}
	if none.AnalyticsDatabase() != "" {
		t.Errorf("no backend: a database at %s", none.AnalyticsDatabase())
	}
	if h := none.ToolHealth("mirror_a__forecast", "mirror_a"); h.Calls != 1 {
		t.Errorf("no backend: health %+v, want the call counted", h)
	}

	col := testenv.OTelCollector(t)
	a, b = mirrors(nil)
	o := analyticsOrchestrator(t, func(c *config.Config) {
		c.Analytics.Backends = []string{config.BackendPrometheus, config.BackendSQLite, config.BackendOTLP}
		c.Analytics.OTLP.Endpoint = col.Endpoint
		c.Analytics.OTLP.Token = "tok"
		c.Analytics.OTLP.InstanceID = "replica-x"
	}, a, b)
	if _, err := o.Call(ctx, "mirror_b__forecast", []byte(`{"city":"Oslo"}`), weft.CallerAPI); err != nil {
		t.Fatal(err)
	}
	res, err := o.RunCode(ctx, sandbox.Request{Code: `return 1 + 1`})
	if err != nil || res.Error != nil {
		t.Fatal(err, res.Error)
	}
	p, err := o.ParsePlan([]byte(`{"steps":[{"id":"w","tool":"mirror_a__forecast","args":{"city":"Rome"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	run, err := o.RunPlan(ctx, p, nil, plan.RunOptions{})
	if err != nil || run.Status != plan.RunSucceeded {
		t.Fatal(err, run)
	}
	m := scrape(o)
	for _, want := range []string{
		`weft_tool_calls_total{caller="api",code="",outcome="ok",server="mirror_b",tool="mirror_b__forecast"} 1`,
		`weft_sandbox_runs_total{outcome="ok"} 1`,
		`weft_plan_runs_total{status="succeeded"} 1`,
		`weft_plan_step_duration_seconds_count{status="succeeded"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := o.FlushAnalytics(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := o.ToolStats(ctx, time.Time{})
	if err != nil || len(rows) != 2 || rows[0].Calls != 1 || rows[1].Calls != 1 {
		t.Fatalf("database: %+v, %v: want one call of each tool", rows, err)
	}
	bs := col.Wait(t, 30*time.Second, func(bs []testenv.CollectorBatch) bool {
		for _, b := range bs {
			if b.Signal == "metrics" && strings.Contains(string(b.Data), "weft.plan.runs") {
				return true
			}
		}
		return false
	})
	var last testenv.CollectorBatch
	for _, b := range bs {
		if b.Signal == "metrics" {
			last = b
		}
	}
	for _, want := range []string{`"replica-x"`, `"weft.tool.calls"`, `"mirror_b__forecast"`, `"weft.sandbox.runs"`, `"weft.plan.step.duration"`} {
		if !strings.Contains(string(last.Data), want) {
			t.Errorf("the collector's batch lacks %s", want)
		}
	}
	if last.Authorization != "Bearer tok" {
		t.Errorf("Authorization %q", last.Authorization)
	}
}
