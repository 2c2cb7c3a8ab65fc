// Package server is weft's HTTP surface: the REST API under /v1, the
// health endpoints /healthz (alias /health) and /readyz, and (with the gateway work) the MCP
// endpoint. Handlers are thin: parse and validate input, call the
// orchestrator, render output. Errors are application/problem+json.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/clip"
	"github.com/weft-dev/weft/limit"
)

// Options configure a Server. Zero fields take their value from the
// orchestrator's configuration (server, limits and gateway sections).
type Options struct {
	// MaxBodyBytes bounds request bodies (server.max_body_bytes).
	MaxBodyBytes int64
	// MaxJSONDepth bounds the nesting of JSON bodies (default 64).
	MaxJSONDepth int
	// MaxStringBytes bounds each string in a JSON body (default 1 MiB).
	MaxStringBytes int
	// ShutdownTimeout bounds draining in-flight requests (server.shutdown_timeout).
	ShutdownTimeout time.Duration
	// APIKeys authenticate clients (gateway.api_keys); none: no authentication.
	APIKeys []config.APIKey
	// RequestsPerMinute is each client's default rate (limits.requests_per_minute).
	RequestsPerMinute int
	// MaxConcurrentPerClient bounds requests in flight per client (gateway.max_concurrent_per_client).
	MaxConcurrentPerClient int
	// AllowedOrigins are browser origins allowed besides same-host (gateway.allowed_origins).
	AllowedOrigins []string
	// AllowedHosts are the host names answered besides IP addresses and,
	// on loopback, localhost (server.allowed_hosts; DNS-rebinding protection).
	AllowedHosts []string
	// ReadTimeout bounds reading a request, headers and body (server.read_timeout).
	ReadTimeout time.Duration
	// RedisFailMode is "closed" (refuse) or "open" (allow): what happens to
	// a request whose rate limit cannot be checked (limits.redis_fail_mode).
	RedisFailMode string
	// RateLimiter enforces RequestsPerMinute (the orchestrator's if nil:
	// in memory, or Redis with limits.redis_url).
	RateLimiter limit.RateLimiter
	Logger      *slog.Logger
}

func (o *Options) fill(cfg *config.Config, rl limit.RateLimiter) {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = cfg.Server.MaxBodyBytes
	}
	if o.MaxJSONDepth <= 0 {
		o.MaxJSONDepth = 64
	}
	if o.MaxStringBytes <= 0 {
		o.MaxStringBytes = 1 << 20
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = cfg.Server.ShutdownTimeout.D()
	}
	if o.APIKeys == nil {
		o.APIKeys = cfg.Gateway.APIKeys
	}
	if o.RequestsPerMinute <= 0 {
		o.RequestsPerMinute = cfg.Limits.RequestsPerMinute
	}
	if o.MaxConcurrentPerClient <= 0 {
		o.MaxConcurrentPerClient = cfg.Gateway.MaxConcurrentPerClient
	}
	if o.AllowedOrigins == nil {
		o.AllowedOrigins = cfg.Gateway.AllowedOrigins
	}
	if o.AllowedHosts == nil {
		o.AllowedHosts = cfg.Server.AllowedHosts
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = cfg.Server.ReadTimeout.D()
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = config.DefaultReadTimeout
	}
	if o.RedisFailMode == "" {
		o.RedisFailMode = cfg.Limits.RedisFailMode
	}
	if o.RateLimiter == nil {
		o.RateLimiter = rl
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server serves one orchestrator over HTTP.
type Server struct {
	o        *weft.Orchestrator
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	draining atomic.Bool
	keys     *keyring
	rate     limit.RateLimiter
	inflight *limit.Keyed
	// rateErrLog keeps rate-limiter failures loud but not once per request.
	rateErrLog everyLog
}

// New builds the HTTP surface for o.
func New(o *weft.Orchestrator, opts Options) *Server {
	opts.fill(o.Config(), o.RateLimiter())
	s := &Server{o: o, opts: opts, log: opts.Logger, mux: http.NewServeMux(),
		keys: newKeyring(opts.APIKeys, opts.RequestsPerMinute), rate: opts.RateLimiter,
		inflight: limit.NewKeyed(opts.MaxConcurrentPerClient), rateErrLog: everyLog{interval: 10 * time.Second}}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /health", s.healthz) // the path the replaced system documented
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.o.Metrics().Handler())
	s.mux.HandleFunc("GET /v1/openapi.json", s.openapiDoc)
	s.mux.HandleFunc("GET /v1/tools", s.listTools)
	s.mux.HandleFunc("GET /v1/tools/{name}", s.getTool)
	s.mux.HandleFunc("POST /v1/tools/{name}/call", s.callTool)
	s.mux.HandleFunc("POST /v1/tools/{name}/ratings", s.rateTool)
	s.mux.HandleFunc("GET /v1/search", s.searchTools)
	s.mux.HandleFunc("GET /v1/typings", s.typings)
	s.mux.HandleFunc("POST /v1/code", s.runCode)
	s.mux.HandleFunc("POST /v1/plans/validate", s.validatePlan)
	s.mux.HandleFunc("POST /v1/runs", s.startRun)
	s.mux.HandleFunc("GET /v1/runs", s.listRuns)
	s.mux.HandleFunc("GET /v1/runs/{id}", s.getRun)
	s.mux.HandleFunc("GET /v1/runs/{id}/events", s.runEvents)
	s.mux.HandleFunc("POST /v1/runs/{id}/cancel", s.cancelRun)
	s.mux.HandleFunc("POST /v1/ask", s.ask)
	s.mountConsole()
	s.mountMCP()
}

