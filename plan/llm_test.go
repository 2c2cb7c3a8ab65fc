package plan

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fakeLLM answers llm steps and records what it was asked.
type fakeLLM struct {
	mu    sync.Mutex
	asked []string
	fail  bool
}

func (f *fakeLLM) RunLLM(_ context.Context, model, prompt string, output json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, model+"|"+prompt+"|"+string(output))
	if f.fail {
		return nil, errors.New("model worker: HTTP 500")
	}
	if len(output) > 0 {
		return json.RawMessage(`{"summary":"short"}`), nil
	}
	return json.RawMessage(`"plain answer"`), nil
}

func TestLLMStep(t *testing.T) {
	llm := &fakeLLM{}
	e := newEnv(t, ExecutorOptions{LLM: llm})
	r := e.run(t, `{"steps": [
		{"id": "fetch", "tool": "t__echo", "args": {"message": "the text"}},
		{"id": "sum", "llm": {"prompt": "Summarise: {{steps.fetch.result}}", "model": "worker",
		  "output": {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}}},
		{"id": "free", "llm": {"prompt": "{{steps.sum.result}}"}}
	]}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, jsonOf(r.Steps))
	}
	if got := jsonOf(stepOf(t, r, "sum").Result); got != `{"summary":"short"}` {
		t.Fatalf("sum result %s", got)
	}
	if got := stepOf(t, r, "free").Result; got != "plain answer" || stepOf(t, r, "free").Kind != KindLLM {
		t.Fatalf("free result %v", got)
	}
	// The prompt's reference made sum wait for fetch and was resolved; a
	// reference to an object is inserted as JSON.
	if !strings.HasPrefix(llm.asked[0], "worker|Summarise: the text|{") || !strings.HasPrefix(llm.asked[1], `|{"summary":"short"}|`) {
		t.Fatalf("asked %q", llm.asked)
	}
}

func TestLLMStepProblemsAndFailures(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"steps":[{"id":"a","llm":{"prompt":""}}]}`, `steps[0].llm.prompt (1:37): an llm step needs a non-empty "prompt"`},
		{`{"steps":[{"id":"a","llm":{"prompt":"x","temperature":1}}]}`, `steps[0].llm.temperature`},
		{`{"steps":[{"id":"a","llm":{"prompt":"x"},"tool":"t__echo"}]}`, `this one has tool and llm`},
		{`{"steps":[{"id":"a","llm":{"prompt":"x"},"inputs":{}}]}`, `an llm step references values in its prompt`},
		{`{"steps":[{"id":"a","llm":{"prompt":"x","output":"string"}}]}`, `steps[0].llm.output (1:50): want a JSON Schema object`},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.doc, err, tc.want)
		}
	}
	e := newEnv(t, ExecutorOptions{})
	r := e.run(t, `{"steps":[{"id":"a","llm":{"prompt":"x"}}]}`, nil)
	if s := stepOf(t, r, "a"); s.Error == nil || s.Error.Code != CodeNoLLMRunner {
		t.Fatalf("step %+v", s)
	}
	e = newEnv(t, ExecutorOptions{LLM: &fakeLLM{fail: true}})
	r = e.run(t, `{"steps":[{"id":"a","llm":{"prompt":"x"},"retry":{"attempts":2,"backoff":"1ms","on":["llm_error"]}}]}`, nil)
	if s := stepOf(t, r, "a"); s.Error == nil || s.Error.Code != CodeLLMError || len(s.Attempts) != 2 {
		t.Fatalf("step %+v", s)
	}
}
