package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFanOutFanIn(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"src","tool":"t__list","args":{"n":3}},
		{"id":"b1","tool":"t__gate","args":{"n":3,"tag":"fan","value":"{{steps.src.result.items[0].id}}"}},
		{"id":"b2","tool":"t__gate","args":{"n":3,"tag":"fan","value":"{{steps.src.result.items[1].id}}"}},
		{"id":"b3","tool":"t__gate","args":{"n":3,"tag":"fan","value":"{{steps.src.result.items[2].id}}"}},
		{"id":"join","tool":"t__echo","args":{"message":"{{steps.b1.result.value}}+{{steps.b2.result.value}}+{{steps.b3.result.value}}"}}
	],"outputs":{"sum":"{{steps.join.result}}","firstValue":"{{steps.b1.result.value}}"}}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("status %s: %s", r.Status, r.Error)
	}
	// The gate opens only when all three branches are in flight together.
	if got := e.tools.tagMaxSeen("fan"); got != 3 {
		t.Errorf("fan-out concurrency = %d, want 3", got)
	}
	join := stepOf(t, r, "join")
	for _, id := range []string{"b1", "b2", "b3"} {
		if b := stepOf(t, r, id); join.Started.Before(b.Finished) {
			t.Errorf("join started before %s finished", id)
		}
	}
	if join.Result != "1+2+3" {
		t.Errorf("join result = %#v, want \"1+2+3\"", join.Result)
	}
	// A value that is exactly one reference keeps its JSON type.
	if got := jsonOf(r.Outputs); got != `{"firstValue":1,"sum":"1+2+3"}` {
		t.Errorf("outputs = %s", got)
	}
}

func TestDiamond(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"a","tool":"t__sleep","args":{"ms":1,"value":"x"}},
		{"id":"b","tool":"t__gate","args":{"n":2,"tag":"bc","value":"{{steps.a.result.value}}b"}},
		{"id":"c","tool":"t__gate","args":{"n":2,"tag":"bc","value":"{{steps.a.result.value}}c"}},
		{"id":"d","tool":"t__echo","args":{"message":"{{steps.b.result.value}},{{steps.c.result.value}}"}}
	]}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("status %s: %s", r.Status, r.Error)
	}
	a, b, c, d := stepOf(t, r, "a"), stepOf(t, r, "b"), stepOf(t, r, "c"), stepOf(t, r, "d")
	if b.Started.Before(a.Finished) || c.Started.Before(a.Finished) {
		t.Error("b or c started before a finished")
	}
	if !(b.Started.Before(c.Finished) && c.Started.Before(b.Finished)) {
		t.Errorf("b [%v,%v] and c [%v,%v] did not overlap", b.Started, b.Finished, c.Started, c.Finished)
	}
	if d.Started.Before(b.Finished) || d.Started.Before(c.Finished) {
		t.Error("d started before b and c finished")
	}
	if d.Result != "xb,xc" {
		t.Errorf("d = %#v", d.Result)
	}
}

func TestForeachConcurrencyBoundAndOrder(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"list","tool":"t__list","args":{"n":9}},
		{"id":"each","tool":"t__gate","foreach":"{{steps.list.result.items}}","concurrency":3,
		 "args":{"n":3,"tag":"fe","value":"{{index}}:{{item.name}}"}}
	],"outputs":{"names":"{{steps.each.result}}"}}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("status %s: %s", r.Status, r.Error)
	}
	// Groups of three meet at the gate (so three ran at once), and never
	// more than three were in flight.
	if got := e.tools.tagMaxSeen("fe"); got != 3 {
		t.Errorf("max observed foreach concurrency = %d, want 3", got)
	}
	each := stepOf(t, r, "each")
	list, ok := each.Result.([]any)
	if !ok || len(list) != 9 {
		t.Fatalf("result = %s", jsonOf(each.Result))
	}
	for i, v := range list {
		want := fmt.Sprintf("%d:item-%d", i, i+1)
		if got := v.(map[string]any)["value"]; got != want {
			t.Errorf("element %d value = %v, want %s", i, got, want)
		}
	}
	if len(each.Items) != 9 || each.Items[4].ID != "each[4]" || each.Items[4].Status != StepSucceeded {
		t.Errorf("items = %s", jsonOf(each.Items))
	}
	if n := e.tools.count("gate"); n != 9 {
		t.Errorf("gate calls = %d", n)
	}
}

