package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/server"
)

// tracedUpstream is a Go SDK MCP server over Streamable HTTP that keeps
// the traceparent of each tools/call: the one in params._meta and the one
// of the HTTP request that carried it.
type tracedUpstream struct {
	mu      sync.Mutex
	meta    []string
	headers []string
}

func (u *tracedUpstream) handler() http.Handler {
	s := sdk.NewServer(&sdk.Implementation{Name: "traced", Version: "1"}, nil)
	type in struct {
		Text string `json:"text"`
	}
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echoes text"}, func(ctx context.Context, r *sdk.CallToolRequest, a in) (*sdk.CallToolResult, any, error) {
		tp, _ := r.Params.Meta["traceparent"].(string)
		u.mu.Lock()
		u.meta = append(u.meta, tp)
		u.mu.Unlock()
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: a.Text}}}, nil, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`"tools/call"`)) {
				u.mu.Lock()
				u.headers = append(u.headers, r.Header.Get("traceparent"))
				u.mu.Unlock()
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (u *tracedUpstream) seen() (meta, headers []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.meta...), append([]string(nil), u.headers...)
}

// tracedServer serves an orchestrator over the traced upstream with an
// in-memory span exporter.
func tracedServer(t *testing.T, sampler sdktrace.Sampler) (*httptest.Server, *tracedUpstream, *tracetest.InMemoryExporter) {
	t.Helper()
	up := &tracedUpstream{}
	uhs := httptest.NewServer(up.handler())
	t.Cleanup(uhs.Close)
	exp := tracetest.NewInMemoryExporter()
	ended = make(chan string, 1000)
	tr := tracing.NewWithProcessor(notifyProcessor{sdktrace.NewSimpleSpanProcessor(exp)}, sampler, "weft-test", "")
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	cfg := config.Default()
	cfg.Cache.Dir = t.TempDir()
	cfg.Servers = map[string]*config.Server{"up": {Name: "up", Transport: config.TransportHTTP, URL: uhs.URL}}
	o, err := weft.New(weft.Options{Config: cfg, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	hs := httptest.NewServer(server.New(o, server.Options{}))
	t.Cleanup(hs.Close)
	return hs, up, exp
}

// ended receives the name of each span as it ends (tracedServer makes it
// anew for each server).
var ended chan string

// notifyProcessor exports each span and then reports its end on ended.
type notifyProcessor struct{ sdktrace.SpanProcessor }

func (p notifyProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	p.SpanProcessor.OnEnd(s)
	ended <- s.Name()
}

// awaitSpan waits (at most 10s) until a span named name has ended. The
// HTTP server span ends after the response is written, so a client can
// hold the response before it ends.
func awaitSpan(t *testing.T, exp *tracetest.InMemoryExporter, name string) {
	t.Helper()
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			return
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case n := <-ended:
			if n == name {
				return
			}
		case <-deadline:
			t.Fatalf("span %q did not end within 10s", name)
		}
	}
}

