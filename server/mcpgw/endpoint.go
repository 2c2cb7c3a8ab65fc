// Package mcpgw is weft's MCP gateway: one MCP server per configured
// gateway endpoint, in meta mode (search_tools, describe_tools, call_tool,
// run_code, run_plan) or passthrough mode (every upstream tool, resource
// and prompt the caller may see), served over Streamable HTTP (mounted by
// package server) and stdio (weft mcp).
//
// The gateway reaches upstreams only through the facade (weft.Orchestrator).
// Who may see and call what is the one policy on the request context: the
// API key's scope and client identity, attached by package server's
// middleware, and the endpoint's own filter, attached here once for every
// request the endpoint serves (Endpoint.scope). Nothing in this package
// filters tools itself.
package mcpgw

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
)

// Endpoint modes (config.Endpoint.Mode).
const (
	ModeMeta        = "meta"
	ModePassthrough = "passthrough"
)

// statelessVersion is the first MCP revision without sessions (2026-07-28):
// every request carries its protocol version and any replica can answer it.
const statelessVersion = "2026-07-28"

// sessionTimeout is the default Options.SessionTimeout.
const sessionTimeout = 30 * time.Minute

// implementation is what weft reports as serverInfo.
var implementation = &sdk.Implementation{Name: "weft", Title: "weft tool orchestrator", Version: "0.1.0"}

// Options configure an Endpoint.
type Options struct {
	// Logger receives the endpoint's logs (discarded if nil). For a stdio
	// server it must not write to stdout.
	Logger *slog.Logger
	// SessionTimeout closes session-based (2025-xx) Streamable HTTP
	// sessions with no POST for this long (default 30 minutes).
	SessionTimeout time.Duration
}

// Endpoint is one MCP endpoint over an orchestrator. The same value serves
// Streamable HTTP (Handler) and stdio (ServeStdio).
type Endpoint struct {
	o      *weft.Orchestrator
	ep     config.Endpoint
	scope  weft.Scope // the endpoint's filter, attached to every request
	log    *slog.Logger
	sdkLog *slog.Logger
	srv    *sdk.Server
	pt     *passthrough // passthrough mode

	handlerOnce sync.Once
	handler     http.Handler
	// sessionTimeout closes session-based sessions idle this long.
	sessionTimeout time.Duration
}

// New builds the MCP server of endpoint ep (ep.Path is used only by
// Handler's caller). The mode defaults to meta.
func New(o *weft.Orchestrator, ep config.Endpoint, opts Options) (*Endpoint, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if ep.Mode == "" {
		ep.Mode = ModeMeta
	}
	e := &Endpoint{o: o, ep: ep, scope: weft.Scope{Servers: ep.Servers, Tools: ep.Tools},
		log: log.With("endpoint", ep.Path, "mode", ep.Mode), sessionTimeout: opts.SessionTimeout}
	if e.sessionTimeout <= 0 {
		e.sessionTimeout = sessionTimeout
	}
	// The SDK logs every session's start and end at info; keep warnings.
	e.sdkLog = slog.New(minLevel{Handler: e.log.Handler(), min: slog.LevelWarn})
	switch ep.Mode {
	case ModeMeta:
		e.srv = sdk.NewServer(implementation, &sdk.ServerOptions{
			Logger:       e.sdkLog,
			Instructions: metaInstructions,
			Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
		})
		e.srv.AddReceivingMiddleware(e.policyMiddleware)
		registerMeta(e)
	case ModePassthrough:
		e.pt = newPassthrough(e)
		e.srv = e.pt.server()
		e.pt.start()
	default:
		return nil, fmt.Errorf("mcpgw: endpoint %s: unknown mode %q (want meta or passthrough)", ep.Path, ep.Mode)
	}
	return e, nil
}

// Server returns the underlying MCP server.
func (e *Endpoint) Server() *sdk.Server { return e.srv }

// Close stops following the catalog and the upstreams for this endpoint.
func (e *Endpoint) Close() {
	if e.pt != nil {
		e.pt.close()
	}
}