func TestWhen(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"inputs":{"type":"object","properties":{"mode":{"type":"string"},"limit":{"type":"integer","default":2}}},
	"steps":[
		{"id":"list","tool":"t__list","args":{"n":4}},
		{"id":"yes","tool":"t__echo","args":{"message":"ran"},"when":"steps.list.result.total > 3 && inputs.mode == 'full'"},
		{"id":"no","tool":"t__echo","args":{"message":"ran"},"when":"steps.list.result.total > 10"},
		{"id":"after_no","tool":"t__echo","args":{"message":"no is {{steps.no.status}}, result [{{steps.no.result}}]"}},
		{"id":"some","tool":"t__echo","foreach":"{{steps.list.result.items}}","when":"item.id <= inputs.limit",
		 "args":{"message":"{{item.name}}"}}
	]}`, map[string]any{"mode": "full"})
	if r.Status != RunSucceeded {
		t.Fatalf("status %s: %s", r.Status, r.Error)
	}
	if s := stepOf(t, r, "yes"); s.Status != StepSucceeded || s.Result != "ran" {
		t.Errorf("yes: %s", jsonOf(s))
	}
	if s := stepOf(t, r, "no"); s.Status != StepSkipped || s.Reason != ReasonCondition || len(s.Attempts) != 0 {
		t.Errorf("no: %s", jsonOf(s))
	}
	if s := stepOf(t, r, "after_no"); s.Status != StepSucceeded || s.Result != "no is skipped, result []" {
		t.Errorf("after_no: %s", jsonOf(s))
	}
	some := stepOf(t, r, "some")
	if got := jsonOf(some.Result); got != `["item-1","item-2",null,null]` {
		t.Errorf("some = %s", got)
	}
	if some.Items[3].Status != StepSkipped {
		t.Errorf("element 3: %s", jsonOf(some.Items[3]))
	}
	if n := e.tools.count("echo"); n != 4 { // yes, after_no, 2 elements
		t.Errorf("echo calls = %d, want 4", n)
	}
}

func TestRetrySucceedsOnThirdAttempt(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	var mu sync.Mutex
	var retries []Event
	p := mustParse(t, `{"steps":[{"id":"f","tool":"t__flaky","args":{"key":"k3","fails":2,"value":"ok"},
		"retry":{"attempts":3,"backoff":"40ms","multiplier":2,"jitter":0}}]}`)
	r, err := e.x.Run(context.Background(), p, nil, RunOptions{Catalog: e.snap.View(nil), OnEvent: func(ev Event) {
		if ev.Type == EventStepRetry {
			mu.Lock()
			retries = append(retries, ev)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	f := stepOf(t, r, "f")
	if r.Status != RunSucceeded || f.Status != StepSucceeded {
		t.Fatalf("run %s, step %s", r.Status, jsonOf(f))
	}
	if len(f.Attempts) != 3 || f.Attempts[0].Error.Code != "unavailable" || f.Attempts[2].Error != nil {
		t.Fatalf("attempts = %s", jsonOf(f.Attempts))
	}
	// The backoff is visible in the recorded timings: 40ms, then 80ms.
	for i, want := range []time.Duration{40 * time.Millisecond, 80 * time.Millisecond} {
		a, b := f.Attempts[i], f.Attempts[i+1]
		if b.Backoff.D() != want {
			t.Errorf("attempt %d backoff = %s, want %s", i+2, b.Backoff.D(), want)
		}
		if gap := b.Started.Sub(a.Finished); gap < want {
			t.Errorf("gap before attempt %d = %s, want >= %s", i+2, gap, want)
		}
	}
	if len(retries) != 2 || retries[0].Attempt != 1 || retries[1].Delay.D() != 80*time.Millisecond {
		t.Errorf("retry events = %s", jsonOf(retries))
	}
	if got := jsonOf(f.Result); got != `{"calls":3,"value":"ok"}` {
		t.Errorf("result = %s", got)
	}
}

func TestRetryOnlyRetryableCodes(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"toolerr","tool":"t__fail","args":{"why":"x"},"retry":{"attempts":3,"backoff":"1ms"}},
		{"id":"opted","tool":"t__fail","args":{"why":"y"},"retry":{"attempts":2,"backoff":"1ms","on":["tool_error"]}}
	]}`, nil)
	if s := stepOf(t, r, "toolerr"); len(s.Attempts) != 1 || s.Error.Code != CodeToolError || s.Error.Message != "it broke: x" {
		t.Errorf("toolerr: %s", jsonOf(s))
	}
	if s := stepOf(t, r, "opted"); len(s.Attempts) != 2 {
		t.Errorf("opted: %s", jsonOf(s))
	}
}

