package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/internal/clip"
)

// public routes need no authentication and are not rate limited (the
// console's static assets are public; its data comes from /v1 with a key).
func public(path string) bool {
	return path == "/healthz" || path == "/health" || path == "/readyz" || path == "/metrics" || consolePath(path)
}

// protect applies, in order: Host and Origin checks (DNS rebinding, CSRF),
// authentication, per-client rate and concurrency limits, and the JSON
// body checks (read deadline, size, nesting, string length, UTF-8, number
// range). It returns the request to serve (carrying the client's scope
// and, with API keys, its identity) and a release func to call when it is
// served, or nil after answering itself.
func (s *Server) protect(w http.ResponseWriter, r *http.Request) (*http.Request, func()) {
	noop := func() {}
	if msg := s.checkHost(r); msg != "" {
		writeProblem(w, r, http.StatusForbidden, "forbidden_host", msg)
		return nil, nil
	}
	if msg := s.checkOrigin(r); msg != "" {
		writeProblem(w, r, http.StatusForbidden, "forbidden_origin", msg)
		return nil, nil
	}
	if msg := urlUTF8Problem(r.URL); msg != "" {
		writeProblem(w, r, http.StatusBadRequest, "invalid_query", msg)
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
	if !s.allowRate(w, r, client) {
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
			release()
			writeBodyError(w, r, err)
			return nil, nil
		}
		if code, msg := jsonProblem(body, s.opts.MaxJSONDepth, s.opts.MaxStringBytes); msg != "" {
			release()
			writeProblem(w, r, http.StatusBadRequest, code, msg)
			return nil, nil
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return r, release
}

// urlUTF8Problem refuses a path or query parameter that is not UTF-8 once
// unescaped ("%ff"), instead of letting it reach a handler that would
// replace the bytes silently.
func urlUTF8Problem(u *url.URL) string {
	if !utf8.ValidString(u.Path) {
		off := invalidUTF8([]byte(u.Path))
		return fmt.Sprintf("the path is not valid UTF-8 (byte 0x%02x at offset %d once unescaped)", u.Path[off], off)
	}
	for k, vs := range u.Query() {
		for _, v := range append([]string{k}, vs...) {
			if !utf8.ValidString(v) {
				return fmt.Sprintf("query parameter %q is not valid UTF-8 once unescaped", clip.String(k))
			}
		}
	}
	return ""
}

// writeBodyError answers a request whose body could not be read: 413 when
// it is larger than server.max_body_bytes, 408 when it did not arrive
// within server.read_timeout, else 400.
func writeBodyError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body exceeds %d bytes (server.max_body_bytes)", mbe.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		writeProblem(w, r, http.StatusRequestTimeout, "body_timeout", "the request body did not arrive within server.read_timeout")
	default:
		writeProblem(w, r, http.StatusBadRequest, "bad_body", "could not read request body: "+err.Error())
	}
}

// allowRate takes one request from the client's budget, answering 429 (or
// 503 when the shared limiter is down and limits.redis_fail_mode is
// closed) itself when the request may not proceed.
func (s *Server) allowRate(w http.ResponseWriter, r *http.Request, client Client) bool {
	allowed, wait, err := s.rate.Allow(r.Context(), client.Name, client.RequestsPerMinute)
	if err != nil {
		open := s.opts.RedisFailMode == "open"
		s.o.Metrics().RateLimiterFailure(open)
		if n, log := s.rateErrLog.take(time.Now()); log {
			action := "refusing requests (limits.redis_fail_mode: closed)"
			if open {
				action = "allowing requests unlimited (limits.redis_fail_mode: open)"
			}
			s.log.Error("rate limiter unavailable; "+action, "err", err, "failures_since_last_log", n)
		}
		if !open {
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, http.StatusServiceUnavailable, "rate_limiter_unavailable",
				"the rate limiter cannot be reached; retry shortly")
			return false
		}
		return true
	}
	if !allowed {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeProblem(w, r, http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("client %s exceeded %d requests per minute; retry in %s", client.Name, client.RequestsPerMinute, wait.Round(100*time.Millisecond)))
		return false
	}
	return true
}

// everyLog lets one log line through per interval and counts the events
// in between, so a failing dependency is logged loudly but not once per
// request.
type everyLog struct {
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
	count    int
}

// take counts one event and reports whether to log it, with the number of
// events since the last logged one (this one included).
func (e *everyLog) take(now time.Time) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count++
	if !e.last.IsZero() && now.Sub(e.last) < e.interval {
		return 0, false
	}
	n := e.count
	e.last, e.count = now, 0
	return n, true
}

// checkHost is the defence against DNS rebinding: a page of the attacker's
// domain, re-resolved to weft's address, reaches weft with the attacker's
// name in Host. See hostProblem.
func (s *Server) checkHost(r *http.Request) string {
	var local net.IP
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		local = a.IP
	}
	return hostProblem(r.Host, local, s.keys.enabled(), s.opts.AllowedHosts)
}

// hostProblem decides whether a request with Host host, received on the
// local address local, may be served: names in allowed (server.allowed_hosts)
// always; on a loopback address only loopback names; elsewhere IP
// addresses, and any name when API keys authenticate clients and no
// allowed list is configured (a rebinding page has no key). It returns ""
// or why not.
func hostProblem(host string, local net.IP, keyed bool, allowed []string) string {
	name := host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
	if slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(strings.TrimSuffix(a, "."), name) }) {
		return ""
	}
	ip := net.ParseIP(name)
	if local != nil && local.IsLoopback() {
		if name == "localhost" || (ip != nil && ip.IsLoopback()) {
			return ""
		}
		return fmt.Sprintf("Host %q is not a loopback name; weft on a loopback address only answers localhost, 127.0.0.1, [::1] and the names in server.allowed_hosts", clip.String(host))
	}
	if ip != nil || (keyed && len(allowed) == 0) {
		return ""
	}
	return fmt.Sprintf("Host %q is not in server.allowed_hosts; weft answers its IP addresses and the names listed there (DNS-rebinding protection)", clip.String(host))
}

// checkOrigin allows requests without Origin (non-browser clients), from
// the same host (whose Host passed checkHost), or from a configured origin.
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
	return fmt.Sprintf("Origin %q is not allowed (same-host requests and gateway.allowed_origins are)", clip.String(origin))
}
