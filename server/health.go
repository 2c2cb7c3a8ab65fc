package server

import (
	"net/http"

	"github.com/weft-dev/weft"
)

// healthz: the process is alive and serving HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_s": int(weft.Uptime().Seconds())})
}

// readyz: the catalog is loaded and some upstream is usable; reports each
// upstream's state. 503 while nothing is usable or while draining.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rd := s.o.Readiness()
	if s.draining.Load() {
		rd.Ready, rd.Reason = false, "shutting down"
	}
	status := http.StatusOK
	if !rd.Ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rd)
}
