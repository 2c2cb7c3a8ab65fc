package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// xs is a list of n integers as plan inputs.
func xs(n int) map[string]any {
	l := make([]any, n)
	for i := range l {
		l[i] = i
	}
	return map[string]any{"xs": l}
}

// nestedAll is three nested all() over inputs.xs: n³ iterations (8·10⁹ for
// 2,000 elements), the expression that ran past the step timeout and past
// cancel (issue 9 #5).
const nestedAll = `inputs.xs.all(a, inputs.xs.all(b, inputs.xs.all(c, a + b + c >= 0)))`

const listInputs = `"inputs":{"type":"object","properties":{"xs":{"type":"array"}}}`

// TestConditionCostLimit: an expensive condition fails its step with
// limit_exceeded instead of running for hours.
func TestConditionCostLimit(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	start := time.Now()
	r := e.run(t, `{`+listInputs+`,"steps":[{"id":"s","tool":"t__noop","when":"`+nestedAll+`"}]}`, xs(2000))
	s := stepOf(t, r, "s")
	if s.Status != StepFailed || s.Error == nil || s.Error.Code != CodeLimit ||
		!strings.Contains(s.Error.Message, "cost more than the limit of 100000 (plans.max_condition_cost)") {
		t.Fatalf("step: %s", jsonOf(s))
	}
	if e.tools.count("noop") != 0 {
		t.Error("the step ran")
	}
	// A correctness bound, not a performance claim: unbounded, this takes hours.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the condition ran %s", d)
	}
	// A cheap condition over the same input still runs.
	r = e.run(t, `{`+listInputs+`,"steps":[{"id":"s","tool":"t__noop","when":"inputs.xs.all(a, a >= 0)"}]}`, xs(2000))
	if s := stepOf(t, r, "s"); s.Status != StepSucceeded {
		t.Errorf("cheap condition: %s", jsonOf(s))
	}
}

