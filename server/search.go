package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/search"
)

// searchTools: GET /v1/search?q=...&k=10&server=a,b&tag=t&read_only=true&schema=true&signature=true
func (s *Server) searchTools(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := search.Query{
		Text:          v.Get("q"),
		Servers:       splitList(v["server"]),
		Tags:          splitList(v["tag"]),
		Allow:         splitList(v["allow"]),
		Deny:          splitList(v["deny"]),
		WithSchema:    v.Get("schema") == "true",
		WithSignature: v.Get("signature") != "false",
	}
	if k := v.Get("k"); k != "" {
		n, err := strconv.Atoi(k)
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", fmt.Sprintf("k: %q: must be an integer from 1 to %d", k, search.MaxK))
			return
		}
		q.K = n
	}
	if ro := v.Get("read_only"); ro != "" {
		b, err := strconv.ParseBool(ro)
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", fmt.Sprintf("read_only: %q: must be true or false", ro))
			return
		}
		q.ReadOnly = b
	}
	resp, err := s.o.Search(r.Context(), q)
	if err != nil {
		var qe *search.QueryError
		if errors.As(err, &qe) {
			field := qe.Field
			if field == "text" {
				field = "q"
			}
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", field+": "+qe.Reason)
			return
		}
		s.writeError(w, r, err)
		return
	}
	body := map[string]any{"query": q.Text, "results": resp.Results, "catalog_version": s.o.Snapshot().Version()}
	if resp.Degraded != "" {
		body["degraded"] = resp.Degraded // e.g. "semantic search unavailable: …": lexical results
	}
	writeJSON(w, http.StatusOK, body)
}

// splitList accepts both repeated parameters and comma-separated values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
