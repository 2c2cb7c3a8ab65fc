package server

import (
	"net/http"

	"github.com/weft-dev/weft/internal/tracing"
)

// traced starts the server span of r — continuing the caller's trace when
// r carries a traceparent header — and returns r with the span on its
// context and the func that ends the span with the response's status.
func traced(tr *tracing.Tracer, r *http.Request, sw *statusWriter, route string) (*http.Request, func()) {
	ctx, span := tr.StartHTTPServer(r, route)
	return r.WithContext(ctx), func() { tracing.EndHTTPServer(span, sw.status) }
}