// ServeHTTP implements http.Handler with panic recovery, the protections
// of protect, and one error shape: every error response is
// application/problem+json, including the plain-text ones of handlers
// that are not weft's own (the MCP SDK's transport errors).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, r: r}
	defer sw.finish()
	var h http.Handler
	route := ""
	canonical := cleanPath(r.URL.Path)
	if canonical == r.URL.Path {
		h, route = s.mux.Handler(r) // matched once; protect changes no routing input
	}
	matched := route != ""
	if !matched {
		route = "unmatched"
	}
	if tr := s.o.Tracer(); tr != nil {
		var end func()
		r, end = traced(tr, r, sw, route)
		defer end()
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("handler panic", "path", clip.String(r.URL.Path), "panic", p, "stack", string(debug.Stack()))
			if !sw.wrote {
				writeProblem(sw, r, http.StatusInternalServerError, "internal", "internal error; see the server log")
			}
		}
		took := time.Since(start)
		s.o.Metrics().ObserveHTTP(route, r.Method, sw.status, took)
		s.log.Debug("http", "method", clip.String(r.Method), "path", clip.String(r.URL.Path), "status", sw.status, "duration", took)
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBodyBytes)
	}
	req, release := s.protect(sw, r)
	if req == nil {
		return
	}
	defer release()
	if !matched {
		s.noRoute(sw, req, h, canonical)
		return
	}
	s.mux.ServeHTTP(sw, req) // sets path values
}

// cleanPath is the canonical form of a URL path, as http.ServeMux would
// redirect to: no empty, "." or ".." segments; a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// noRoute renders the mux's 404 / 405 (with its Allow header) as a
// problem. A path that is not canonical ("//v1//tools") is not redirected
// (ServeMux would answer 301 text/html): it is a 404 naming the canonical
// path.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, h http.Handler, canonical string) {
	if canonical != r.URL.Path {
		writeProblem(w, r, http.StatusNotFound, "not_found",
			fmt.Sprintf("no route for %s %s: the path is not canonical (empty, . or .. segments); did you mean %s?", r.Method, clip.String(r.URL.Path), clip.String(canonical)))
		return
	}
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
		writeProblem(w, r, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s; allowed: %s", clip.String(r.Method), clip.String(r.URL.Path), allow))
		return
	}
	writeProblem(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", clip.String(r.Method), clip.String(r.URL.Path)))
}

// headerRecorder captures what the mux's fallback handler would send.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

// statusWriter records the status of a response and turns plain-text
// error responses (http.Error's, as the MCP SDK's transport errors are)
// into problems: their text becomes the problem's detail.
type statusWriter struct {
	http.ResponseWriter
	r      *http.Request
	status int
	wrote  bool
	// plain holds the text of a plain-text error response being converted.
	plain *bytes.Buffer
}

// maxPlainError bounds the text kept of a plain-text error response.
const maxPlainError = 4 << 10

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote || code < 200 { // superfluous (net/http says so) or informational
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status, w.wrote = code, true
	ct := w.Header().Get("Content-Type")
	if code >= 400 && (strings.HasPrefix(ct, "text/plain") || strings.HasPrefix(ct, "text/html")) {
		w.plain = &bytes.Buffer{}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.plain != nil {
		if room := maxPlainError - w.plain.Len(); room > 0 {
			w.plain.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// finish writes the problem a plain-text error response was turned into.
func (w *statusWriter) finish() {
	if w.plain == nil {
		return
	}
	text, status := strings.TrimSpace(w.plain.String()), w.status
	w.plain = nil
	h := w.Header()
	h.Del("Content-Length")
	if text == "" {
		text = http.StatusText(status)
	}
	writeProblemValue(w.ResponseWriter, w.r, Problem{Type: problemBase + statusCode(status), Status: status, Code: statusCode(status), Detail: clip.N(text, 1024)})
}

// statusCode is the problem code of an HTTP status: its text in snake
// case ("Bad Request" → "bad_request").
func statusCode(status int) string {
	t := http.StatusText(status)
	if t == "" {
		return "http_" + strconv.Itoa(status)
	}
	return strings.NewReplacer(" ", "_", "-", "_", "'", "").Replace(strings.ToLower(t))
}

func (w *statusWriter) Flush() {
	if w.plain != nil {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ListenAndServe serves on addr until ctx is cancelled, then shuts down
// gracefully: it stops accepting, marks itself not ready, and drains
// in-flight requests for up to ShutdownTimeout. ready, if non-nil, is called
// with the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve is ListenAndServe on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(net.Addr)) error {
	hs := &http.Server{
		Handler: s,
		// Slow clients end: headers within 10 s, the whole request (body
		// included) within server.read_timeout; a slow body is answered
		// 408 (see writeBodyError). There is no WriteTimeout: it would end
		// server-sent event streams; net/http clears the read deadline
		// once the body is read, so streams are not cut by ReadTimeout.
		ReadHeaderTimeout: min(10*time.Second, s.opts.ReadTimeout),
		ReadTimeout:       s.opts.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(problemListener{ln}) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down: draining in-flight requests", "timeout", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("server: drain did not finish within %s; remaining requests were cut", s.opts.ShutdownTimeout)
		}
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
