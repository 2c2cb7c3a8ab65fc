package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/internal/clip"
	"github.com/weft-dev/weft/plan"
)

// validatePlan: POST /v1/plans/validate, body = a plan document →
// {"valid": bool, "problems": [...]}. A document that does not parse is a
// 400 with the same problem list.
func (s *Server) validatePlan(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	p, ok := s.parsePlan(w, r, body)
	if !ok {
		return
	}
	probs := s.o.CheckPlan(r.Context(), p)
	if probs == nil {
		probs = []plan.Problem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": len(probs) == 0, "problems": probs, "format": p.Format})
}

func (s *Server) parsePlan(w http.ResponseWriter, r *http.Request, doc []byte) (*plan.Plan, bool) {
	p, err := s.o.ParsePlan(doc)
	if err != nil {
		var pe *plan.ProblemsError
		if errors.As(err, &pe) {
			writeProblemList(w, r, "invalid_plan", pe.Error(), pe.Problems)
			return nil, false
		}
		writeProblem(w, r, http.StatusBadRequest, "invalid_plan", err.Error())
		return nil, false
	}
	return p, true
}

func writeProblemList(w http.ResponseWriter, r *http.Request, code, detail string, probs []plan.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": problemBase + code, "title": "Bad Request", "status": 400, "code": code,
		"detail": detail, "instance": r.URL.Path, "problems": probs,
	})
}

// runRequest is the body of POST /v1/runs.
type runRequest struct {
	Plan   json.RawMessage `json:"plan"`
	Inputs map[string]any  `json:"inputs,omitempty"`
	// MaxConcurrency lowers the run's concurrency bound.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
}

// startRun: POST /v1/runs[?wait=true]. With wait the answer is the finished
// run (200); without, 202 {"id", "status", "links"} and the run continues
// in the background.
func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	var req runRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Plan) == 0 {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "plan: required (the plan document)")
		return
	}
	p, ok := s.parsePlan(w, r, req.Plan)
	if !ok {
		return
	}
	wait := r.URL.Query().Get("wait") == "true"
	h, err := s.o.StartPlan(r.Context(), p, req.Inputs, plan.RunOptions{MaxConcurrency: req.MaxConcurrency})
	if err != nil {
		var pe *plan.ProblemsError
		if errors.As(err, &pe) {
			writeProblemList(w, r, "invalid_plan", pe.Error(), pe.Problems)
			return
		}
		s.writeError(w, r, err)
		return
	}
	if !wait {
		writeJSON(w, http.StatusAccepted, map[string]any{"id": h.ID(), "status": plan.RunRunning, "links": runLinks(h.ID())})
		return
	}
	run, err := h.Wait(r.Context())
	if err != nil && run == nil {
		// The client went away: the run goes on; report where to find it.
		writeProblem(w, r, 499, "canceled", fmt.Sprintf("stopped waiting; run %s continues", h.ID()))
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func runLinks(id string) map[string]string {
	return map[string]string{"self": "/v1/runs/" + id, "events": "/v1/runs/" + id + "/events", "cancel": "/v1/runs/" + id + "/cancel"}
}

// getRun: GET /v1/runs/{id}
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.o.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, plan.ErrNotFound) {
			writeProblem(w, r, http.StatusNotFound, "unknown_run", fmt.Sprintf("no run %q", r.PathValue("id")))
			return
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// listRuns: GET /v1/runs?limit=N&status=S&before=RFC3339
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var o plan.ListOptions
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", fmt.Sprintf("limit: %q: must be an integer from 1 to %d", v, maxPageSize))
			return
		}
		o.Limit = n
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, "invalid_query", fmt.Sprintf("before: %q: not an RFC 3339 time", v))
			return
		}
		o.Before = t
	}
	o.Status = plan.RunStatus(q.Get("status"))
	if o.Status != "" && !slices.Contains(runStatuses, o.Status) {
		writeProblem(w, r, http.StatusBadRequest, "invalid_query", fmt.Sprintf("status: %q: not a run status (allowed: %s)", clip.String(string(o.Status)), joinStatuses(runStatuses)))
		return
	}
	runs, err := s.o.ListRuns(r.Context(), o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if runs == nil {
		runs = []plan.RunSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// cancelRun: POST /v1/runs/{id}/cancel. Another client's run is a 404,
// exactly like a run that does not exist.
func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.o.CancelRun(r.Context(), id)
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": "canceling"})
	case errors.Is(err, plan.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "unknown_run", fmt.Sprintf("no run %q", id))
	case errors.Is(err, weft.ErrRunFinished):
		writeProblem(w, r, http.StatusConflict, "run_finished", fmt.Sprintf("run %q is not running", id))
	default:
		s.writeError(w, r, err)
	}
}

// runEvents: GET /v1/runs/{id}/events — server-sent events: every event so
// far, then live ones, until run_finished. A finished run's stream is one
// run_finished event with the final status. Another client's run is a 404.
// With a shared run store, a run another replica runs is followed as well
// (Orchestrator.FollowRun).
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	events, err := s.o.FollowRun(r.Context(), id)
	if errors.Is(err, plan.ErrNotFound) {
		writeProblem(w, r, http.StatusNotFound, "unknown_run", fmt.Sprintf("no run %q", id))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(e plan.Event) {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
		if fl != nil {
			fl.Flush()
		}
	}
	for e := range events {
		send(e)
	}
}

// runStatuses are the values GET /v1/runs?status= accepts.
var runStatuses = []plan.RunStatus{plan.RunRunning, plan.RunSucceeded, plan.RunFailed, plan.RunCanceled, plan.RunInterrupted}

func joinStatuses(ss []plan.RunStatus) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}
