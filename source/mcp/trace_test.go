package mcp

import (
	"context"
	"encoding/json"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/internal/tracing"
)

// TestTraceStdioMeta: a call to a stdio upstream is an MCP client span
// (network.transport pipe) whose traceparent the process receives in
// params._meta.
func TestTraceStdioMeta(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithProcessor(sdktrace.NewSimpleSpanProcessor(exp), sdktrace.AlwaysSample(), "weft-test", "")
	defer tr.Shutdown(context.Background())
	cfg, _ := stdioConfig(t, "meta")
	cfg.Tracer = tr
	u, _ := start(t, cfg)

	ctx, parent := tr.Start(context.Background(), "caller", trace.SpanKindInternal)
	res, err := u.Call(ctx, "traceparent", json.RawMessage(`{}`))
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	var client tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "tools/call traceparent" {
			client = s
		}
	}
	sc := client.SpanContext
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := res.Text(); got != want {
		t.Errorf("the process got traceparent %q, want the client span's %q", got, want)
	}
	if client.Parent.SpanID() != parent.SpanContext().SpanID() || client.SpanKind != trace.SpanKindClient {
		t.Errorf("client span: parent %s (want %s), kind %v", client.Parent.SpanID(), parent.SpanContext().SpanID(), client.SpanKind)
	}
	attrs := map[string]string{}
	for _, kv := range client.Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "traceparent", "network.transport": "pipe", "weft.server": cfg.Name} {
		if attrs[k] != v {
			t.Errorf("client span %s = %q, want %q", k, attrs[k], v)
		}
	}

	// Without a tracer nothing is added to _meta.
	cfg2, _ := stdioConfig(t, "meta")
	u2, _ := start(t, cfg2)
	if got := mustText(t, u2, "traceparent", `{}`); got != "" {
		t.Errorf("untraced call sent traceparent %q", got)
	}
}
