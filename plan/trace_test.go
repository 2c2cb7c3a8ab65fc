package plan

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weft-dev/weft/internal/tracing"
)

// TestTraceRunAndSteps: a run is a plan_run span, each step a plan_step
// span under it (a nested plan's steps under their step); a failed
// step's span records its code.
func TestTraceRunAndSteps(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithProcessor(sdktrace.NewSimpleSpanProcessor(exp), sdktrace.AlwaysSample(), "weft-test", "")
	defer tr.Shutdown(context.Background())
	e := newEnv(t, ExecutorOptions{Tracer: tr})
	r := e.run(t, `{"steps":[
		{"id":"a","tool":"t__echo","args":{"message":"x"}},
		{"id":"sub","plan":{"steps":[{"id":"inner","tool":"t__echo","args":{"message":"y"}}]}},
		{"id":"bad","tool":"t__fail","args":{},"continue_on_error":true}
	]}`, nil)
	if r.Status != RunSucceeded {
		t.Fatalf("run %s", r.Status)
	}
	spans := exp.GetSpans()
	byID := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s
	}
	parent := map[string]string{}
	attrs := map[string]map[string]string{}
	for _, s := range spans {
		parent[s.Name] = byID[s.Parent.SpanID().String()].Name
		attrs[s.Name] = map[string]string{}
		for _, kv := range s.Attributes {
			attrs[s.Name][string(kv.Key)] = kv.Value.Emit()
		}
	}
	for child, want := range map[string]string{
		"plan_step a":         "plan_run",
		"plan_step sub":       "plan_run",
		"plan_step sub/inner": "plan_step sub",
		"plan_step bad":       "plan_run",
	} {
		if got, ok := parent[child]; !ok || got != want {
			t.Errorf("span %q: parent %q (present %v), want %q", child, got, ok, want)
		}
	}
	if attrs["plan_run"]["weft.run.id"] != r.ID || attrs["plan_run"]["weft.run.status"] != "succeeded" {
		t.Errorf("plan_run attributes %v", attrs["plan_run"])
	}
	if a := attrs["plan_step bad"]; a["weft.step.status"] != "failed" || a["error.type"] != CodeToolError {
		t.Errorf("failed step attributes %v", a)
	}
	if a := attrs["plan_step a"]; a["weft.step.kind"] != "tool" || a["weft.step.id"] != "a" {
		t.Errorf("step attributes %v", a)
	}
}
