package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/agent"
)

// askRequest is the body of POST /v1/ask.
type askRequest struct {
	// Request is the request in natural language.
	Request string `json:"request"`
	// Strategy is plan or agent (default: ask.strategy).
	Strategy string `json:"strategy,omitempty"`
}

// ask: POST /v1/ask {"request", "strategy"} → 200 with the result (answer,
// plan and run, or tool calls; token usage per call and in all). A request
// that fails after it started answers with a problem whose "result" holds
// what was done so far. With Accept: text/event-stream the answer is a
// stream of server-sent events: the request's progress (candidates,
// model_call, plan, step, tool_call, answer), then "result" (the result)
// or "error" (the problem).
func (s *Server) ask(w http.ResponseWriter, r *http.Request) {
	var req askRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Request == "" {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", "request: required (the request in natural language)")
		return
	}
	if req.Strategy != "" && req.Strategy != agent.StrategyPlan && req.Strategy != agent.StrategyAgent {
		writeProblem(w, r, http.StatusBadRequest, "invalid_body", `strategy: must be "plan" or "agent"`)
		return
	}
	ask := weft.AskRequest{Text: req.Request, Strategy: req.Strategy}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.askStream(w, r, ask)
		return
	}
	res, err := s.o.Ask(r.Context(), ask)
	if err == nil {
		writeJSON(w, http.StatusOK, res)
		return
	}
	status, body := askProblem(r, res, err)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

// askStream answers POST /v1/ask with server-sent events.
func (s *Server) askStream(w http.ResponseWriter, r *http.Request, ask weft.AskRequest) {
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(typ string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		if fl != nil {
			fl.Flush()
		}
	}
	ask.OnEvent = func(e agent.Event) { send(e.Type, e) }
	res, err := s.o.Ask(r.Context(), ask)
	if err != nil {
		_, body := askProblem(r, res, err)
		send("error", body)
		return
	}
	send("result", res)
}

// askProblem is the problem answering a failed ask: its status and body,
// with the result so far.
func askProblem(r *http.Request, res *weft.AskResult, err error) (int, map[string]any) {
	status, code := askErrorStatus(err)
	if r.Context().Err() != nil {
		status, code = statusClientClosed, "canceled"
	}
	body := map[string]any{
		"type": problemBase + code, "title": http.StatusText(status), "status": status, "code": code,
		"detail": err.Error(), "instance": r.URL.Path, "result": res,
	}
	var pe *agent.PlanError
	if errors.As(err, &pe) {
		body["problems"] = pe.Problems
	}
	var be *agent.BudgetError
	if errors.As(err, &be) {
		body["budget"] = be.Budget
	}
	return status, body
}

// askErrorStatus maps an Ask error to an HTTP status and problem code.
func askErrorStatus(err error) (int, string) {
	var me *agent.ModelError
	switch {
	case errors.Is(err, weft.ErrNoModel):
		return http.StatusServiceUnavailable, "no_model"
	case errors.Is(err, agent.ErrBudget):
		return http.StatusUnprocessableEntity, "budget_exceeded"
	case errors.As(err, new(*agent.PlanError)):
		return http.StatusUnprocessableEntity, "invalid_plan"
	case errors.Is(err, agent.ErrContentFilter):
		return http.StatusUnprocessableEntity, "content_filter"
	case errors.Is(err, agent.ErrContextLength):
		return http.StatusUnprocessableEntity, "context_length"
	case errors.Is(err, agent.ErrRateLimited):
		return http.StatusServiceUnavailable, "model_rate_limited"
	case errors.As(err, &me):
		return http.StatusBadGateway, "model_error"
	}
	return http.StatusInternalServerError, "ask_failed"
}
