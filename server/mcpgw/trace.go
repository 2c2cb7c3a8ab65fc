package mcpgw

import (
	"context"
	"net/http"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/internal/tracing"
)

// traceRequest starts the server span of one MCP request the endpoint
// received ("tools/call <tool>", mcp.method.name, gen_ai.tool.name,
// mcp.session.id). Its trace continues the traceparent of the request's
// params._meta when there is one, else the HTTP request's span.
func traceRequest(ctx context.Context, tr *tracing.Tracer, method string, req sdk.Request) (context.Context, trace.Span) {
	tool := ""
	if ct, ok := req.(*sdk.CallToolRequest); ok && ct.Params != nil {
		tool = ct.Params.Name
	}
	var meta map[string]any
	if p := req.GetParams(); p != nil {
		meta = p.GetMeta()
	}
	session := ""
	if s := req.GetSession(); s != nil {
		session = s.ID()
	}
	var header http.Header
	if ex := req.GetExtra(); ex != nil {
		header = ex.Header
	}
	return tr.StartMCPServer(ctx, method, tool, session, meta, header)
}

// endRequest ends a request's span: an error, or a tool result with
// isError (error.type tool_error), marks it failed.
func endRequest(span trace.Span, res sdk.Result, err error) {
	if err == nil && toolFailed(res) {
		tracing.Fail(span, tracing.ErrorTypeToolError, nil)
	}
	tracing.End(span, err)
}

// toolFailed reports whether res is a tool result with isError.
func toolFailed(res sdk.Result) bool {
	switch r := res.(type) {
	case *sdk.CallToolResult:
		return r != nil && r.IsError
	case *rawToolResult:
		return r != nil && r.raw.IsError
	}
	return false
}
