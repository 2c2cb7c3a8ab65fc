package tracing

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of the OpenTelemetry semantic conventions weft uses (HTTP
// stable; MCP and GenAI in development) and weft's own (weft.*).
const (
	AttrHTTPMethod     = "http.request.method"
	AttrHTTPRoute      = "http.route"
	AttrHTTPStatus     = "http.response.status_code"
	AttrURLPath        = "url.path"
	AttrMCPMethod      = "mcp.method.name"
	AttrMCPSession     = "mcp.session.id"
	AttrMCPProtocol    = "mcp.protocol.version"
	AttrJSONRPCID      = "jsonrpc.request.id"
	AttrNetTransport   = "network.transport"
	AttrGenAIOperation = "gen_ai.operation.name"
	AttrGenAIProvider  = "gen_ai.provider.name"
	AttrGenAIModel     = "gen_ai.request.model"
	AttrGenAIRespModel = "gen_ai.response.model"
	AttrGenAIInTokens  = "gen_ai.usage.input_tokens"
	AttrGenAIOutTokens = "gen_ai.usage.output_tokens"
	AttrGenAICacheRead = "gen_ai.usage.cache_read.input_tokens"
	AttrGenAIToolName  = "gen_ai.tool.name"
	AttrGenAIAgentName = "gen_ai.agent.name"
	AttrServer         = "weft.server"
	AttrCaller         = "weft.caller"
	AttrRunID          = "weft.run.id"
	AttrStepID         = "weft.step.id"
	AttrStrategy       = "weft.ask.strategy"
)

// ErrorTypeToolError is error.type of a tool call answered with isError.
const ErrorTypeToolError = "tool_error"

// StartCall starts the span of one engine call: execute_tool {tool}
// (GenAI's execute_tool operation), with the tool's server and the caller
// surface. The returned func ends it: errType is "" for a result,
// ErrorTypeToolError for an isError result, or the engine's error code.
// It satisfies engine.Tracer.
func (t *Tracer) StartCall(ctx context.Context, tool, server, caller string) (context.Context, func(errType string, err error)) {
	if t == nil {
		return ctx, func(string, error) {}
	}
	ctx, span := t.tracer.Start(ctx, "execute_tool "+tool, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String(AttrGenAIOperation, "execute_tool"),
			attribute.String(AttrGenAIToolName, tool),
			attribute.String(AttrServer, server),
			attribute.String(AttrCaller, caller),
		))
	return ctx, func(errType string, err error) {
		if errType != "" {
			Fail(span, errType, err)
		}
		span.End()
	}
}

// StartHTTPServer continues the trace of r's traceparent header (if any)
// with a server span named "{method} {route}". route is the path template
// (http.route); a ServeMux pattern's method ("POST /v1/x") is dropped.
func (t *Tracer) StartHTTPServer(r *http.Request, route string) (context.Context, trace.Span) {
	ctx := r.Context()
	if t == nil {
		return ctx, noop
	}
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path
	}
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	name := r.Method
	if route != "" {
		name += " " + route
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String(AttrHTTPMethod, r.Method),
		attribute.String(AttrHTTPRoute, route),
		attribute.String(AttrURLPath, r.URL.Path),
	))
}

