package plan

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckReportsEveryProblemWithPaths(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	doc := `{
  "inputs": {"type":"object","properties":{"user":{"type":"string"},"n":{"type":"integer"}}},
  "steps": [
    {"id":"list","tool":"t__list","args":{"n":"{{inputs.n}}"}},
    {"id":"ghost","tool":"t__nope","args":{}},
    {"id":"badargs","tool":"t__sleep","args":{"ms":-5,"tag":7}},
    {"id":"missing","tool":"t__sleep","args":{"tag":"x"}},
    {"id":"refs","tool":"t__echo","args":{"message":"{{steps.nosuch.result}} {{inputs.whoami}}"}},
    {"id":"field","tool":"t__echo","args":{"message":"{{steps.list.result.itemz}}"}},
    {"id":"deep","tool":"t__echo","args":{"message":"{{steps.list.result.items[0].title}}"}},
    {"id":"mismatch","tool":"t__echo","args":{"message":"{{steps.list.result.total}}"}},
    {"id":"mismatch2","tool":"t__count","args":{"n":"{{steps.list.result.items[0].name}}"}},
    {"id":"a","tool":"t__echo","args":{"message":"x"},"depends_on":["c"]},
    {"id":"b","tool":"t__echo","args":{"message":"{{steps.a.result}}"}},
    {"id":"c","tool":"t__echo","args":{"message":"x"},"when":"steps.b.status == 'succeeded'"},
    {"id":"notlist","tool":"t__echo","foreach":"{{steps.list.result.total}}","args":{"message":"{{item}}"}},
    {"id":"literal","tool":"t__echo","foreach":{"a":1},"args":{"message":"x"}},
    {"id":"cel","tool":"t__echo","args":{"message":"x"},"when":"steps.list.result.total >"},
    {"id":"celtype","tool":"t__echo","args":{"message":"x"},"when":"1 + 2"},
    {"id":"item","tool":"t__echo","args":{"message":"{{item.name}}"}},
    {"id":"dep","tool":"t__echo","args":{"message":"x"},"depends_on":["lisst"]}
  ]
}`
	p := mustParse(t, doc)
	probs := Check(e.snap.View(nil), p)
	want := []struct{ path, code, msg string }{
		{"steps[1].tool", ProblemUnknownTool, `no tool "t__nope" in the catalog (did you mean "t__noop"?)`},
		{"steps[2].args.ms", ProblemInvalidArgs, "minimum"},
		{"steps[2].args.tag", ProblemInvalidArgs, "string"},
		{"steps[3].args", ProblemInvalidArgs, "ms"},
		{"steps[4].args.message", ProblemUnknownStep, `no step has id "nosuch"`},
		{"steps[4].args.message", ProblemUnknownInput, `no input "whoami"; declared: n, user`},
		{"steps[5].args.message", ProblemUnknownField, `has no field "itemz"; it has: items, total`},
		{"steps[6].args.message", ProblemUnknownField, `in the output schema of t__list (step "list"), items[0] has no field "title"; it has: id, name`},
		{"steps[7].args.message", ProblemTypeMismatch, "{{steps.list.result.total}} is integer, but t__echo wants string here"},
		{"steps[8].args.n", ProblemTypeMismatch, "is string, but t__count wants integer"},
		{"steps[9]", ProblemCycle, "dependency cycle: a -> b -> c -> a"},
		{"steps[12].foreach", ProblemForeachNotList, "which is integer, not a list"},
		{"steps[13].foreach", ProblemForeachNotList, "got object"},
		{"steps[14].when", ProblemCEL, "does not compile"},
		{"steps[15].when", ProblemCEL, "must yield a bool"},
		{"steps[16].args.message", ProblemBadReference, "only exist in foreach steps"},
		{"steps[17].depends_on[0]", ProblemUnknownStep, `no step has id "lisst" (did you mean "list"?)`},
	}
	for _, w := range want {
		found := false
		for _, p := range probs {
			if p.Path == w.path && p.Code == w.code && strings.Contains(p.Message, w.msg) {
				found = true
				if p.Line == 0 {
					t.Errorf("%s: no line:col", p)
				}
			}
		}
		if !found {
			t.Errorf("missing problem %s %s %q", w.path, w.code, w.msg)
		}
	}
	if len(probs) != len(want) {
		for _, p := range probs {
			t.Logf("  %s [%s]", p, p.Code)
		}
		t.Errorf("got %d problems, want %d", len(probs), len(want))
	}
	// Line numbers follow the document: steps[1] is on line 5.
	for _, p := range probs {
		if p.Path == "steps[1].tool" && (p.Line != 5 || p.Column != 26) {
			t.Errorf("steps[1].tool at %d:%d, want 5:26", p.Line, p.Column)
		}
	}
	// A run checks first and does not start.
	_, err := e.x.Run(context.Background(), p, nil, RunOptions{Catalog: e.snap.View(nil)})
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != len(probs) {
		t.Errorf("run err = %v", err)
	}
	if n := e.tools.count("list"); n != 0 {
		t.Errorf("a plan with problems ran %d calls", n)
	}
}

