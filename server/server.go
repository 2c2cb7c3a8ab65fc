// Package server is weft's HTTP surface: the REST API under /v1, the
// health endpoints /healthz and /readyz, and (with the gateway work) the MCP
// endpoint. Handlers are thin: parse and validate input, call the
// orchestrator, render output. Errors are application/problem+json.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/weft-dev/weft"
)

// Options configure a Server.
type Options struct {
	// MaxBodyBytes bounds request bodies (default 4 MiB).
	MaxBodyBytes int64
	// ShutdownTimeout bounds draining in-flight requests (default 15s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Server serves one orchestrator over HTTP.
type Server struct {
	o        *weft.Orchestrator
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	draining atomic.Bool
}

// New builds the HTTP surface for o.
func New(o *weft.Orchestrator, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /v1/tools", s.listTools)
	s.mux.HandleFunc("GET /v1/tools/{name}", s.getTool)
	s.mux.HandleFunc("POST /v1/tools/{name}/call", s.callTool)
	s.mux.HandleFunc("GET /v1/search", s.searchTools)
	s.mux.HandleFunc("GET /v1/typings", s.typings)
	s.mux.HandleFunc("POST /v1/code", s.runCode)
	s.mux.HandleFunc("POST /v1/plans/validate", s.validatePlan)
	s.mux.HandleFunc("POST /v1/runs", s.startRun)
	s.mux.HandleFunc("GET /v1/runs", s.listRuns)
	s.mux.HandleFunc("GET /v1/runs/{id}", s.getRun)
	s.mux.HandleFunc("GET /v1/runs/{id}/events", s.runEvents)
	s.mux.HandleFunc("POST /v1/runs/{id}/cancel", s.cancelRun)
}

// ServeHTTP implements http.Handler with panic recovery and body limits.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("handler panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !sw.wrote {
				writeProblem(sw, r, http.StatusInternalServerError, "internal", "internal error; see the server log")
			}
		}
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start))
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBodyBytes)
	}
	if h, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(sw, r, h)
		return
	}
	s.mux.ServeHTTP(sw, r) // sets path values

}

// noRoute renders the mux's 404 / 405 (with its Allow header) as a problem.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
		writeProblem(w, r, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow))
		return
	}
	writeProblem(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
}

// headerRecorder captures what the mux's fallback handler would send.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
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
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
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
