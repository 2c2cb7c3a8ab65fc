package plan

import (
	"strings"
	"testing"
	"time"
)

const legacyDoc = `{
  "request_id": "req-42",
  "steps": [
    {"id": "fetch", "tool": "t__list", "input": {"n": 3}, "timeout_s": 5},
    {"id": "flaky", "tool": "t__flaky", "input": {"key": "legacy", "fails": 1, "value": "step:fetch.total"},
     "retry_policy": {"retries": 2, "backoff_s": 0.01}, "idempotency_key": "legacy-flaky"},
    {"id": "all", "tool": "t__sleep", "input": {"ms": 1, "value": "step:fetch"}, "depends_on": ["flaky"]},
    {"id": "big", "tool": "t__echo", "input": {"message": "big"}, "run_if": "step:fetch.total > 2 and not False"},
    {"id": "small", "tool": "t__echo", "input": {"message": "small"}, "run_if": "step:fetch.total < 2 or step:all == None"},
    {"id": "literal", "tool": "t__echo", "input": {"message": "step:unknown stays text"}}
  ],
  "final_synthesis": {"prompt": "Summarise {fetch}", "model": "gpt"}
}`

func TestLegacyPlanConvertedAndRun(t *testing.T) {
	p := mustParse(t, legacyDoc)
	if p.Format != FormatLegacy || p.RequestID != "req-42" || p.Name != "req-42" {
		t.Fatalf("format %s, request id %q", p.Format, p.RequestID)
	}
	if got := string(p.FinalSynthesis); got != `{"model":"gpt","prompt":"Summarise {fetch}"}` {
		t.Errorf("final_synthesis = %s", got)
	}
	flaky := p.Steps[1]
	if flaky.Retry == nil || flaky.Retry.Attempts != 3 || flaky.Retry.Backoff.D() != 10*time.Millisecond || flaky.IdempotencyKey != "legacy-flaky" {
		t.Errorf("flaky = %s", jsonOf(flaky))
	}
	if p.Steps[0].Timeout.D() != 5*time.Second {
		t.Errorf("timeout = %s", p.Steps[0].Timeout.D())
	}
	if got := jsonOf(p.Steps[2].Args); got != `{"ms":1,"value":"{{steps.fetch.result}}"}` {
		t.Errorf("all args = %s", got)
	}
	if got := p.Steps[3].When; got != `steps["fetch"].result.total > 2 && ! false` {
		t.Errorf("run_if converted to %q", got)
	}

	e := newEnv(t, ExecutorOptions{})
	if probs := Check(e.snap.View(nil), p); len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	r := e.run(t, legacyDoc, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, jsonOf(r.Steps))
	}
	if got := jsonOf(stepOf(t, r, "all").Result); !strings.Contains(got, `"value":{"items":[`) {
		t.Errorf("whole-output reference: %s", got)
	}
	if s := stepOf(t, r, "flaky"); len(s.Attempts) != 2 || jsonOf(s.Result) != `{"calls":2,"value":3}` {
		t.Errorf("flaky: %s", jsonOf(s))
	}
	if stepOf(t, r, "big").Status != StepSucceeded || stepOf(t, r, "small").Status != StepSkipped {
		t.Errorf("run_if: big %s, small %s", stepOf(t, r, "big").Status, stepOf(t, r, "small").Status)
	}
	if got := stepOf(t, r, "literal").Result; got != "step:unknown stays text" {
		t.Errorf("literal = %#v", got)
	}
	// The converted plan is recorded in weft's format and parses back as such.
	back := mustParse(t, jsonOf(r.Plan))
	if back.Format != FormatWeft || len(back.Steps) != 6 || string(back.FinalSynthesis) != string(p.FinalSynthesis) {
		t.Errorf("round trip: %s", jsonOf(back))
	}
}