// Handler serves the endpoint over Streamable HTTP, for both protocol
// generations: requests of a 2026-07-28 (or later) client — recognised by
// their MCP-Protocol-Version header and the absence of a session id — are
// answered statelessly, so any replica over the same configuration can
// answer them; everything else goes through the session-based handler
// (2025-03-26 to 2025-11-25), whose sessions live in this process.
//
// The request's context carries the caller's policy and identity (package
// server's middleware). The SDK runs a session's handlers on the context of
// the request that created the session, so each request's own context is
// carried to its handlers (see requestContext), and a session is bound to
// the client that created it: a request of another API key naming the
// session is refused (403), so no key acts with another key's scope.
func (e *Endpoint) Handler() http.Handler {
	e.handlerOnce.Do(func() {
		get := func(*http.Request) *sdk.Server { return e.srv }
		var stateful http.Handler
		if e.pt != nil {
			// Passthrough answers plain tool calls itself and runs the
			// idle timeout (see fastcall.go).
			e.pt.sessions.next = sdk.NewStreamableHTTPHandler(get, &sdk.StreamableHTTPOptions{Logger: e.sdkLog})
			e.pt.sessions.timeout = e.sessionTimeout
			stateful = e.pt.sessions
		} else {
			stateful = sdk.NewStreamableHTTPHandler(get, &sdk.StreamableHTTPOptions{
				Logger:         e.sdkLog,
				SessionTimeout: e.sessionTimeout,
			})
		}
		e.handler = carryRequest(&versionRouter{
			stateful: stateful,
			stateless: sdk.NewStreamableHTTPHandler(get, &sdk.StreamableHTTPOptions{
				Logger:                       e.sdkLog,
				Stateless:                    true,
				PropagateRequestCancellation: true,
			}),
		})
	})
	return e.handler
}

// versionRouter sends each request to the handler of its protocol generation.
type versionRouter struct {
	stateful, stateless http.Handler
}

// ServeHTTP implements http.Handler.
func (v *versionRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Mcp-Session-Id") == "" && r.Header.Get("Mcp-Protocol-Version") >= statelessVersion {
		v.stateless.ServeHTTP(w, r)
		return
	}
	v.stateful.ServeHTTP(w, r)
}

// requestCtxKey is the auth.TokenInfo.Extra key holding the HTTP request's context.
const requestCtxKey = "weft/request-context"

// carryRequest hands each HTTP request's context to the SDK as the
// request's auth.TokenInfo, which the SDK passes to that request's
// handlers (RequestExtra.TokenInfo) and whose UserID — the authenticated
// client, set when API keys are configured — binds a session to the
// client that created it (the SDK answers 403 to any other). package
// server authenticated the request already; the "verifier" only reads the
// identity it attached.
func carryRequest(next http.Handler) http.Handler {
	withInfo := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		return &auth.TokenInfo{UserID: engine.ClientFrom(ctx), Extra: map[string]any{requestCtxKey: ctx}}, nil
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Without API keys there is one tenant and possibly no bearer token.
		if f := strings.Fields(r.Header.Get("Authorization")); len(f) != 2 || !strings.EqualFold(f[0], "bearer") {
			next.ServeHTTP(w, r)
			return
		}
		withInfo.ServeHTTP(w, r)
	})
}

// requestContext returns the context a request's handler runs with: the
// values of the HTTP request that carried it (when it came over HTTP with
// a token: its policy and client), and the handler context's cancellation,
// deadline and SDK values.
func requestContext(ctx context.Context, req sdk.Request) context.Context {
	extra := req.GetExtra()
	if extra == nil || extra.TokenInfo == nil {
		return ctx
	}
	rc, ok := extra.TokenInfo.Extra[requestCtxKey].(context.Context)
	if !ok {
		return ctx
	}
	return requestValues{Context: ctx, req: rc}
}

// requestValues is a handler context whose values are looked up in the
// HTTP request's context first.
type requestValues struct {
	context.Context
	req context.Context
}

// Value implements context.Context.
func (c requestValues) Value(key any) any {
	if v := c.req.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

// policyMiddleware attaches, once per request, the request's own context
// values and the endpoint's filter to the context every handler of the
// endpoint runs with.
func (e *Endpoint) policyMiddleware(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		ctx = weft.WithScope(requestContext(ctx, req), e.scope)
		if tr := e.o.Tracer(); tr != nil {
			var span trace.Span
			ctx, span = traceRequest(ctx, tr, method, req)
			res, err := next(ctx, method, req)
			endRequest(span, res, err)
			return res, err
		}
		return next(ctx, method, req)
	}
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled implements slog.Handler.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs implements slog.Handler.
func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(a), min: h.min}
}

// WithGroup implements slog.Handler.
func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