func TestCheckAcceptsValidPlans(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	doc := `{"inputs":{"type":"object","properties":{"n":{"type":"integer"}}},
	"steps":[
		{"id":"list","tool":"t__list","args":{"n":"{{inputs.n}}"}},
		{"id":"each","tool":"t__count","foreach":"{{steps.list.result.items}}","args":{"n":"{{item.id}}"},"when":"item.id > 1"},
		{"id":"msg","tool":"t__echo","args":{"message":"total {{steps.list.result.total}} first {{steps.each.result[0].n}}"}},
		{"id":"sleep","tool":"t__sleep","args":{"ms":"{{steps.list.result.total}}","value":"{{steps.each.result}}"}},
		{"id":"idx","tool":"t__count","foreach":[1,2],"args":{"n":"{{index}}"}}
	],"outputs":{"n":"{{steps.msg.result}}"}}`
	if probs := Check(e.snap.View(nil), mustParse(t, doc)); len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
}

func TestCheckNestedPlanAndOutputs(t *testing.T) {
	e := newEnv(t, ExecutorOptions{})
	doc := `{"steps":[
		{"id":"sub","plan":{"steps":[{"id":"in","tool":"t__nope","args":{}}],"outputs":{"x":"{{steps.in.result}}"}}},
		{"id":"use","tool":"t__echo","args":{"message":"{{steps.sub.result.y}}"}}
	],"outputs":{"o":"{{steps.zzz.result}}"}}`
	probs := Check(e.snap.View(nil), mustParse(t, doc))
	got := map[string]string{}
	for _, p := range probs {
		got[p.Path] = p.Code
	}
	want := map[string]string{"steps[0].plan.steps[0].tool": ProblemUnknownTool, "steps[1].args.message": ProblemUnknownField, "outputs.o": ProblemUnknownStep}
	for path, code := range want {
		if got[path] != code {
			t.Errorf("%s: got %q, want %q (all: %v)", path, got[path], code, probs)
		}
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // "path|code|message fragment"
	}{
		{"syntax", "{\n  \"steps\": [\n    {\"id\": \"a\",}\n  ]\n}", []string{"|syntax|invalid character '}'"}},
		{"empty", "", []string{"|syntax|empty document"}},
		{"trailing", `{"steps":[{"id":"a","tool":"x"}]} {}`, []string{"|syntax|unexpected data"}},
		{"not object", `[1]`, []string{"|invalid|a plan must be a JSON object"}},
		{"no steps", `{"name":"x"}`, []string{"|invalid|missing field \"steps\""}},
		{"shape", `{"steps":[
			{"id":"a","tool":"x","code":"y"},
			{"id":"a","tool":"x","bogus":1},
			{"id":"bad id","tool":"x"},
			{"tool":"x","args":[]},
			{"id":"c","code":"x","args":{}},
			{"id":"d","tool":"x","timeout":"soon","retry":{"attempts":0,"on":["nope"]},"concurrency":2}
		],"extra":true}`, []string{
			"steps[0]|invalid|has tool and code",
			"steps[1].id|duplicate_id|already used by steps[0]",
			"steps[1].bogus|unknown_field|unknown field \"bogus\"",
			"steps[2].id|invalid|must match",
			"steps[3]|invalid|missing field \"id\"",
			"steps[3].args|invalid|want an object, got array",
			"steps[4].args|invalid|\"args\" belongs to tool steps",
			"steps[5].timeout|invalid|want a duration",
			"steps[5].retry.attempts|invalid|want an integer >= 1",
			"steps[5].retry.on[0]|invalid|unknown error code \"nope\"",
			"steps[5].concurrency|invalid|no \"foreach\"",
			"extra|unknown_field|unknown field \"extra\"",
		}},
		{"bad ref", `{"steps":[{"id":"a","tool":"x","args":{"q":"{{steps.a}}","r":"{{nope.x}}","s":"{{inputs"}}]}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			var pe *ProblemsError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.want {
				parts := strings.SplitN(w, "|", 3)
				found := false
				for _, p := range pe.Problems {
					if p.Path == parts[0] && p.Code == parts[1] && strings.Contains(p.Message, parts[2]) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing %q in\n%v", w, err)
				}
			}
			if len(pe.Problems) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(pe.Problems), len(tc.want), err)
			}
			for _, p := range pe.Problems {
				if p.Line == 0 && tc.doc != "" {
					t.Errorf("%s has no line:col", p)
				}
			}
		})
	}
	// Syntax errors are located precisely.
	_, err := Parse([]byte("{\n  \"steps\": [\n    {\"id\": \"a\",}\n  ]\n}"))
	if pe := err.(*ProblemsError); pe.Problems[0].Line != 3 || pe.Problems[0].Column != 16 {
		t.Errorf("syntax error at %d:%d, want 3:16", pe.Problems[0].Line, pe.Problems[0].Column)
	}
}

func TestBadReferencesAreReportedByCheck(t *testing.T) {
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x","args":{"q":"{{steps.a}}","r":"{{nope.x}}","s":"{{inputs"}}]}`)
	probs := Check(nil, p)
	got := map[string]bool{}
	for _, pr := range probs {
		if pr.Code == ProblemBadReference {
			got[pr.Path] = true
		}
	}
	for _, path := range []string{"steps[0].args.q", "steps[0].args.r", "steps[0].args.s"} {
		if !got[path] {
			t.Errorf("no bad_reference at %s: %v", path, probs)
		}
	}
}