// EndHTTPServer records the response status on span and ends it; a 5xx
// status marks it failed (as the HTTP conventions say for servers).
func EndHTTPServer(span trace.Span, status int) {
	if span.IsRecording() {
		span.SetAttributes(attribute.Int(AttrHTTPStatus, status))
		if status >= 500 {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// InjectHTTP writes ctx's trace context into h (traceparent, tracestate).
func (t *Tracer) InjectHTTP(ctx context.Context, h http.Header) {
	if t == nil {
		return
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// metaCarrier adapts an MCP params._meta map to a TextMapCarrier.
type metaCarrier map[string]any

func (m metaCarrier) Get(key string) string {
	s, _ := m[key].(string)
	return s
}

func (m metaCarrier) Set(key, value string) { m[key] = value }

func (m metaCarrier) Keys() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// InjectMeta writes ctx's trace context into an MCP request's params._meta
// (key traceparent, and tracestate when set), creating the map when it is
// nil and there is a context to write. It returns the map.
func (t *Tracer) InjectMeta(ctx context.Context, meta map[string]any) map[string]any {
	if t == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return meta
	}
	if meta == nil {
		meta = map[string]any{}
	}
	t.prop.Inject(ctx, metaCarrier(meta))
	return meta
}

// ExtractMeta continues the trace named by an MCP request's params._meta
// traceparent, when ctx carries no span of this process already.
func (t *Tracer) ExtractMeta(ctx context.Context, meta map[string]any) context.Context {
	if t == nil || meta == nil {
		return ctx
	}
	if _, ok := meta["traceparent"].(string); !ok {
		return ctx
	}
	return t.prop.Extract(ctx, metaCarrier(meta))
}

// MCPSpanName is "{mcp.method.name} {target}" with the tool or prompt name
// as target when there is one, as the MCP conventions name spans.
func MCPSpanName(method, target string) string {
	if target == "" {
		return method
	}
	return method + " " + target
}

// StartMCPServer starts the server span of one MCP request the gateway
// received: its trace continues params._meta's traceparent when there is
// one, else the HTTP request's span on ctx. A session's handlers may run
// with the context of the request that created the session, whose span
// has ended long since: then the traceparent header of the HTTP request
// carrying this message (header) is continued instead, or a new trace is
// started.
func (t *Tracer) StartMCPServer(ctx context.Context, method, tool, session string, meta map[string]any, header http.Header) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop
	}
	if p := trace.SpanFromContext(ctx); p.SpanContext().IsSampled() && !p.SpanContext().IsRemote() && !p.IsRecording() {
		// An ended local span: not this request's.
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
		if header != nil {
			ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(header))
		}
	}
	ctx = t.ExtractMeta(ctx, meta)
	attrs := []attribute.KeyValue{attribute.String(AttrMCPMethod, method)}
	if tool != "" {
		attrs = append(attrs, attribute.String(AttrGenAIToolName, tool), attribute.String(AttrGenAIOperation, "execute_tool"))
	}
	if session != "" {
		attrs = append(attrs, attribute.String(AttrMCPSession, session))
	}
	return t.tracer.Start(ctx, MCPSpanName(method, tool), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// StartMCPClient starts the client span of one MCP request weft sends to
// an upstream (server), over transport (network.transport: pipe for stdio,
// tcp for HTTP).
func (t *Tracer) StartMCPClient(ctx context.Context, method, tool, server, transport, session string) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop
	}
	attrs := []attribute.KeyValue{attribute.String(AttrMCPMethod, method), attribute.String(AttrServer, server),
		attribute.String(AttrNetTransport, transport)}
	if tool != "" {
		attrs = append(attrs, attribute.String(AttrGenAIToolName, tool))
	}
	if session != "" {
		attrs = append(attrs, attribute.String(AttrMCPSession, session))
	}
	return t.tracer.Start(ctx, MCPSpanName(method, tool), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// Usage is the token count of one model call.
type Usage struct {
	Input, Output, CacheRead int64
}

// StartChat starts the client span of one model call: "{operation}
// {model}" with gen_ai.operation.name (chat), gen_ai.provider.name
// (openai, azure.ai.openai, anthropic) and gen_ai.request.model.
func (t *Tracer) StartChat(ctx context.Context, provider, model string) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop
	}
	return t.tracer.Start(ctx, "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String(AttrGenAIOperation, "chat"),
		attribute.String(AttrGenAIProvider, provider),
		attribute.String(AttrGenAIModel, model),
	))
}

// EndChat records the response model and token usage on a chat span and
// ends it with err.
func EndChat(span trace.Span, responseModel string, u Usage, err error) {
	if span.IsRecording() {
		if responseModel != "" {
			span.SetAttributes(attribute.String(AttrGenAIRespModel, responseModel))
		}
		span.SetAttributes(attribute.Int64(AttrGenAIInTokens, u.Input), attribute.Int64(AttrGenAIOutTokens, u.Output))
		if u.CacheRead > 0 {
			span.SetAttributes(attribute.Int64(AttrGenAICacheRead, u.CacheRead))
		}
	}
	End(span, err)
}
