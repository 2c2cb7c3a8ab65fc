package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/sandbox"
)

// runCode: POST /v1/code {"code": "...", "language": "ts"|"js", "limits": {...}, "allowed_tools": [...]}
// → {result, console, calls, error, duration_ms}. A program that fails is a
// 200 with "error" set (the run happened); a request that cannot run is a 400.
// The program sees the tools of the key's policy (on the request context),
// narrowed by allowed_tools; limits above the configured ceilings are clamped.
func (s *Server) runCode(w http.ResponseWriter, r *http.Request) {
	var req sandbox.Request
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Code) == "" {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "code: the program is empty")
		return
	}
	switch req.Language {
	case "", sandbox.TypeScript, sandbox.JavaScript:
	default:
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", `language: "`+string(req.Language)+`": must be "ts" or "js"`)
		return
	}
	res, err := s.o.RunCode(r.Context(), req)
	if err != nil {
		if r.Context().Err() != nil {
			writeProblem(w, r, 499, "canceled", "client went away before the program could run")
			return
		}
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// typings: GET /v1/typings?tools=a,b → TypeScript declarations (text/plain,
// or JSON {"typings": "..."} with Accept: application/json).
func (s *Server) typings(w http.ResponseWriter, r *http.Request) {
	names := splitList(r.URL.Query()["tools"])
	if len(names) == 0 {
		writeProblem(w, r, http.StatusBadRequest, "invalid_query", "tools: name at least one tool (tools=a,b)")
		return
	}
	if len(names) > 200 {
		writeProblem(w, r, http.StatusBadRequest, "invalid_query", "tools: at most 200 tools per request")
		return
	}
	ts, err := s.o.Typings(r.Context(), names)
	if err != nil {
		if errors.Is(err, weft.ErrNotFound) {
			writeProblem(w, r, http.StatusNotFound, "unknown_tool", err.Error())
			return
		}
		s.writeError(w, r, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, map[string]string{"typings": ts})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(ts))
}
