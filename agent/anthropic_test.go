package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weft-dev/weft/internal/modeltest"
	"github.com/weft-dev/weft/internal/tracing"
)

func newAnthropicTestClient(t *testing.T, srv *modeltest.Server, retries int) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAnthropic, Model: "claude-sonnet-4-5",
		Endpoint: srv.URL, APIKey: "sk-ant-secret", MaxRetries: retries})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnthropicWireFormatToolsAndUsage(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: "Looking it up.", ToolCalls: []modeltest.ToolCall{
		{ID: "toolu_1", Name: "call_tool", Args: `{"name":"geo__weather","arguments":{"city":"Paris"}}`},
		{ID: "toolu_2", Name: "search_tools", Args: `{"query":"forecast"}`},
	}, Prompt: 1500, Cached: 1024, Completion: 30},
		modeltest.Reply{Content: "21 °C.", Prompt: 1600, Cached: 1536, Completion: 5})
	c := newAnthropicTestClient(t, srv, 0)
	tools := []ToolDef{{Name: "call_tool", Description: "Calls a tool",
		Parameters: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"},"arguments":{"type":"object"}},"required":["name"],"additionalProperties":false}`)}}
	msgs := []Message{{Role: RoleSystem, Content: "You are weft."}, {Role: RoleUser, Content: "Weather in Paris?"}}
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: msgs, Tools: tools, MaxTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "Looking it up." || resp.FinishReason != "tool_calls" || len(resp.ToolCalls) != 2 ||
		resp.ToolCalls[0] != (ToolCall{ID: "toolu_1", Name: "call_tool", Arguments: `{"name":"geo__weather","arguments":{"city":"Paris"}}`}) {
		t.Fatalf("resp = %+v", resp)
	}
	// Anthropic reports cached input apart: weft's prompt tokens hold both.
	if resp.Usage != (Usage{PromptTokens: 1500, CachedTokens: 1024, CompletionTokens: 30}) {
		t.Fatalf("usage = %+v", resp.Usage)
	}
	req := srv.Requests()[0]
	// The SDK (v2) sends the key as a bearer token.
	if req.Path != "/v1/messages" || req.Authorization != "Bearer sk-ant-secret" {
		t.Fatalf("path %q x-api-key %q Authorization %q", req.Path, req.APIKey, req.Authorization)
	}
	var body struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		System    []struct {
			Text         string         `json:"text"`
			CacheControl map[string]any `json:"cache_control"`
		} `json:"system"`
		Messages []map[string]any `json:"messages"`
		Tools    []struct {
			Name        string         `json:"name"`
			Description string         `json:"description"`
			InputSchema map[string]any `json:"input_schema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(req.Raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "claude-sonnet-4-5" || body.MaxTokens != 1000 || len(body.System) != 1 || body.System[0].Text != "You are weft." ||
		body.System[0].CacheControl["type"] != "ephemeral" || len(body.Messages) != 1 || body.Messages[0]["role"] != "user" {
		t.Fatalf("body = %s", req.Raw)
	}
	if len(body.Tools) != 1 || body.Tools[0].Name != "call_tool" || body.Tools[0].InputSchema["type"] != "object" ||
		body.Tools[0].InputSchema["additionalProperties"] != false || body.Tools[0].InputSchema["required"].([]any)[0] != "name" {
		t.Fatalf("tools = %+v", body.Tools)
	}

	// The next turn answers both calls in one user message of tool_result
	// blocks after the assistant's tool_use blocks.
	msgs = append(msgs, Message{Role: RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls},
		Message{Role: RoleTool, ToolCallID: "toolu_1", Content: `{"temp_c":21}`},
		Message{Role: RoleTool, ToolCallID: "toolu_2", Content: `[]`})
	resp, err = c.Chat(context.Background(), ChatRequest{Messages: msgs, Tools: tools})
	if err != nil || resp.Content != "21 °C." || resp.FinishReason != "stop" || resp.Usage.CachedTokens != 1536 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	ms := srv.Requests()[1].Messages()
	if len(ms) != 3 || ms[1]["role"] != "assistant" || ms[2]["role"] != "user" {
		t.Fatalf("messages = %v", ms)
	}
	asst, results := ms[1]["content"].([]any), ms[2]["content"].([]any)
	if len(asst) != 3 || asst[1].(map[string]any)["type"] != "tool_use" || asst[1].(map[string]any)["input"].(map[string]any)["name"] != "geo__weather" {
		t.Fatalf("assistant content = %v", asst)
	}
	if len(results) != 2 || results[0].(map[string]any)["type"] != "tool_result" || results[0].(map[string]any)["tool_use_id"] != "toolu_1" ||
		results[1].(map[string]any)["tool_use_id"] != "toolu_2" {
		t.Fatalf("tool results = %v", results)
	}
	if body := string(srv.Requests()[1].Raw); !strings.Contains(body, `"max_tokens":8192`) {
		t.Fatalf("default max_tokens missing: %s", body)
	}
}

func TestAnthropicStructuredOutput(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	planJSON := modeltest.Plan([3]string{"w", "geo__weather", `{"city":"Paris"}`})
	srv.Push(modeltest.Reply{Content: planJSON, Prompt: 100, Completion: 20},
		modeltest.Reply{Content: `{"steps":[`, Finish: "length", Prompt: 100, Completion: 4096})
	c := newAnthropicTestClient(t, srv, 0)
	out := &OutputSchema{Name: "plan", Schema: json.RawMessage(`{"type":"object","properties":{"steps":{"type":"array"}},"required":["steps"],"additionalProperties":false}`), Strict: true}
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "plan it"}}, Output: out})
	if err != nil || resp.Content != planJSON {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	var body struct {
		OutputConfig struct {
			Format struct {
				Type   string         `json:"type"`
				Schema map[string]any `json:"schema"`
			} `json:"format"`
		} `json:"output_config"`
	}
	if err := json.Unmarshal(srv.Requests()[0].Raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.OutputConfig.Format.Type != "json_schema" || body.OutputConfig.Format.Schema["required"].([]any)[0] != "steps" {
		t.Fatalf("output_config = %+v", body.OutputConfig)
	}
	// JSON cut at max_tokens is an error, as with OpenAI's finish_reason length.
	_, err = c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "plan it"}}, Output: out})
	var me *ModelError
	if !errors.As(err, &me) || me.Code != "length" {
		t.Fatalf("err = %v", err)
	}
}

func TestAnthropicRetryAfterAndErrors(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	srv.Push(modeltest.Reply{Status: 429, ErrorCode: "rate_limit_error", ErrorMessage: "Number of request tokens has exceeded your rate limit.", RetryAfter: "0"},
		modeltest.Reply{Content: "ok", Prompt: 1, Completion: 1})
	c := newAnthropicTestClient(t, srv, 2)
	resp, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}})
	if err != nil || resp.Content != "ok" || len(srv.Requests()) != 2 {
		t.Fatalf("resp %+v err %v after %d requests", resp, err, len(srv.Requests()))
	}

	c = newAnthropicTestClient(t, srv, 0)
	for _, tt := range []struct {
		reply modeltest.Reply
		kind  error
		code  string
	}{
		{modeltest.Reply{Status: 429, ErrorCode: "rate_limit_error", ErrorMessage: "slow down", RetryAfter: "0"}, ErrRateLimited, "rate_limit_error"},
		{modeltest.Reply{Status: 400, ErrorCode: "invalid_request_error", ErrorMessage: "prompt is too long: 210000 tokens > 200000 maximum"}, ErrContextLength, "invalid_request_error"},
		{modeltest.Reply{Status: 401, ErrorCode: "authentication_error", ErrorMessage: "invalid x-api-key"}, ErrAuth, "authentication_error"},
		{modeltest.Reply{Content: "", Finish: "refusal"}, ErrContentFilter, "refusal"},
	} {
		srv.Push(tt.reply)
		_, err := c.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}})
		var me *ModelError
		if !errors.Is(err, tt.kind) || !errors.As(err, &me) || me.Code != tt.code {
			t.Errorf("err = %v, want kind %v code %s", err, tt.kind, tt.code)
		}
		if err != nil && (strings.Contains(err.Error(), "sk-ant-secret") || !strings.Contains(err.Error(), "model planner (claude-sonnet-4-5)")) {
			t.Errorf("err = %v", err)
		}
	}
	if n := len(srv.Requests()); n != 6 {
		t.Errorf("%d requests, want 6 (no retries with MaxRetries 0)", n)
	}
}

func TestAnthropicStreaming(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: "It is 21 degrees in Paris today.", Prompt: 300, Cached: 256, Completion: 9})
	c := newAnthropicTestClient(t, srv, 0)
	var deltas []string
	resp, err := c.ChatStream(context.Background(), ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}}, func(s string) { deltas = append(deltas, s) })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "It is 21 degrees in Paris today." || strings.Join(deltas, "") != resp.Content || len(deltas) != 4 {
		t.Fatalf("content %q deltas %q", resp.Content, deltas)
	}
	if resp.Usage != (Usage{PromptTokens: 300, CachedTokens: 256, CompletionTokens: 9}) || resp.FinishReason != "stop" {
		t.Fatalf("usage %+v finish %q", resp.Usage, resp.FinishReason)
	}
	if !strings.Contains(string(srv.Requests()[0].Raw), `"stream":true`) {
		t.Fatalf("request not streamed: %s", srv.Requests()[0].Raw)
	}
}

func TestAnthropicConfigErrors(t *testing.T) {
	_, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"})
	if err == nil || err.Error() != "agent: model planner: provider anthropic needs APIKey" {
		t.Errorf("err = %v", err)
	}
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAnthropic, Model: "m", APIKey: "k"})
	if err != nil || c.cfg.Endpoint != DefaultAnthropicEndpoint {
		t.Errorf("default endpoint: %v %q", err, c.cfg.Endpoint)
	}
}

// TestModelCallSpan: with a tracer each model call is a GenAI client span
// with provider, model and token usage.
func TestModelCallSpan(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: "ok", Prompt: 120, Cached: 64, Completion: 7},
		modeltest.Reply{Status: 401, ErrorCode: "authentication_error", ErrorMessage: "bad key"})
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithProcessor(sdktrace.NewSimpleSpanProcessor(exp), sdktrace.AlwaysSample(), "weft-test", "")
	defer tr.Shutdown(context.Background())
	c, err := NewClient(ClientConfig{Name: "planner", Provider: ProviderAnthropic, Model: "claude-haiku-4-5",
		Endpoint: srv.URL, APIKey: "k", Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	req := ChatRequest{Messages: []Message{{Role: RoleUser, Content: "x"}}}
	if _, err := c.Chat(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chat(context.Background(), req); !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v", err)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	want := map[string]string{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-haiku-4-5",
		"gen_ai.usage.input_tokens": "120", "gen_ai.usage.output_tokens": "7", "gen_ai.usage.cache_read.input_tokens": "64"}
	got := map[string]string{}
	for _, kv := range spans[0].Attributes {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %s: %s = %q, want %q", spans[0].Name, k, got[k], v)
		}
	}
	if spans[0].Name != "chat claude-haiku-4-5" {
		t.Errorf("span name %q", spans[0].Name)
	}
	var errType string
	for _, kv := range spans[1].Attributes {
		if kv.Key == "error.type" {
			errType = kv.Value.AsString()
		}
	}
	if spans[1].Status.Code.String() != "Error" || errType != "authentication_error" {
		t.Errorf("failed call's span: status %v error.type %q", spans[1].Status, errType)
	}
}
