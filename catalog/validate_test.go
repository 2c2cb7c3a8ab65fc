package catalog

import (
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
)

func TestValidate(t *testing.T) {
	draft07 := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
	  "properties":{"n":{"type":"integer","minimum":1},"tags":{"type":"array","items":{"type":"string"}}},
	  "required":["n"],"additionalProperties":false}`
	draft2020 := `{"type":"object","properties":{"q":{"type":"string","minLength":2},
	  "opts":{"type":"object","properties":{"mode":{"enum":["a","b"]}}},
	  "items":{"type":"array","prefixItems":[{"type":"integer"}]}},"required":["q"]}`
	snap := NewSnapshot([]Tool{
		{Server: "s", Original: "d7", InputSchema: json.RawMessage(draft07)},
		{Server: "s", Original: "d20", InputSchema: json.RawMessage(draft2020)},
		{Server: "s", Original: "none"},
		{Server: "s", Original: "broken", InputSchema: json.RawMessage(`{"type": 12}`)},
	})
	cases := []struct {
		tool, args string
		want       string // "" = valid
	}{
		{"s__d7", `{"n": 3}`, ""},
		{"s__d7", `{"n": 0}`, "invalid arguments for s__d7: /n: minimum: got 0, want 1"},
		{"s__d7", `{"n": "x"}`, "invalid arguments for s__d7: /n: type: got string, want integer"},
		{"s__d7", `{}`, "invalid arguments for s__d7: (root): required: missing property 'n'"},
		{"s__d7", `{"n":1,"tags":["a",2]}`, "invalid arguments for s__d7: /tags/1: type: got number, want string"},
		{"s__d7", `{"n":1,"extra":true}`, "invalid arguments for s__d7: (root): additionalProperties: additional properties 'extra' not allowed"},
		{"s__d7", `[1]`, "invalid arguments for s__d7: (root): arguments must be a JSON object, got array"},
		{"s__d7", `{"n":`, "invalid arguments for s__d7: (root): arguments are not valid JSON: unexpected EOF"},
		{"s__d20", `{"q":"ok","opts":{"mode":"c"}}`, "invalid arguments for s__d20: /opts/mode: enum: value must be one of 'a', 'b'"},
		{"s__d20", `{"q":"ok","items":["x"]}`, "invalid arguments for s__d20: /items/0: type: got string, want integer"},
		{"s__d20", `{"q":"ok"}`, ""},
		{"s__none", ``, ""},
		{"s__none", `"str"`, "invalid arguments for s__none: (root): arguments must be a JSON object, got string"},
	}
	for _, c := range cases {
		err := snap.Validate(c.tool, json.RawMessage(c.args))
		got := ""
		if err != nil {
			got = err.Error()
			var ae *ArgumentError
			if !errors.As(err, &ae) {
				t.Errorf("%s %s: error %T is not *ArgumentError", c.tool, c.args, err)
			}
		}
		if got != c.want {
			t.Errorf("%s %s:\n got  %q\n want %q", c.tool, c.args, got, c.want)
		}
	}
	// A tool whose own schema does not compile is not blocked by validation.
	if err := snap.Validate("s__broken", json.RawMessage(`{"a":1}`)); err != nil {
		t.Errorf("broken schema: %v", err)
	}
	if err := snap.Validate("nope", nil); err == nil {
		t.Error("unknown tool validated")
	}
}

// TestValidateCompilesOnFirstUse: NewSnapshot compiles no schema; the
// first Validate of a tool compiles its schema (once kept per snapshot),
// and concurrent first calls on a fresh snapshot give exactly the results
// of one-at-a-time calls on another (run with -race).
func TestValidateCompilesOnFirstUse(t *testing.T) {
	tools := []Tool{
		{Server: "s", Original: "obj", InputSchema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]}`)},
		{Server: "s", Original: "d7", InputSchema: json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false}`)},
		{Server: "s", Original: "broken", InputSchema: json.RawMessage(`{"type": 12}`)},
		{Server: "s", Original: "none"},
	}
	args := []string{`{"n":2}`, `{"n":0}`, `{}`, `{"x":1}`, `[1]`, `{"n":`, ``}
	outcome := func(s *Snapshot, tool, a string) string {
		if err := s.Validate(tool, json.RawMessage(a)); err != nil {
			return err.Error()
		}
		return "ok"
	}
	seq := NewSnapshot(tools)
	want := map[string]string{}
	for _, tool := range seq.Tools() {
		for _, a := range args {
			want[tool.Name+" "+a] = outcome(seq, tool.Name, a)
		}
	}
	if want["s__obj {\"n\":0}"] == "ok" || want["s__d7 {\"x\":1}"] == "ok" || want["s__broken {\"x\":1}"] != "ok" {
		t.Fatalf("unexpected sequential results: %v", want)
	}

	conc := NewSnapshot(tools)
	compiled := 0
	conc.validators.Range(func(any, any) bool { compiled++; return true })
	if compiled != 0 {
		t.Fatalf("NewSnapshot compiled %d schemas; want none before the first call", compiled)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	got := map[string]string{}
	for g := range 8 {
		wg.Go(func() {
			<-start
			for _, tool := range conc.Tools() {
				for i := range args {
					a := args[(i+g)%len(args)]
					o := outcome(conc, tool.Name, a)
					mu.Lock()
					if prev, ok := got[tool.Name+" "+a]; ok && prev != o {
						t.Errorf("%s %s: %q then %q", tool.Name, a, prev, o)
					}
					got[tool.Name+" "+a] = o
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("concurrent first calls:\n got  %v\n want %v", got, want)
	}
	conc.validators.Range(func(any, any) bool { compiled++; return true })
	if compiled != len(tools) {
		t.Fatalf("%d validators kept, want one per tool (%d)", compiled, len(tools))
	}
}
