package server

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/source"
)

// healthz: the process is alive and serving HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_s": int(weft.Uptime().Seconds())})
}

// readyz: the catalog is loaded and some upstream is usable; 503 while
// nothing is usable or while draining.
//
// Probes need no authentication, so an anonymous caller learns only
// whether weft is ready, with a terse reason. Each upstream's state (which
// can carry process ids and redacted stderr lines) needs an API key when
// keys are configured, and then covers only the servers the key may see;
// a server without API keys shows it to loopback clients only.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rd := s.o.Readiness()
	if s.draining.Load() {
		rd.Ready, rd.Reason = false, "shutting down"
	}
	status := http.StatusOK
	if !rd.Ready {
		status = http.StatusServiceUnavailable
	}
	ctx, detailed := s.readyDetails(r)
	if !detailed {
		writeJSON(w, status, terseReadiness{Ready: rd.Ready, Reason: terseReason(rd)})
		return
	}
	visible := make(map[string]source.Health, len(rd.Upstreams))
	for name, h := range rd.Upstreams {
		if s.o.ServerVisible(ctx, name) {
			visible[name] = h
		}
	}
	if len(visible) != len(rd.Upstreams) && !rd.Ready {
		// The reason may name servers the key may not see.
		rd.Reason = terseReason(rd)
	}
	rd.Upstreams = visible
	for name := range rd.Health {
		if _, ok := visible[name]; !ok {
			delete(rd.Health, name)
		}
	}
	writeJSON(w, status, rd)
}

// terseReadiness is what /readyz tells an anonymous caller.
type terseReadiness struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// terseReason says why weft is not ready without naming any upstream.
func terseReason(rd weft.Readiness) string {
	switch {
	case rd.Ready:
		return ""
	case rd.Reason == "shutting down":
		return rd.Reason
	case strings.HasPrefix(rd.Reason, "starting"):
		return "starting"
	default:
		return "no usable upstream; details need an API key"
	}
}

// readyDetails reports whether the caller of /readyz may see upstream
// details, and the context carrying its scope.
func (s *Server) readyDetails(r *http.Request) (context.Context, bool) {
	if !s.keys.enabled() {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		return r.Context(), err == nil && ip != nil && ip.IsLoopback()
	}
	client, _, ok := s.keys.authenticate(r)
	if !ok {
		return r.Context(), false
	}
	return weft.WithScope(r.Context(), client.Scope), true
}
