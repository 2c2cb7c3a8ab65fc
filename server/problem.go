package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/clip"
)

// Problem is an RFC 9457 problem detail, the body of every error response
// (Content-Type application/problem+json).
type Problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Code     string            `json:"code,omitempty"`
	Tool     string            `json:"tool,omitempty"`
	Problems []catalog.Problem `json:"problems,omitempty"`
}

const problemBase = "https://weft.dev/problems/"

// maxDetail bounds a problem's detail, in bytes.
const maxDetail = 1 << 10

func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	writeProblemValue(w, r, Problem{Type: problemBase + code, Title: http.StatusText(status), Status: status, Code: code, Detail: detail})
}

func writeProblemValue(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Title == "" && p.Status == statusClientClosed {
		p.Title = "Client Closed Request"
	}
	// Echoed input is clipped (internal/clip): a 100 KB tool name in the
	// path comes back once, shortened, not three times in full.
	p.Instance = clip.String(r.URL.Path)
	p.Tool = clip.String(p.Tool)
	// A backstop for handlers that quote input in the detail: no detail
	// is longer than maxDetail.
	p.Detail = clip.N(p.Detail, maxDetail)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeError renders any error from the facade: engine errors keep their
// code and status; everything else is a 500 with a generic message (the
// details go to the log, not to the client).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ee *engine.Error
	if errors.As(err, &ee) {
		writeProblemValue(w, r, Problem{Type: problemBase + string(ee.Code), Status: httpStatus(ee.Code), Code: string(ee.Code), Detail: ee.Error(), Tool: ee.Tool, Problems: ee.Problems})
		return
	}
	s.log.Error("request failed", "path", clip.String(r.URL.Path), "err", err)
	writeProblem(w, r, http.StatusInternalServerError, "internal", "internal error; see the server log")
}

// httpStatus maps an engine error code to the status REST answers with.
func httpStatus(c engine.Code) int {
	switch c {
	case engine.CodeUnknownTool:
		return http.StatusNotFound
	case engine.CodeInvalidArguments:
		return http.StatusBadRequest
	case engine.CodeTimeout:
		return http.StatusGatewayTimeout
	case engine.CodeCanceled:
		return statusClientClosed
	case engine.CodeUnavailable, engine.CodeOverloaded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadGateway
	}
}

// statusClientClosed is nginx's 499: the client closed the request.
const statusClientClosed = 499

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
