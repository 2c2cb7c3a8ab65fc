package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/analytics"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/clip"
)

// toolView is a tool as the REST API shows it.
type toolView struct {
	catalog.Tool
	Signature string `json:"signature,omitempty"`
	// Health is the tool's health score (docs/operations.md).
	Health *analytics.ToolHealth `json:"health,omitempty"`
}

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// listTools: GET /v1/tools?server=S&limit=N&cursor=C
func (s *Server) listTools(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", fmt.Sprintf("limit: %q: must be an integer from 1 to %d", v, maxPageSize))
			return
		}
		limit = n
	}
	tools := s.o.Tools(r.Context(), q.Get("server"))
	start := 0
	if c := q.Get("cursor"); c != "" {
		after, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", "cursor: not a cursor returned by this API")
			return
		}
		// Tools are sorted by name: resume after the cursor's name, so pages
		// stay consistent when the catalog changes between requests.
		for start < len(tools) && tools[start].Name <= string(after) {
			start++
		}
	}
	end := min(start+limit, len(tools))
	page := make([]toolView, 0, end-start)
	for i := start; i < end; i++ {
		h := s.o.ToolHealth(tools[i].Name, tools[i].Server)
		page = append(page, toolView{Tool: *tools[i], Health: &h})
	}
	resp := map[string]any{"tools": page, "total": len(tools), "catalog_version": s.o.Snapshot().Version()}
	if end < len(tools) {
		resp["next_cursor"] = base64.RawURLEncoding.EncodeToString([]byte(tools[end-1].Name))
	}
	writeJSON(w, http.StatusOK, resp)
}

// getTool: GET /v1/tools/{name}
func (s *Server) getTool(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, err := s.o.Tool(r.Context(), name)
	if err != nil {
		writeProblemValue(w, r, Problem{Type: problemBase + "unknown_tool", Status: http.StatusNotFound, Code: "unknown_tool", Tool: name,
			Detail: clip.String(name) + ": no such tool in the catalog"})
		return
	}
	h := s.o.ToolHealth(t.Name, t.Server)
	writeJSON(w, http.StatusOK, toolView{Tool: *t, Signature: catalog.TypeScriptSignature(t), Health: &h})
}

// callTool: POST /v1/tools/{name}/call, body = the arguments object.
func (s *Server) callTool(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if len(body) > 0 {
		if msg := jsonSyntaxProblem(body); msg != "" {
			writeProblem(w, r, http.StatusBadRequest, "invalid_json", msg)
			return
		}
	}
	res, err := s.o.Call(r.Context(), name, body, weft.CallerREST)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// jsonSyntaxProblem returns "" for valid JSON, else a message with the
// line, column and byte offset of the error. (Invalid UTF-8 and numbers out
// of range were refused, with their position, before the handler ran: see
// jsonProblem.)
func jsonSyntaxProblem(b []byte) string {
	if json.Valid(b) {
		return ""
	}
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset is just past the offending byte.
		return fmt.Sprintf("body is not valid JSON at %s: %v", position(b, int(se.Offset)-1), err)
	}
	return "body is not valid JSON: " + err.Error()
}
