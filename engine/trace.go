package engine

import (
	"context"
	"encoding/json"

	"github.com/weft-dev/weft/internal/clip"
	"github.com/weft-dev/weft/source"
)

// Tracer starts a span per call (package internal/tracing implements it).
// The returned func ends the span: errType is "" for a result, "tool_error"
// for a result with isError, else the call's error code.
type Tracer interface {
	StartCall(ctx context.Context, tool, server, caller string) (context.Context, func(errType string, err error))
}

// ErrorCode returns the error's code (tracing records it as error.type).
func (e *Error) ErrorCode() string { return string(e.Code) }

// traced is CallWith inside a span. It is only reached when a Tracer is
// configured: with tracing off the call path pays one nil check.
func (e *Engine) traced(ctx context.Context, name string, args json.RawMessage, o CallOptions) (*source.Result, error) {
	tool, server := clip.String(name), ""
	if t, ok := e.opts.Catalog.Snapshot().Get(name); ok && Allowed(ctx, t) {
		tool, server = t.Name, t.Server
	}
	ctx, end := e.opts.Tracer.StartCall(ctx, tool, server, o.Caller)
	o.traced = true
	res, err := e.CallWith(ctx, name, args, o)
	switch {
	case err != nil:
		code := string(CodeUpstream)
		if ee, ok := AsError(err); ok {
			code = string(ee.Code)
		}
		end(code, err)
	case res != nil && res.IsError:
		end("tool_error", nil)
	default:
		end("", nil)
	}
	return res, err
}
