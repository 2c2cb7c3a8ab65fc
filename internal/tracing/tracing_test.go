package tracing_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/internal/tracing"
)

func memTracer(t *testing.T, sampler sdktrace.Sampler) (*tracing.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithProcessor(sdktrace.NewSimpleSpanProcessor(exp), sampler, "weft-test", "")
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr, exp
}

func TestSampler(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ratio float64
		want  string
	}{
		{"", 0, "ParentBased{root:AlwaysOnSampler,"},
		{"always", 0, "ParentBased{root:AlwaysOnSampler,"},
		{"never", 0, "ParentBased{root:AlwaysOffSampler,"},
		{"ratio", 0.25, "ParentBased{root:TraceIDRatioBased{0.25},"},
	} {
		s, err := tracing.Sampler(tt.name, tt.ratio)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Description(); len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
			t.Errorf("Sampler(%q, %v) = %s, want prefix %s", tt.name, tt.ratio, got, tt.want)
		}
	}
	if _, err := tracing.Sampler("sometimes", 0); err == nil || err.Error() != `tracing: unknown sampler "sometimes" (allowed: always, never, ratio)` {
		t.Errorf("unknown sampler: err = %v", err)
	}
	if _, err := tracing.Sampler("ratio", 2); err == nil || err.Error() != "tracing: sampler ratio 2 is outside 0..1" {
		t.Errorf("ratio 2: err = %v", err)
	}
}

// TestRatioZeroRecordsNothing: with ratio 0 no new trace is recorded, but
// a caller's sampled trace is still followed (parent-based).
func TestRatioZeroRecordsNothing(t *testing.T) {
	s, err := tracing.Sampler("ratio", 0)
	if err != nil {
		t.Fatal(err)
	}
	tr, exp := memTracer(t, s)
	for range 100 {
		ctx, span := tr.Start(context.Background(), "root", trace.SpanKindInternal)
		_, child := tr.Start(ctx, "child", trace.SpanKindInternal)
		child.End()
		span.End()
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("ratio 0 recorded %d spans, want 0", n)
	}
	// A sampled caller (traceparent flags 01) is followed.
	h := http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	r := httptest.NewRequest("GET", "/v1/tools", nil)
	r.Header = h
	_, span := tr.StartHTTPServer(r, "/v1/tools")
	tracing.EndHTTPServer(span, 200)
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" ||
		spans[0].Parent.SpanID().String() != "b7ad6b7169203331" || !spans[0].Parent.IsRemote() {
		t.Fatalf("sampled caller's trace not continued: %+v", spans)
	}
}

func TestMetaPropagation(t *testing.T) {
	tr, exp := memTracer(t, sdktrace.AlwaysSample())
	ctx, span := tr.Start(context.Background(), "client", trace.SpanKindClient)
	meta := tr.InjectMeta(ctx, map[string]any{"progressToken": "p1"})
	span.End()
	tp, _ := meta["traceparent"].(string)
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if tp != want || meta["progressToken"] != "p1" {
		t.Fatalf("_meta = %v, want traceparent %s beside progressToken", meta, want)
	}
	// The receiving side continues the trace.
	sctx, srv := tr.StartMCPServer(context.Background(), "tools/call", "fs__read", "sess-1", meta, nil)
	srv.End()
	got := trace.SpanContextFromContext(sctx)
	if got.TraceID() != span.SpanContext().TraceID() {
		t.Errorf("server span trace %s, want %s", got.TraceID(), span.SpanContext().TraceID())
	}
	spans := exp.GetSpans()
	last := spans[len(spans)-1]
	if last.Name != "tools/call fs__read" || last.SpanKind != trace.SpanKindServer || last.Parent.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("server span = %s kind %v parent %s", last.Name, last.SpanKind, last.Parent.SpanID())
	}
	attrs := map[string]string{}
	for _, kv := range last.Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "fs__read", "mcp.session.id": "sess-1"} {
		if attrs[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
		}
	}
	// No span on ctx: nothing is written, the map stays as it was.
	if m := tr.InjectMeta(context.Background(), nil); m != nil {
		t.Errorf("InjectMeta without a span = %v, want nil", m)
	}
}