func TestStepTimeout(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"slow","tool":"t__sleep","args":{"ms":5000},"timeout":"50ms"},
		{"id":"fast","tool":"t__sleep","args":{"ms":1},"timeout":1}
	]}`, nil)
	slow := stepOf(t, r, "slow")
	if slow.Status != StepFailed || slow.Error.Code != "timeout" {
		t.Fatalf("slow: %s", jsonOf(slow))
	}
	if stepOf(t, r, "fast").Status != StepSucceeded || r.Status != RunFailed {
		t.Errorf("run: %s", jsonOf(r))
	}
}

func TestCancelMidRun(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := mustParse(t, `{"steps":[
		{"id":"a","tool":"t__sleep","args":{"ms":1}},
		{"id":"b","tool":"t__sleep","args":{"ms":10000},"depends_on":["a"]},
		{"id":"c","tool":"t__echo","args":{"message":"ms={{steps.b.result.ms}}"}},
		{"id":"d","tool":"t__sleep","args":{"ms":10000}}
	]}`)
	h, err := e.x.Start(ctx, p, nil, RunOptions{Catalog: e.snap.View(nil), OnEvent: func(ev Event) {
		if ev.Type == EventStepStarted && ev.Step == "b" {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != RunCanceled {
		t.Fatalf("run status %s", r.Status)
	}
	want := map[string]StepStatus{"a": StepSucceeded, "b": StepCanceled, "c": StepCanceled, "d": StepCanceled}
	for id, st := range want {
		if s := stepOf(t, r, id); s.Status != st {
			t.Errorf("%s: %s, want %s", id, jsonOf(s), st)
		}
	}
	if s := stepOf(t, r, "c"); !s.Started.IsZero() || s.Reason != ReasonRunCanceled {
		t.Errorf("c should never have started: %s", jsonOf(s))
	}
	if _, ok := e.x.Lookup(context.Background(), r.ID); ok {
		t.Error("finished run is still active")
	}
}

func TestIdempotentRerunExecutesNothingTwice(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	doc := `{"inputs":{"type":"object","properties":{"user":{"type":"string"}},"required":["user"]},
	"steps":[
		{"id":"a","tool":"t__list","args":{"n":3},"idempotency_key":"list-{{inputs.user}}"},
		{"id":"b","tool":"t__sleep","foreach":"{{steps.a.result.items}}","args":{"ms":1,"value":"{{item.id}}"},"idempotency_key":"sleep-{{inputs.user}}-{{item.id}}"},
		{"id":"c","tool":"t__echo","args":{"message":"v={{steps.b.result[2].value}}"},"idempotency_key":"echo-{{inputs.user}}"}
	]}`
	r1 := e.run(t, doc, map[string]any{"user": "ann"})
	calls := []int{e.tools.count("list"), e.tools.count("sleep"), e.tools.count("echo")}
	if r1.Status != RunSucceeded || fmt.Sprint(calls) != "[1 3 1]" {
		t.Fatalf("first run %s, calls %v", r1.Status, calls)
	}
	r2 := e.run(t, doc, map[string]any{"user": "ann"})
	if got := []int{e.tools.count("list"), e.tools.count("sleep"), e.tools.count("echo")}; fmt.Sprint(got) != "[1 3 1]" {
		t.Errorf("calls after re-run = %v, want [1 3 1]", got)
	}
	if r2.Status != RunSucceeded || stepOf(t, r2, "a").Reused != "cache" || stepOf(t, r2, "b").Items[1].Reused != "cache" || stepOf(t, r2, "c").Reused != "cache" {
		t.Errorf("second run: %s", jsonOf(r2.Steps))
	}
	if jsonOf(stepOf(t, r2, "c").Result) != jsonOf(stepOf(t, r1, "c").Result) {
		t.Errorf("re-run result differs")
	}
	// Another user's key is a different effect.
	e.run(t, doc, map[string]any{"user": "bob"})
	if n := e.tools.count("list"); n != 2 {
		t.Errorf("list calls = %d, want 2", n)
	}
}

func TestIdempotentInFlightCollapsed(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	doc := `{"steps":[
		{"id":"x","tool":"t__hold","args":{"tag":"h","value":1},"idempotency_key":"same"},
		{"id":"y","tool":"t__hold","args":{"tag":"h","value":1},"idempotency_key":"same"}
	]}`
	// The one call holds until all four steps (two runs) have started; each
	// then either joins it in flight or reuses its stored result.
	release := e.tools.hold("h")
	var mu sync.Mutex
	started := 0
	onEvent := func(ev Event) {
		if ev.Type != EventStepStarted {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if started++; started == 4 {
			release()
		}
	}
	var wg sync.WaitGroup
	runs := make([]*Run, 2)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.x.Run(context.Background(), mustParse(t, doc), nil, RunOptions{Catalog: e.snap.View(nil), OnEvent: onEvent})
			if err != nil {
				t.Error(err)
			}
			runs[i] = r
		}()
	}
	wg.Wait()
	if n := e.tools.count("hold"); n != 1 {
		t.Errorf("hold calls = %d, want 1 (4 identical in-flight steps)", n)
	}
	reused := 0
	for _, r := range runs {
		for _, s := range r.Steps {
			if s.Reused != "" {
				reused++
			}
		}
	}
	if reused != 3 {
		t.Errorf("reused steps = %d, want 3", reused)
	}
}

func TestPartialResultsAfterFailure(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"ok","tool":"t__list","args":{"n":1}},
		{"id":"bad","tool":"t__fail","args":{"why":"{{steps.ok.result.items[0].name}}"}},
		{"id":"child","tool":"t__echo","args":{"message":"{{steps.bad.result}}"}},
		{"id":"grandchild","tool":"t__echo","args":{"message":"x"},"depends_on":["child"]},
		{"id":"independent","tool":"t__sleep","args":{"ms":30,"value":"done"}}
	]}`, nil)
	if r.Status != RunFailed || r.Error != "1 step(s) failed: bad" {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	checks := []struct {
		id     string
		status StepStatus
		reason string
	}{
		{"ok", StepSucceeded, ""},
		{"bad", StepFailed, ""},
		{"child", StepSkipped, "dependency failed: bad"},
		{"grandchild", StepSkipped, "dependency failed: child"},
		{"independent", StepSucceeded, ""},
	}
	for _, c := range checks {
		if s := stepOf(t, r, c.id); s.Status != c.status || s.Reason != c.reason {
			t.Errorf("%s: %s", c.id, jsonOf(s))
		}
	}
	if s := stepOf(t, r, "bad"); s.Error == nil || s.Error.Message != "it broke: item-1" || len(s.Attempts) != 1 {
		t.Errorf("bad: %s", jsonOf(s))
	}
	if jsonOf(stepOf(t, r, "ok").Result) != `{"items":[{"id":1,"name":"item-1"}],"total":1}` {
		t.Error("the successful step's result was not kept")
	}
	if jsonOf(stepOf(t, r, "independent").Result) != `{"ms":30,"value":"done"}` {
		t.Error("the independent branch's result was not kept")
	}
}