func spanByName(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q among %v", name, names)
	return tracetest.SpanStub{}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func traceparent(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
}

// TestTraceRESTCall: a REST tools/call continues the client's traceparent
// and produces server span → engine span → MCP client span, whose context
// reaches the upstream in params._meta and in the HTTP traceparent header.
func TestTraceRESTCall(t *testing.T) {
	hs, up, exp := tracedServer(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("POST", hs.URL+"/v1/tools/up__echo/call", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	awaitSpan(t, exp, "POST /v1/tools/{name}/call")
	spans := exp.GetSpans()
	httpSpan := spanByName(t, spans, "POST /v1/tools/{name}/call")
	engineSpan := spanByName(t, spans, "execute_tool up__echo")
	clientSpan := spanByName(t, spans, "tools/call echo")

	if httpSpan.SpanContext.TraceID().String() != callerTrace || httpSpan.Parent.SpanID().String() != callerSpan || !httpSpan.Parent.IsRemote() {
		t.Errorf("HTTP span does not continue the caller's traceparent: trace %s parent %s", httpSpan.SpanContext.TraceID(), httpSpan.Parent.SpanID())
	}
	if httpSpan.SpanKind != trace.SpanKindServer || attr(httpSpan, "http.response.status_code") != "200" || attr(httpSpan, "http.route") != "/v1/tools/{name}/call" {
		t.Errorf("HTTP span: kind %v attributes %v", httpSpan.SpanKind, httpSpan.Attributes)
	}
	if engineSpan.Parent.SpanID() != httpSpan.SpanContext.SpanID() {
		t.Errorf("engine span's parent %s, want the HTTP span %s", engineSpan.Parent.SpanID(), httpSpan.SpanContext.SpanID())
	}
	for k, v := range map[string]string{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "up__echo", "weft.server": "up", "weft.caller": "rest"} {
		if got := attr(engineSpan, k); got != v {
			t.Errorf("engine span %s = %q, want %q", k, got, v)
		}
	}
	if clientSpan.Parent.SpanID() != engineSpan.SpanContext.SpanID() || clientSpan.SpanKind != trace.SpanKindClient {
		t.Errorf("MCP client span: parent %s (want engine %s), kind %v", clientSpan.Parent.SpanID(), engineSpan.SpanContext.SpanID(), clientSpan.SpanKind)
	}
	if attr(clientSpan, "mcp.method.name") != "tools/call" || attr(clientSpan, "network.transport") != "tcp" || attr(clientSpan, "mcp.session.id") == "" {
		t.Errorf("MCP client span attributes %v", clientSpan.Attributes)
	}
	want := traceparent(clientSpan.SpanContext)
	meta, headers := up.seen()
	if len(meta) != 1 || meta[0] != want {
		t.Errorf("upstream's params._meta traceparent %q, want [%s]", meta, want)
	}
	if len(headers) != 1 || headers[0] != want {
		t.Errorf("upstream's HTTP traceparent header %q, want [%s]", headers, want)
	}
}

// TestTraceMCPMetaContinues: an MCP client's params._meta traceparent is
// continued by the gateway's server span, and the tool call under it.
func TestTraceMCPMetaContinues(t *testing.T) {
	hs, up, exp := tracedServer(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	ctx := context.Background()
	c := sdk.NewClient(&sdk.Implementation{Name: "tester", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: hs.URL + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	const callerTrace, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "call_tool",
		Arguments: map[string]any{"name": "up__echo", "arguments": map[string]any{"text": "yo"}},
		Meta:      sdk.Meta{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"}})
	if err != nil || res.IsError {
		t.Fatalf("call_tool: %v %+v", err, res)
	}
	spans := exp.GetSpans()
	mcpSpan := spanByName(t, spans, "tools/call call_tool")
	if mcpSpan.SpanContext.TraceID().String() != callerTrace || mcpSpan.Parent.SpanID().String() != callerSpan {
		t.Errorf("gateway span does not continue _meta's traceparent: trace %s parent %s", mcpSpan.SpanContext.TraceID(), mcpSpan.Parent.SpanID())
	}
	// A 2026-07-28 client has no session (stateless MCP): no mcp.session.id.
	if attr(mcpSpan, "mcp.method.name") != "tools/call" || attr(mcpSpan, "gen_ai.tool.name") != "call_tool" || attr(mcpSpan, "mcp.session.id") != cs.ID() {
		t.Errorf("gateway span attributes %v", mcpSpan.Attributes)
	}
	engineSpan := spanByName(t, spans, "execute_tool up__echo")
	if engineSpan.Parent.SpanID() != mcpSpan.SpanContext.SpanID() || attr(engineSpan, "weft.caller") != "mcp" {
		t.Errorf("engine span parent %s (want gateway %s), caller %q", engineSpan.Parent.SpanID(), mcpSpan.SpanContext.SpanID(), attr(engineSpan, "weft.caller"))
	}
	clientSpan := spanByName(t, spans, "tools/call echo")
	if meta, _ := up.seen(); len(meta) != 1 || meta[0] != traceparent(clientSpan.SpanContext) ||
		clientSpan.SpanContext.TraceID().String() != callerTrace {
		t.Errorf("upstream _meta %q; client span %s in trace %s", meta, clientSpan.SpanContext.SpanID(), clientSpan.SpanContext.TraceID())
	}
}

// TestTraceRatioZero: sampler ratio 0 records nothing for a request that
// starts a trace, and sends the upstream an unsampled traceparent.
func TestTraceRatioZero(t *testing.T) {
	sampler, err := tracing.Sampler("ratio", 0)
	if err != nil {
		t.Fatal(err)
	}
	hs, up, exp := tracedServer(t, sampler)
	for range 5 {
		code, _, body := do(t, "POST", hs.URL+"/v1/tools/up__echo/call", `{"text":"x"}`)
		if code != 200 {
			t.Fatalf("status %d: %v", code, body)
		}
	}
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("ratio 0 recorded %d spans", len(spans))
	}
	meta, _ := up.seen()
	for _, tp := range meta {
		if !strings.HasSuffix(tp, "-00") {
			t.Errorf("upstream got traceparent %q, want an unsampled one (-00)", tp)
		}
	}
}

// TestTraceMCPSessionRequests: the requests of a session-based
// (2025-11-25) client are not put under the span of the request that
// created the session (ended long since): each tools/call starts its own
// trace, with the session id.
func TestTraceMCPSessionRequests(t *testing.T) {
	hs, _, exp := tracedServer(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	ctx := context.Background()
	c := sdk.NewClient(&sdk.Implementation{Name: "tester", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: hs.URL + "/mcp"}, &sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if cs.ID() == "" {
		t.Fatal("no session id: the client did not get a 2025-11-25 session")
	}
	for range 2 {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "call_tool",
			Arguments: map[string]any{"name": "up__echo", "arguments": map[string]any{"text": "yo"}}})
		if err != nil || res.IsError {
			t.Fatalf("call_tool: %v %+v", err, res)
		}
	}
	spans := exp.GetSpans()
	init := spanByName(t, spans, "initialize")
	traces := map[string]bool{}
	for _, s := range spans {
		if s.Name != "tools/call call_tool" {
			continue
		}
		if s.SpanContext.TraceID() == init.SpanContext.TraceID() {
			t.Errorf("a tools/call span is in the initialize request's trace (parent %s)", s.Parent.SpanID())
		}
		if attr(s, "mcp.session.id") != cs.ID() {
			t.Errorf("mcp.session.id %q, want %q", attr(s, "mcp.session.id"), cs.ID())
		}
		traces[s.SpanContext.TraceID().String()] = true
	}
	if len(traces) != 2 {
		t.Errorf("the two calls' spans are in %d traces, want 2", len(traces))
	}
}
