package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/modeltest"
	"github.com/weft-dev/weft/server"
)

func TestAskEndpoint(t *testing.T) {
	model := modeltest.New()
	defer model.Close()
	_, hs, _ := newServer(t, func(c *config.Config) {
		c.Models = map[string]*config.Model{"planner": {Name: "planner", Provider: config.ProviderOpenAICompatible,
			Model: "m", Endpoint: model.URL + "/v1"}}
		c.Ask.RepairRounds = 0
	})
	model.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"e", "fn__echo", `{"message":"hi"}`}), Prompt: 100, Cached: 64, Completion: 10},
		modeltest.Reply{Content: "It said hi.", Prompt: 50, Completion: 5})
	code, _, body := do(t, "POST", hs.URL+"/v1/ask", `{"request":"say hi","strategy":"plan"}`)
	if code != http.StatusOK || body["answer"] != "It said hi." {
		t.Fatalf("%d %v", code, body)
	}
	usage, _ := body["usage"].(map[string]any)
	run, _ := body["run"].(map[string]any)
	if usage["cached_tokens"] != float64(64) || usage["prompt_tokens"] != float64(150) || run["status"] != "succeeded" {
		t.Fatalf("usage %v run %v", usage, run)
	}

	// An invalid plan (no repair round): 422 invalid_plan with the problems
	// and what was done so far.
	model.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"e", "fn__nope", `{}`}), Prompt: 100, Completion: 10})
	code, _, body = do(t, "POST", hs.URL+"/v1/ask", `{"request":"say hi"}`)
	probs, _ := body["problems"].([]any)
	res, _ := body["result"].(map[string]any)
	if code != http.StatusUnprocessableEntity || body["code"] != "invalid_plan" || len(probs) != 1 || res["turns"] != float64(1) {
		t.Fatalf("%d %v", code, body)
	}

	// A content-filter refusal is named.
	model.Push(modeltest.Reply{Status: 400, ErrorCode: "content_filter", ErrorMessage: "filtered"})
	code, _, body = do(t, "POST", hs.URL+"/v1/ask", `{"request":"bad","strategy":"agent"}`)
	if code != http.StatusUnprocessableEntity || body["code"] != "content_filter" {
		t.Fatalf("%d %v", code, body)
	}

	for _, bad := range []struct{ body, want string }{
		{`{}`, "request: required"},
		{`{"request":"x","strategy":"magic"}`, `strategy: must be "plan" or "agent"`},
	} {
		code, _, body = do(t, "POST", hs.URL+"/v1/ask", bad.body)
		if d, _ := body["detail"].(string); code != http.StatusBadRequest || !strings.Contains(d, bad.want) {
			t.Fatalf("%s: %d %v", bad.body, code, body)
		}
	}
}

func TestAskEndpointWithoutModel(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	code, _, body := do(t, "POST", hs.URL+"/v1/ask", `{"request":"x"}`)
	if code != http.StatusServiceUnavailable || body["code"] != "no_model" {
		t.Fatalf("%d %v", code, body)
	}
}

func TestAskEndpointStreamsEvents(t *testing.T) {
	model := modeltest.New()
	defer model.Close()
	_, hs, _ := newServer(t, func(c *config.Config) {
		c.Models = map[string]*config.Model{"planner": {Name: "planner", Provider: config.ProviderOpenAICompatible,
			Model: "m", Endpoint: model.URL + "/v1"}}
	})
	model.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"e", "fn__echo", `{"message":"hi"}`}), Prompt: 100, Completion: 10},
		modeltest.Reply{Content: "It said hi.", Prompt: 50, Completion: 5})
	req, _ := http.NewRequest("POST", hs.URL+"/v1/ask", strings.NewReader(`{"request":"say hi"}`))
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var types []string
	for _, line := range strings.Split(string(b), "\n") {
		if typ, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, typ)
		}
	}
	// The synthesis is streamed: its text arrives in answer_delta events
	// before its model_call (with the usage of the stream's last chunk).
	want := []string{"candidates", "model_call", "plan", "step", "step", "step", "step", "answer_delta", "answer_delta", "model_call", "answer", "result"}
	if resp.Header.Get("Content-Type") != "text/event-stream" || strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v\n%s", types, want, b)
	}
	if !strings.Contains(string(b), `"answer":"It said "`) || !strings.Contains(string(b), `"answer":"hi."`) ||
		!strings.Contains(string(b), `"purpose":"synthesis","usage":{"prompt_tokens":50,"cached_tokens":0,"completion_tokens":5}`) ||
		!strings.Contains(string(b), `"answer":"It said hi."`) || !strings.Contains(string(b), `"usage":{"prompt_tokens":100,"cached_tokens":0,"completion_tokens":10}`) {
		t.Fatalf("stream:\n%s", b)
	}

	// A failure ends the stream with an "error" event: the problem, with
	// the result so far.
	model.Push(modeltest.Reply{Status: 400, ErrorCode: "context_length_exceeded", ErrorMessage: "too long"})
	req, _ = http.NewRequest("POST", hs.URL+"/v1/ask", strings.NewReader(`{"request":"say hi","strategy":"agent"}`))
	req.Header.Set("Accept", "text/event-stream")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	b, _ = io.ReadAll(resp2.Body)
	if !strings.Contains(string(b), "event: model_call\n") || !strings.Contains(string(b), "event: error\ndata: ") ||
		!strings.Contains(string(b), `"code":"context_length"`) || !strings.Contains(string(b), `"result":{"strategy":"agent"`) {
		t.Fatalf("stream:\n%s", b)
	}
}

// TestAskEndpointUsesTheKeysScope: an API key scoped to some tools asks
// with that scope — the model is shown only those tools, and a plan naming
// another is an unknown tool.
func TestAskEndpointUsesTheKeysScope(t *testing.T) {
	model := modeltest.New()
	defer model.Close()
	o, _, _ := newServer(t, func(c *config.Config) {
		c.Models = map[string]*config.Model{"planner": {Name: "planner", Provider: config.ProviderOpenAICompatible,
			Model: "m", Endpoint: model.URL + "/v1"}}
		c.Ask.RepairRounds = 0
	})
	hs := httptest.NewServer(server.New(o, server.Options{RequestsPerMinute: 100000, MaxConcurrentPerClient: 100, APIKeys: []config.APIKey{
		{Name: "echoer", Hash: server.HashKey("echo-key"), Tools: []string{"fn__echo"}},
	}}))
	defer hs.Close()
	model.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"f", "fn__fail", `{}`})})
	req, _ := http.NewRequest("POST", hs.URL+"/v1/ask", strings.NewReader(`{"request":"break something"}`))
	req.Header.Set("Authorization", "Bearer echo-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"code":"unknown_tool"`) || !strings.Contains(string(b), `"candidates":["fn__echo"]`) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if block := model.Requests()[0].Messages()[1]["content"].(string); strings.Contains(block, "fn__fail") || strings.Contains(block, "fn__sleep") || !strings.Contains(block, "fn__echo(") {
		t.Fatalf("the model was shown: %s", block)
	}
}
