package mcp

import (
	"context"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/internal/tracing"
)

// traceCall starts the client span of a tools/call to the upstream under
// ctx's span, writes its trace context into params._meta (traceparent) and
// returns the call's context cctx carrying the span too, so that the HTTP
// request that carries the call gets the same traceparent header (cctx is
// detached from ctx's values by bind).
func (u *Upstream) traceCall(ctx, cctx context.Context, s *session, tool string, params *sdk.CallToolParams) (context.Context, trace.Span) {
	transport := "tcp"
	if u.cfg.Transport == TransportStdio {
		transport = "pipe"
	}
	sctx, span := u.cfg.Tracer.StartMCPClient(ctx, "tools/call", tool, u.cfg.Name, transport, s.cs.ID())
	params.Meta = u.cfg.Tracer.InjectMeta(sctx, params.Meta)
	return trace.ContextWithSpan(cctx, span), span
}

// endCallSpan ends a tools/call client span: a transport or protocol
// failure, or a result with isError (error.type tool_error), marks it failed.
func endCallSpan(span trace.Span, isError bool, err error) {
	if err == nil && isError {
		tracing.Fail(span, tracing.ErrorTypeToolError, nil)
	}
	tracing.End(span, err)
}