// TestConditionEndsAtCancelAndDeadline: with no effective cost limit, an
// evaluation still ends when the run is canceled or the step's timeout
// passes.
func TestConditionEndsAtCancelAndDeadline(t *testing.T) {
	e := newEnv(t, ExecutorOptions{Limits: Limits{MaxConditionCost: 1 << 62}})
	p := mustParse(t, `{`+listInputs+`,"steps":[{"id":"s","tool":"t__noop","when":"`+nestedAll+`"}]}`)
	started := make(chan struct{})
	h, err := e.x.Start(context.Background(), p, xs(2000), RunOptions{Catalog: e.snap.View(nil), OnEvent: func(ev Event) {
		if ev.Type == EventStepStarted && ev.Step == "s" {
			close(started)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-started // the step is evaluating its condition
	canceled := time.Now()
	h.Cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("the run did not end after cancel: %v", err)
	}
	if r.Status != RunCanceled || stepOf(t, r, "s").Status != StepCanceled {
		t.Errorf("after cancel: %s %s", r.Status, jsonOf(stepOf(t, r, "s")))
	}
	if d := time.Since(canceled); d > 5*time.Second {
		t.Errorf("the run ended %s after cancel", d)
	}

	r = e.run(t, `{`+listInputs+`,"steps":[{"id":"s","tool":"t__noop","timeout":"200ms","when":"`+nestedAll+`"}]}`, xs(2000))
	s := stepOf(t, r, "s")
	if s.Status != StepFailed || s.Error == nil || s.Error.Code != "timeout" || !strings.Contains(s.Error.Message, "before the step's deadline") {
		t.Errorf("after the step's timeout: %s", jsonOf(s))
	}
	if d := s.Duration(); d > 5*time.Second {
		t.Errorf("the condition ran %s past a 200ms timeout", d)
	}
}

// TestConditionStaticCost: a condition that costs more than the limit
// whatever its inputs is reported before the plan runs.
func TestConditionStaticCost(t *testing.T) {
	p := mustParse(t, `{"steps":[{"id":"s","tool":"t__noop","when":"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, a*b > 0))"}]}`)
	probs := CheckWithin(nil, p, Limits{MaxConditionCost: 50})
	if len(probs) != 1 || probs[0].Code != ProblemLimit || probs[0].Path != "steps[0].when" ||
		!strings.Contains(probs[0].Message, "the limit is 50 (plans.max_condition_cost)") {
		t.Fatalf("problems: %+v", probs)
	}
	if probs := CheckWithin(nil, p, Limits{}); probs != nil {
		t.Errorf("under the default limit: %+v", probs)
	}
}

// TestPlanLimitsAtCheckTime: what the document shows — steps, nesting,
// literal foreach lists — is checked before anything runs, with the path.
func TestPlanLimitsAtCheckTime(t *testing.T) {
	steps := make([]string, 12)
	for i := range steps {
		steps[i] = fmt.Sprintf(`{"id":"s%d","tool":"t__noop"}`, i)
	}
	many := `{"steps":[` + strings.Join(steps, ",") + `]}`
	nested := `{"steps":[{"id":"a","plan":{"steps":[{"id":"b","plan":{"steps":[{"id":"c","tool":"t__noop"}]}}]}}]}`
	items := make([]string, 30)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	wide := `{"steps":[{"id":"f","tool":"t__count","foreach":[` + strings.Join(items, ",") + `],"args":{"n":"{{item}}"}}]}`
	lim := Limits{MaxSteps: 10, MaxDepth: 2, MaxForeachItems: 20}
	for _, tc := range []struct{ name, doc, path, msg string }{
		{"steps", many, "steps", "the plan has 12 steps (nested plans included); the limit is 10 (plans.max_steps)"},
		{"depth", nested, "steps[0].plan.steps[0].plan", "plans nest 3 deep here; the limit is 2 (plans.max_depth)"},
		{"foreach", wide, "steps", "the plan's foreach lists have 30 elements in all; a run may run at most 20 (plans.max_foreach_items)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ExecutorOptions{Limits: lim})
			p := mustParse(t, tc.doc)
			probs := CheckWithin(e.snap.View(nil), p, lim)
			if len(probs) != 1 || probs[0].Code != ProblemLimit || probs[0].Path != tc.path || probs[0].Message != tc.msg {
				t.Fatalf("problems: %+v", probs)
			}
			if probs[0].Line == 0 {
				t.Errorf("no line:col: %+v", probs[0])
			}
			_, err := e.x.Run(context.Background(), p, nil, RunOptions{Catalog: e.snap.View(nil)})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("run: %v", err)
			}
			if n := e.tools.count("noop") + e.tools.count("count"); n != 0 {
				t.Errorf("%d calls made", n)
			}
		})
	}
}

// TestPlanLimitsAtRunTime: fan-out that only the run knows — a foreach over
// a tool's list, a nested plan per element — fails the step that crosses
// the limit, without running its elements.
func TestPlanLimitsAtRunTime(t *testing.T) {
	e := newEnv(t, ExecutorOptions{Limits: Limits{MaxForeachItems: 25, MaxSteps: 20}})
	r := e.run(t, `{"steps":[
		{"id":"l","tool":"t__list","args":{"n":20}},
		{"id":"f","tool":"t__count","foreach":"{{steps.l.result.items}}","args":{"n":"{{item.id}}"}},
		{"id":"g","tool":"t__count","foreach":"{{steps.l.result.items}}","args":{"n":"{{item.id}}"},"depends_on":["f"]}
	]}`, nil)
	if f := stepOf(t, r, "f"); f.Status != StepSucceeded || len(f.Items) != 20 {
		t.Fatalf("f: %s %d items", f.Status, len(f.Items))
	}
	g := stepOf(t, r, "g")
	want := "foreach over 20 elements: the run has run 20 foreach elements already; a run may run at most 25 (plans.max_foreach_items)"
	if g.Status != StepFailed || g.Error.Code != CodeLimit || g.Error.Message != want || len(g.Items) != 0 {
		t.Errorf("g: %s", jsonOf(g))
	}
	if n := e.tools.count("count"); n != 20 {
		t.Errorf("count called %d times, want 20", n)
	}

	// A nested plan per element adds its steps to the run's records.
	r = e.run(t, `{"steps":[
		{"id":"l","tool":"t__list","args":{"n":10}},
		{"id":"f","foreach":"{{steps.l.result.items}}","concurrency":1,"inputs":{"n":"{{item.id}}"},
		 "plan":{"inputs":{"type":"object","properties":{"n":{"type":"integer"}}},"steps":[
			{"id":"a","tool":"t__count","args":{"n":"{{inputs.n}}"}},{"id":"b","tool":"t__noop"},{"id":"c","tool":"t__noop"}]}}
	]}`, nil)
	f := stepOf(t, r, "f")
	ok, limited := 0, 0
	for _, it := range f.Items {
		switch {
		case it.Status == StepSucceeded:
			ok++
		case it.Error != nil && it.Error.Code == CodeLimit && strings.Contains(it.Error.Message, "a run may have at most 20 (plans.max_steps)"):
			limited++
		}
	}
	// 2 top-level steps + 6 elements × 3 nested steps = 20.
	if ok != 6 || limited != 4 {
		t.Errorf("elements: %d ran, %d over the limit; want 6 and 4: %s", ok, limited, jsonOf(f.Items))
	}
}

// TestLargeResultsBoundedInRecords: a result over max_result_bytes is
// stored as a preview with its size, yet the steps that reference it get
// all of it; a run that holds too much fails the step that crosses
// max_run_bytes.
func TestLargeResultsBoundedInRecords(t *testing.T) {
	store := openTestStore(t)
	e := newEnv(t, ExecutorOptions{Records: store, Limits: Limits{MaxResultBytes: 2000, MaxRecordBytes: 4000}})
	r := e.run(t, `{"steps":[
		{"id":"big","tool":"t__list","args":{"n":200}},
		{"id":"use","tool":"t__count","args":{"n":"{{steps.big.result.total}}"}},
		{"id":"last","tool":"t__echo","args":{"message":"{{steps.big.result.items[199].name}}"}}
	],"outputs":{"all":"{{steps.big.result}}"}}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	big := stepOf(t, r, "big")
	preview, ok := big.Result.(string)
	if !ok || big.Truncated < 2000 || !strings.HasPrefix(preview, `{"items":[{"id":1,`) || !strings.HasSuffix(preview, "…") || len(preview) > previewBytes+len("…") {
		t.Errorf("big stored as %T (%d bytes) truncated=%d", big.Result, len(preview), big.Truncated)
	}
	if got := jsonOf(stepOf(t, r, "use").Result); got != `{"n":200}` {
		t.Errorf("use = %s", got)
	}
	if got := stepOf(t, r, "last").Result; got != "item-200" {
		t.Errorf("last = %#v", got)
	}
	if s, ok := r.Outputs["all"].(string); !ok || r.TruncatedOutputs["all"] != big.Truncated || !strings.HasSuffix(s, "…") {
		t.Errorf("output all: %T truncated=%v", r.Outputs["all"], r.TruncatedOutputs)
	}
	got, err := store.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(jsonOf(got)); n > 8000 {
		t.Errorf("stored record is %d bytes", n)
	}

	e = newEnv(t, ExecutorOptions{Limits: Limits{MaxRunBytes: 3000}})
	// Each list of 100 is about 2,400 bytes of JSON: a fits, a and b do not.
	r = e.run(t, `{"steps":[{"id":"a","tool":"t__list","args":{"n":100}},{"id":"b","tool":"t__list","args":{"n":100},"depends_on":["a"]}]}`, nil)
	a, b := stepOf(t, r, "a"), stepOf(t, r, "b")
	if a.Status != StepSucceeded || b.Status != StepFailed || b.Error.Code != CodeLimit ||
		!strings.Contains(b.Error.Message, "over the limit of 3000 (plans.max_run_bytes)") || b.Result != nil {
		t.Errorf("a %s, b %s", jsonOf(a), jsonOf(b))
	}
}

// TestTruncatedResultPreviewIsRedacted: the preview a record keeps of a
// large result is redacted too.
func TestTruncatedResultPreviewIsRedacted(t *testing.T) {
	e := newEnv(t, ExecutorOptions{Limits: Limits{MaxResultBytes: 100, MaxRecordBytes: 1000}})
	msg := "token=tok-12345678 " + strings.Repeat("x", 500)
	r := e.run(t, `{"steps":[{"id":"big","tool":"t__echo","args":{"message":"`+msg+`"}}]}`, nil)
	big := stepOf(t, r, "big")
	p, _ := big.Result.(string)
	if big.Truncated != len(msg)+2 || !strings.HasPrefix(p, `"token=[redacted] xxx`) || strings.Contains(p, "tok-12345678") {
		t.Errorf("preview %q (truncated %d)", p, big.Truncated)
	}
}

// TestRunConditionBudget: conditions evaluated per foreach element add up;
// past the run's budget the remaining elements fail instead of evaluating.
func TestRunConditionBudget(t *testing.T) {
	e := newEnv(t, ExecutorOptions{Limits: Limits{MaxRunConditionCost: 2000}})
	r := e.run(t, `{`+listInputs+`,"steps":[
		{"id":"l","tool":"t__list","args":{"n":30}},
		{"id":"f","tool":"t__count","foreach":"{{steps.l.result.items}}","concurrency":1,"args":{"n":"{{item.id}}"},
		 "when":"item.id > 0 && inputs.xs.all(a, a >= 0)"}]}`, xs(100))
	ran, limited := 0, 0
	for _, it := range stepOf(t, r, "f").Items {
		switch {
		case it.Status == StepSucceeded:
			ran++
		case it.Error != nil && it.Error.Code == CodeLimit && strings.Contains(it.Error.Message, "may cost at most 2000 in all (plans.max_run_condition_cost)"):
			limited++
		}
	}
	if ran == 0 || limited == 0 || ran+limited != 30 {
		t.Errorf("%d elements ran, %d hit the run's condition budget (want both, 30 in all)", ran, limited)
	}
	if n := e.tools.count("count"); n != ran {
		t.Errorf("count called %d times for %d elements", n, ran)
	}
}
