package weft_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/modeltest"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/source"
)

// anthropicOrchestrator is an orchestrator over askTools whose planner is
// an Anthropic model served by srv (the Messages API), traced into exp.
func anthropicOrchestrator(t *testing.T, srv *modeltest.Server) (*weft.Orchestrator, *tracetest.InMemoryExporter) {
	t.Helper()
	cfg := baseConfig(t)
	cfg.Models = map[string]*config.Model{"planner": {Name: "planner", Provider: config.ProviderAnthropic,
		Model: "claude-sonnet-4-5", Endpoint: srv.URL, APIKey: "sk-ant-test", Timeout: config.Duration(config.DefaultModelTimeout)}}
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithProcessor(sdktrace.NewSimpleSpanProcessor(exp), sdktrace.AlwaysSample(), "weft-test", "")
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{askTools()}, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o, exp
}

// spanTree maps each span's name to its parent's name ("" for a root).
func spanTree(exp *tracetest.InMemoryExporter) map[string]string {
	spans := exp.GetSpans()
	byID := map[string]string{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s.Name
	}
	out := map[string]string{}
	for _, s := range spans {
		out[s.Name] = byID[s.Parent.SpanID().String()]
	}
	return out
}

// TestAskAnthropicPlan: the plan strategy on Anthropic's Messages API —
// the plan as structured output, run through the executor, the answer
// synthesised — traced as invoke_agent → chat, plan_run → plan_step →
// execute_tool.
func TestAskAnthropicPlan(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	srv.Push(modeltest.Reply{Content: modeltest.Plan([3]string{"w", "geo__weather", `{"city":"Paris"}`}), Prompt: 900, Cached: 768, Completion: 40},
		modeltest.Reply{Content: "It is 21 °C in Paris.", Prompt: 300, Completion: 12})
	o, exp := anthropicOrchestrator(t, srv)
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "How warm is it in Paris?", Strategy: "plan"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "It is 21 °C in Paris." || res.Run == nil || res.Run.Status != "succeeded" {
		t.Fatalf("result = %+v", res)
	}
	if res.Usage.PromptTokens != 1200 || res.Usage.CachedTokens != 768 || res.Usage.CompletionTokens != 52 {
		t.Fatalf("usage = %+v", res.Usage)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Authorization != "Bearer sk-ant-test" || !strings.Contains(string(reqs[0].Raw), `"output_config":{"format":{"schema":`) {
		t.Fatalf("plan request = %s", reqs[0].Raw)
	}
	if !strings.Contains(string(reqs[1].Raw), `temp_c`) {
		t.Fatalf("synthesis request lacks the step result: %s", reqs[1].Raw)
	}
	tree := spanTree(exp)
	for child, parent := range map[string]string{
		"chat claude-sonnet-4-5":    "invoke_agent weft",
		"plan_run":                  "invoke_agent weft",
		"plan_step w":               "plan_run",
		"execute_tool geo__weather": "plan_step w",
	} {
		if got, ok := tree[child]; !ok || got != parent {
			t.Errorf("span %q: parent %q (present %v), want %q; spans %v", child, got, ok, parent, tree)
		}
	}
}

// TestAskAnthropicAgentLoop: the agent strategy's tool-calling loop on the
// Messages API: a tool_use of call_tool, its tool_result, the answer.
func TestAskAnthropicAgentLoop(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	srv.Push(
		modeltest.Reply{ToolCalls: []modeltest.ToolCall{{ID: "toolu_1", Name: "call_tool", Args: `{"name":"geo__weather","arguments":{"city":"Oslo"}}`}},
			Prompt: 500, Completion: 20},
		modeltest.Reply{Content: "It is 5 °C in Oslo.", Prompt: 600, Cached: 512, Completion: 9},
	)
	o, exp := anthropicOrchestrator(t, srv)
	res, err := o.Ask(context.Background(), weft.AskRequest{Text: "Weather in Oslo?", Strategy: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "It is 5 °C in Oslo." || res.Turns != 2 || len(res.ToolCalls) != 1 || res.ToolCalls[0].Error != "" {
		t.Fatalf("result = %+v", res)
	}
	second := srv.Requests()[1].Messages()
	last := second[len(second)-1]
	blocks, _ := last["content"].([]any)
	if last["role"] != "user" || len(blocks) != 1 {
		t.Fatalf("tool result message = %v", last)
	}
	b := blocks[0].(map[string]any)
	if b["type"] != "tool_result" || b["tool_use_id"] != "toolu_1" || !strings.Contains(b["content"].([]any)[0].(map[string]any)["text"].(string), `"temp_c":5`) {
		t.Fatalf("tool result block = %v", b)
	}
	tree := spanTree(exp)
	if tree["execute_tool geo__weather"] != "invoke_agent weft" || tree["chat claude-sonnet-4-5"] != "invoke_agent weft" {
		t.Errorf("spans %v", tree)
	}
}

// TestTraceCodeRun: a code-mode program is a sandbox_run span whose tool
// calls are its children.
func TestTraceCodeRun(t *testing.T) {
	srv := modeltest.NewAnthropic()
	defer srv.Close()
	o, exp := anthropicOrchestrator(t, srv)
	res, err := o.RunCode(context.Background(), sandbox.Request{Language: sandbox.TypeScript,
		Code: `const w = await tools.geo.weather({city: "Paris"}); return w.temp_c;`})
	if err != nil || res.Error != nil || string(res.Result) != "21" {
		t.Fatalf("run: %+v %v", res, err)
	}
	tree := spanTree(exp)
	if tree["execute_tool geo__weather"] != "sandbox_run" {
		t.Errorf("spans %v", tree)
	}
	var names []string
	for _, s := range exp.GetSpans() {
		names = append(names, s.Name)
	}
	if !slices.Contains(names, "sandbox_run") {
		t.Errorf("no sandbox_run span among %v", names)
	}
}
