package engine_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/source"
)

// spanLog is an engine.Tracer that records each call's span.
type spanLog struct {
	mu    sync.Mutex
	spans []string // "tool server caller -> errType"
}

type ctxKey struct{}

func (l *spanLog) StartCall(ctx context.Context, tool, server, caller string) (context.Context, func(string, error)) {
	ctx = context.WithValue(ctx, ctxKey{}, tool)
	return ctx, func(errType string, err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.spans = append(l.spans, tool+" "+server+" "+caller+" -> "+errType)
	}
}

// spanCtxUpstream answers with the tool name the span put on the context,
// or a tool error for "bad".
type spanCtxUpstream struct{}

func (spanCtxUpstream) Call(ctx context.Context, tool string, _ json.RawMessage) (*source.Result, error) {
	name, _ := ctx.Value(ctxKey{}).(string)
	return source.TextResult(name, tool == "bad"), nil
}

// TestTracerSpansEveryCall: every call, whatever its outcome, is one span
// with its outcome as error type, and the upstream runs under the span's
// context.
func TestTracerSpansEveryCall(t *testing.T) {
	snap := catalog.NewSnapshot([]catalog.Tool{
		{Server: "s", Original: "ok", InputSchema: json.RawMessage(`{"type":"object"}`)},
		{Server: "s", Original: "bad", InputSchema: json.RawMessage(`{"type":"object"}`)},
		{Server: "s", Original: "typed", InputSchema: json.RawMessage(`{"type":"object","required":["x"]}`)},
	})
	log := &spanLog{}
	eng := engine.New(engine.Options{
		Catalog:   staticCatalog{snap},
		Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return spanCtxUpstream{}, true }),
		Timeout:   10 * time.Second,
		Tracer:    log,
	})
	ctx := context.Background()
	res, err := eng.CallWith(ctx, "s__ok", nil, engine.CallOptions{Caller: "rest"})
	if err != nil || res.Text() != "s__ok" {
		t.Fatalf("ok: %v %v (the upstream must see the span's context)", res, err)
	}
	eng.CallWith(ctx, "s__bad", nil, engine.CallOptions{Caller: "mcp"})
	eng.CallWith(ctx, "s__typed", json.RawMessage(`{}`), engine.CallOptions{Caller: "plan"})
	eng.CallWith(ctx, "nope", nil, engine.CallOptions{Caller: "cli"})
	want := []string{
		"s__ok s rest -> ",
		"s__bad s mcp -> tool_error",
		"s__typed s plan -> invalid_arguments",
		"nope  cli -> unknown_tool",
	}
	if len(log.spans) != len(want) {
		t.Fatalf("spans %q, want %q", log.spans, want)
	}
	for i := range want {
		if log.spans[i] != want[i] {
			t.Errorf("span %d = %q, want %q", i, log.spans[i], want[i])
		}
	}
}

// BenchmarkEngineCallTraced is BenchmarkEngineCall with tracing on and
// every call sampled (spans go to a processor that drops them): the cost
// of a span per call. Tracing off is BenchmarkEngineCall itself.
func BenchmarkEngineCallTraced(b *testing.B) {
	up := &echoUpstream{res: source.TextResult("ok", false)}
	snap := catalog.NewSnapshot([]catalog.Tool{{Server: "bench", Original: "echo",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"},"count":{"type":"integer","minimum":0}},"required":["message"]}`)}})
	tr := tracing.NewWithProcessor(dropSpans{}, sdktrace.AlwaysSample(), "bench", "")
	defer tr.Shutdown(context.Background())
	eng := engine.New(engine.Options{
		Catalog:   staticCatalog{snap},
		Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return up, true }),
		Timeout:   30 * time.Second, MaxConcurrent: 10,
		Recorder: discardEvents{}, Tracer: tr,
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Call(ctx, "bench__echo", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

// dropSpans is a span processor that keeps nothing.
type dropSpans struct{}

func (dropSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (dropSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (dropSpans) Shutdown(context.Context) error                  { return nil }
func (dropSpans) ForceFlush(context.Context) error                { return nil }
