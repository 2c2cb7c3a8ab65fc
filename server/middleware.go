package server

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weft-dev/weft"
)

// public routes need no authentication and are not rate limited.
func public(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// protect applies, in order: Host and Origin checks (DNS rebinding, CSRF),
// authentication, per-client rate and concurrency limits, and JSON body
// limits. It returns the request to serve (carrying the client and its
// scope) and a release func to call when it is served, or nil after
// answering itself.
func (s *Server) protect(w http.ResponseWriter, r *http.Request) (*http.Request, func()) {
	r, release := s.admit(w, r)
	if r == nil {
		return nil, nil
	}
	return r, release
}

func (s *Server) admit(w http.ResponseWriter, r *http.Request) (*http.Request, func()) {
	noop := func() {}
	if msg := s.checkHost(r); msg != "" {
		writeProblem(w, r, http.StatusForbidden, "forbidden_host", msg)
		return nil, nil
	}
	if msg := s.checkOrigin(r); msg != "" {
		writeProblem(w, r, http.StatusForbidden, "forbidden_origin", msg)
		return nil, nil
	}
	if public(r.URL.Path) {
		return r, noop
	}
	client, reason, ok := s.keys.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="weft"`)
		writeProblem(w, r, http.StatusUnauthorized, "unauthorized", reason)
		return nil, nil
	}
	allowed, wait, err := s.rate.Allow(r.Context(), client.Name, client.RequestsPerMinute)
	if err != nil {
		s.log.Warn("rate limiter failed; allowing request", "err", err)
		allowed = true
	}
	if !allowed {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeProblem(w, r, http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("client %s exceeded %d requests per minute; retry in %s", client.Name, client.RequestsPerMinute, wait.Round(100*time.Millisecond)))
		return nil, nil
	}
	if !s.inflight.TryAcquire(client.Name) {
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusTooManyRequests, "too_many_concurrent",
			fmt.Sprintf("client %s already has %d requests in flight (gateway.max_concurrent_per_client)", client.Name, s.opts.MaxConcurrentPerClient))
		return nil, nil
	}
	release := func() { s.inflight.Release(client.Name) }
	// The one policy and the client's identity are attached here, once;
	// the facade and the engine enforce them on every path below.
	ctx := weft.WithScope(r.Context(), client.Scope)
	if s.keys.enabled() {
		ctx = weft.WithClient(ctx, client.Name)
	}
	r = r.WithContext(ctx)
	if r.Body != nil && r.ContentLength != 0 && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// Let the handler report it (413 for too large).
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			return r, release
		}
		if msg := jsonLimitProblem(body, s.opts.MaxJSONDepth, s.opts.MaxStringBytes); msg != "" {
			release()
			writeProblem(w, r, http.StatusBadRequest, "limit_exceeded", msg)
			return nil, nil
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r, release
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// checkHost rejects requests that reached a loopback listener under a
// foreign Host name: the signature of DNS rebinding.
func (s *Server) checkHost(r *http.Request) string {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil {
		return ""
	}
	tcp, ok := local.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return ""
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || net.ParseIP(host).IsLoopback() {
		return ""
	}
	return fmt.Sprintf("Host %q is not a loopback name; weft on a loopback address only answers localhost, 127.0.0.1 and [::1]", r.Host)
}

// checkOrigin allows requests without Origin (non-browser clients), from
// the same host, or from a configured origin.
func (s *Server) checkOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	if slices.Contains(s.opts.AllowedOrigins, "*") || slices.Contains(s.opts.AllowedOrigins, origin) {
		return ""
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host == r.Host {
		return ""
	}
	return fmt.Sprintf("Origin %q is not allowed (same-host requests and gateway.allowed_origins are)", origin)
}