// TestNilTracerAllocatesNothing: tracing off costs no allocation on the
// paths every call takes.
func TestNilTracerAllocatesNothing(t *testing.T) {
	var tr *tracing.Tracer
	ctx := context.Background()
	r := httptest.NewRequest("GET", "/", nil)
	meta := map[string]any{}
	n := testing.AllocsPerRun(100, func() {
		c, end := tr.StartCall(ctx, "t", "s", "rest")
		end("", nil)
		_, span := tr.Start(c, "x", trace.SpanKindInternal)
		tracing.End(span, nil)
		_, hs := tr.StartHTTPServer(r, "/")
		tracing.EndHTTPServer(hs, 200)
		tr.InjectMeta(ctx, meta)
		tr.InjectHTTP(ctx, r.Header)
	})
	if n != 0 {
		t.Errorf("nil tracer: %v allocations per call, want 0", n)
	}
	if tr.Enabled() || tr.Shutdown(ctx) != nil || tr.ForceFlush(ctx) != nil {
		t.Error("nil tracer is not a silent no-op")
	}
}

func TestEndRecordsError(t *testing.T) {
	tr, exp := memTracer(t, sdktrace.AlwaysSample())
	_, span := tr.Start(context.Background(), "op", trace.SpanKindInternal)
	tracing.End(span, context.DeadlineExceeded)
	_, span = tr.Start(context.Background(), "op2", trace.SpanKindInternal)
	tracing.End(span, codedErr{})
	spans := exp.GetSpans()
	for i, want := range []string{"timeout", "upstream_error"} {
		s := spans[i]
		if s.Status.Code != codes.Error {
			t.Errorf("%s: status %v, want Error", s.Name, s.Status.Code)
		}
		var typ string
		for _, kv := range s.Attributes {
			if kv.Key == "error.type" {
				typ = kv.Value.AsString()
			}
		}
		if typ != want {
			t.Errorf("%s: error.type %q, want %q", s.Name, typ, want)
		}
		if len(s.Events) != 1 || s.Events[0].Name != "exception" {
			t.Errorf("%s: events %v, want one exception", s.Name, s.Events)
		}
	}
}

type codedErr struct{}

func (codedErr) Error() string     { return "boom" }
func (codedErr) ErrorCode() string { return "upstream_error" }

// TestOTLPHTTPExport: spans leave over OTLP/HTTP (protobuf, the exporter's
// wire format) to the configured endpoint, with its headers and the
// service name.
func TestOTLPHTTPExport(t *testing.T) {
	var mu sync.Mutex
	var got []*coltrace.ExportTraceServiceRequest
	var auth, path, ctype string
	received := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		req := &coltrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			t.Errorf("body is not an OTLP ExportTraceServiceRequest: %v", err)
		}
		mu.Lock()
		got = append(got, req)
		auth, path, ctype = r.Header.Get("Authorization"), r.URL.Path, r.Header.Get("Content-Type")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(out)
		received <- struct{}{}
	}))
	defer srv.Close()
	tr, err := tracing.New(tracing.Options{Endpoint: srv.URL, Headers: map[string]string{"Authorization": "Bearer tok"},
		ServiceName: "weft-wire", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := tr.StartCall(context.Background(), "fs__read_file", "fs", "rest")
	_, child := tr.StartMCPClient(ctx, "tools/call", "read_file", "fs", "pipe", "")
	tracing.End(child, errors.New("EOF"))
	end("upstream_error", errors.New("EOF"))
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-received:
	case <-time.After(10 * time.Second):
		t.Fatal("no export within 10s of Shutdown")
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "/v1/traces" || auth != "Bearer tok" || ctype != "application/x-protobuf" {
		t.Errorf("export: path %q, Authorization %q, Content-Type %q", path, auth, ctype)
	}
	names := map[string]bool{}
	service := ""
	for _, req := range got {
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names[s.Name] = true
				}
			}
		}
	}
	if service != "weft-wire" || !names["execute_tool fs__read_file"] || !names["tools/call read_file"] {
		t.Errorf("exported service %q spans %v", service, names)
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://c:4318":           "http://c:4318/v1/traces",
		"http://c:4318/":          "http://c:4318/v1/traces",
		"https://c/custom/traces": "https://c/custom/traces",
		"http://c:4318/v1/traces": "http://c:4318/v1/traces",
	} {
		if got, err := tracing.TracesURL(in); err != nil || got != want {
			t.Errorf("TracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := tracing.TracesURL("c:4318"); err == nil {
		t.Error("TracesURL accepted a URL without scheme")
	}
}