func TestContinueOnError(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"bad","tool":"t__fail","args":{"why":"nope"},"continue_on_error":true},
		{"id":"handle","tool":"t__echo","args":{"message":"{{steps.bad.status}}/{{steps.bad.error.code}}: {{steps.bad.error.message}}"}},
		{"id":"fallback","tool":"t__echo","args":{"message":"fallback"},"when":"steps.bad.error != null"}
	]}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	if got := stepOf(t, r, "handle").Result; got != "failed/tool_error: it broke: nope" {
		t.Errorf("handle = %#v", got)
	}
	if stepOf(t, r, "fallback").Status != StepSucceeded {
		t.Error("fallback did not run")
	}
}

func TestToolResultForms(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[
		{"id":"structured","tool":"t__count","args":{"n":7}},
		{"id":"jsontext","tool":"t__json_text","args":{}},
		{"id":"text","tool":"t__echo","args":{"message":"plain words"}},
		{"id":"use","tool":"t__count","args":{"n":"{{steps.jsontext.result.answer}}"}}
	]}`, nil)
	want := map[string]string{"structured": `{"n":7}`, "jsontext": `{"answer":42,"tags":["a","b"]}`, "text": `"plain words"`, "use": `{"n":42}`}
	for id, w := range want {
		if got := jsonOf(stepOf(t, r, id).Result); got != w {
			t.Errorf("%s result = %s, want %s", id, got, w)
		}
	}
}

func TestInputsValidatedWithDefaults(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	doc := `{"inputs":{"type":"object","properties":{"n":{"type":"integer","minimum":1},"label":{"type":"string","default":"L"}},"required":["n"]},
		"steps":[{"id":"l","tool":"t__list","args":{"n":"{{inputs.n}}"}}],
		"outputs":{"label":"{{inputs.label}}","total":"{{steps.l.result.total}}"}}`
	_, err := e.x.Run(context.Background(), mustParse(t, doc), map[string]any{"n": 0}, RunOptions{Catalog: e.snap.View(nil)})
	pe, ok := err.(*ProblemsError)
	if !ok || len(pe.Problems) != 1 || pe.Problems[0].Path != "inputs.n" || pe.Problems[0].Code != ProblemInvalidInputs {
		t.Fatalf("err = %v", err)
	}
	r := e.run(t, doc, map[string]any{"n": 2})
	if got := jsonOf(r.Outputs); got != `{"label":"L","total":2}` {
		t.Errorf("outputs = %s", got)
	}
}

// codeFunc adapts a Go function to CodeRunner, standing in for the sandbox.
type codeFunc func(ctx context.Context, code string, inputs map[string]any) (json.RawMessage, error)

func (f codeFunc) RunCode(ctx context.Context, code string, inputs map[string]any) (json.RawMessage, error) {
	return f(ctx, code, inputs)
}

func TestCodeAndNestedPlanSteps(t *testing.T) {
	runner := codeFunc(func(_ context.Context, code string, in map[string]any) (json.RawMessage, error) {
		if !strings.Contains(code, "return") {
			return nil, fmt.Errorf("SyntaxError: no return")
		}
		return []byte(fmt.Sprintf(`{"seen": %s}`, jsonOf(in))), nil
	})
	e := newEnv(t, ExecutorOptions{Code: runner})
	r := e.run(t, `{"steps":[
		{"id":"l","tool":"t__list","args":{"n":2}},
		{"id":"code","code":"return inputs.ids","inputs":{"ids":"{{steps.l.result.items}}","k":1}},
		{"id":"broken","code":"oops","continue_on_error":true},
		{"id":"sub","plan":{
			"inputs":{"type":"object","properties":{"word":{"type":"string"}},"required":["word"]},
			"steps":[{"id":"inner","tool":"t__echo","args":{"message":"inner {{inputs.word}}"}}],
			"outputs":{"said":"{{steps.inner.result}}"}},
		 "inputs":{"word":"{{steps.l.result.items[1].name}}"}},
		{"id":"after","tool":"t__echo","args":{"message":"{{steps.sub.result.said}}"}}
	]}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, jsonOf(r.Steps))
	}
	if got := jsonOf(stepOf(t, r, "code").Result); got != `{"seen":{"ids":[{"id":1,"name":"item-1"},{"id":2,"name":"item-2"}],"k":1}}` {
		t.Errorf("code = %s", got)
	}
	if s := stepOf(t, r, "broken"); s.Error == nil || s.Error.Code != CodeCodeError {
		t.Errorf("broken = %s", jsonOf(s))
	}
	sub := stepOf(t, r, "sub")
	if len(sub.Steps) != 1 || sub.Steps[0].ID != "inner" || sub.Steps[0].Status != StepSucceeded {
		t.Errorf("sub = %s", jsonOf(sub))
	}
	if got := stepOf(t, r, "after").Result; got != "inner item-2" {
		t.Errorf("after = %#v", got)
	}
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	p := mustParse(t, `{"steps":[{"id":"a","tool":"t__sleep","args":{"ms":20}},{"id":"b","tool":"t__echo","args":{"message":"{{steps.a.status}}"}}]}`)
	h, err := e.x.Start(context.Background(), p, nil, RunOptions{Catalog: e.snap.View(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for ev := range h.Events(context.Background()) {
		types = append(types, string(ev.Type)+":"+ev.Step)
	}
	want := "run_started: step_started:a step_finished:a step_started:b step_finished:b run_finished:"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events = %s\nwant     %s", got, want)
	}
}

func TestCriticalPathAndIndependentSteps(t *testing.T) {
	e := newEnv(t, ExecutorOptions{MaxConcurrency: 32})
	var steps []string
	// c3, the end of the chain c1 -> c2 -> c3, and the 30 independent
	// steps meet at one gate of 31: it opens only if the chain ran through
	// while every independent step was still in flight — no waves.
	steps = append(steps, `{"id":"c1","tool":"t__noop"}`,
		`{"id":"c2","tool":"t__noop","depends_on":["c1"]}`,
		`{"id":"c3","tool":"t__gate","args":{"n":31,"tag":"ind"},"depends_on":["c2"]}`)
	for i := range 30 {
		steps = append(steps, fmt.Sprintf(`{"id":"i%d","tool":"t__gate","args":{"n":31,"tag":"ind"}}`, i))
	}
	r := e.run(t, `{"steps":[`+strings.Join(steps, ",")+`]}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s", r.Status)
	}
	if got := e.tools.tagMaxSeen("ind"); got != 31 {
		t.Errorf("steps in flight together at the gate = %d, want 31", got)
	}
	// The chain ran in order.
	c1, c2, c3 := stepOf(t, r, "c1"), stepOf(t, r, "c2"), stepOf(t, r, "c3")
	if c2.Started.Before(c1.Finished) || c3.Started.Before(c2.Finished) {
		t.Errorf("the chain ran out of order: %s", jsonOf([]*StepRecord{c1, c2, c3}))
	}
}
