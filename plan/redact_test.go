package plan

import (
	"encoding/json"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/redact"
)

// redactPlanCopying is redactPlan as it was before it shared what has
// nothing to redact: every step copied through the redactor.
func redactPlanCopying(r *redact.Redactor, p *Plan, view *catalog.View) *Plan {
	if p == nil {
		return nil
	}
	cp := *p
	cp.Steps = make([]*Step, len(p.Steps))
	for i, s := range p.Steps {
		sc := *s
		if s.Args != nil {
			sc.Args, _ = r.Value(s.Args, toolSchema(view, s.Tool)).(map[string]any)
		}
		if s.Inputs != nil {
			var schema json.RawMessage
			if s.Plan != nil {
				schema = s.Plan.Inputs
			}
			sc.Inputs, _ = r.Value(s.Inputs, schema).(map[string]any)
		}
		if s.Foreach != nil {
			sc.Foreach = r.Value(s.Foreach, nil)
		}
		if s.Code != "" {
			sc.Code = r.Text(s.Code)
		}
		if s.LLM != nil {
			l := *s.LLM
			l.Prompt = r.Text(l.Prompt)
			sc.LLM = &l
		}
		sc.Plan = redactPlanCopying(r, s.Plan, view)
		cp.Steps[i] = &sc
	}
	if p.Outputs != nil {
		cp.Outputs, _ = r.Value(p.Outputs, nil).(map[string]any)
	}
	return &cp
}

// TestRedactPlanSharesOnlyClean: the record's plan, which shares the steps
// (or the whole plan) with nothing to redact, is the same JSON as copying
// every step through the redactor; a plan with nothing to redact is
// shared whole, and the original is never changed.
func TestRedactPlanSharesOnlyClean(t *testing.T) {
	snap := secretTools()
	view := snap.View(nil)
	r := redact.New("hunter22pw")
	for _, doc := range []string{
		widePlan(30, true),
		`{"steps":[{"id":"a","tool":"t__echo","args":{"message":"hi"}},
			{"id":"b","tool":"t__echo_secret","args":{"message":"hi","dsn":"postgres://u:p@db/x"}},
			{"id":"c","tool":"t__echo","args":{"message":"PGPASS=s3cr3t Authorization: Bearer abcdefgh"}},
			{"id":"d","tool":"t__echo","args":{"message":"you said hunter22pw"}},
			{"id":"e","tool":"t__echo","args":{"api_key":"k-1","n":5,"nested":{"token":"x"}}}],
			"outputs":{"a":"{{steps.a.result}}","b":"token=abc"}}`,
		`{"steps":[{"id":"f","code":"return 'password=hunter2'","inputs":{"x":"{{steps.g.result}}"}},
			{"id":"g","tool":"t__echo","args":{"message":"{{item}}"},"foreach":["a","sk-abcdefghijklmnopqrstu"]},
			{"id":"h","plan":{"inputs":{"type":"object","properties":{"pw":{"type":"string","format":"password"}}},
				"steps":[{"id":"i","tool":"t__echo","args":{"message":"Basic dXNlcjpwYXNz"}}]},"inputs":{"pw":"x"}}]}`,
	} {
		p := mustParse(t, doc)
		before := jsonOf(p)
		got, want := redactPlan(r, p, view), redactPlanCopying(r, p, view)
		if g, w := jsonOf(got), jsonOf(want); g != w {
			t.Errorf("redactPlan =\n%s\nwant (copying)\n%s", g, w)
		}
		if jsonOf(p) != before {
			t.Errorf("redactPlan changed the plan: %s", jsonOf(p))
		}
		if clean := jsonOf(want) == before; clean != (got == p) {
			t.Errorf("nothing to redact: %v, but the plan shared whole: %v", clean, got == p)
		}
	}
}
