package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weft-dev/weft/plan"
)

// Strategies.
const (
	StrategyPlan  = "plan"
	StrategyAgent = "agent"
)

// ToolInfo is a tool as the model is shown it.
type ToolInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Signature is the compact TypeScript signature
	// ("name(args: {...}): Promise<...>").
	Signature string `json:"signature,omitempty"`
}

// Tools is what the strategies do with tools. The facade implements it
// bound to the caller's context: every method sees and calls only what
// the caller's policy allows.
type Tools interface {
	// Candidates returns the tools for a request: every tool the caller
	// sees when they are at most max, else the best max of a search.
	Candidates(ctx context.Context, request string, max int) (tools []ToolInfo, all bool, err error)
	// Search returns the k best tools for a query.
	Search(ctx context.Context, query string, k int) ([]ToolInfo, error)
	// Describe returns TypeScript declarations of the named tools.
	Describe(ctx context.Context, names []string) (string, error)
	// Call calls a tool and returns its result as JSON.
	Call(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error)
	// RunCode runs a code-mode program and returns its result as JSON
	// (a failed program is an error).
	RunCode(ctx context.Context, code string) (json.RawMessage, error)
	// CheckPlan validates a plan against the caller's catalog.
	CheckPlan(ctx context.Context, p *plan.Plan) []plan.Problem
	// RunPlan runs a plan through the executor and returns its record;
	// onEvent (may be nil) receives the run's progress events.
	RunPlan(ctx context.Context, p *plan.Plan, onEvent func(plan.Event)) (*plan.Run, error)
}

// Budget bounds one request. Zero fields are unbounded.
type Budget struct {
	MaxTurns     int
	MaxTokens    int64
	MaxToolCalls int
	Deadline     time.Duration
}

// Runner answers requests with a model and tools.
type Runner struct {
	// Model plans, drives the agent loop and writes answers.
	Model Model
	// Tools are the caller's tools.
	Tools Tools
	// Budget bounds each request.
	Budget Budget
	// RepairRounds is how often an invalid plan goes back to the model.
	RepairRounds int
	// CandidateTools is how many tools the plan strategy offers the model.
	CandidateTools int
	// OnEvent, when set, receives the request's progress events, one at a
	// time; it must be quick.
	OnEvent func(Event)
}

// Request is one request in natural language.
type Request struct {
	Text     string
	Strategy string
}

// CallRecord is one model call of a request.
type CallRecord struct {
	// Purpose is plan, repair, synthesis or agent.
	Purpose string `json:"purpose"`
	Usage   Usage  `json:"usage"`
	// FinishReason is the model's (stop, tool_calls, ...).
	FinishReason string `json:"finish_reason,omitempty"`
}

// ToolUse is one meta-tool call of the agent strategy.
type ToolUse struct {
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// Error is set when the call failed (the model was told why).
	Error string `json:"error,omitempty"`
}

// Result is what a request produced — also when it failed: then it holds
// what was done until the failure.
type Result struct {
	Strategy string `json:"strategy"`
	// Answer is the model's answer ("" when the request failed first).
	Answer string `json:"answer"`
	// Candidates are the tools offered to the planner (plan strategy);
	// AllTools says they are every tool the caller sees.
	Candidates []string `json:"candidates,omitempty"`
	AllTools   bool     `json:"all_tools,omitempty"`
	// Plan is the last plan the model wrote; Repairs the repair rounds made;
	// Problems the problems of the last invalid plan.
	Plan     *plan.Plan     `json:"plan,omitempty"`
	Repairs  int            `json:"repairs,omitempty"`
	Problems []plan.Problem `json:"problems,omitempty"`
	// Run is the record of the plan's run (stored with the generated plan).
	Run *plan.Run `json:"run,omitempty"`
	// ToolCalls are the agent strategy's meta-tool calls, in order.
	ToolCalls []ToolUse `json:"tool_calls,omitempty"`
	// Calls are the model calls; Usage their sum.
	Calls []CallRecord `json:"calls"`
	Usage Usage        `json:"usage"`
	// Turns is the number of model calls.
	Turns int `json:"turns"`
}

// Ask answers req. The error is a *BudgetError, a *PlanError, a
// *ModelError (errors.Is ErrContentFilter, ErrContextLength, ...) or a
// tool-side error; the Result is never nil and holds what was done.
func (r *Runner) Ask(ctx context.Context, req Request) (*Result, error) {
	strategy := req.Strategy
	if strategy == "" {
		strategy = StrategyPlan
	}
	res := &Result{Strategy: strategy, Calls: []CallRecord{}}
	if r.Model == nil || r.Tools == nil {
		return res, errors.New("ask: no model configured (set models.planner in weft.yaml, or PLANNER_PROVIDER and PLANNER_MODEL)")
	}
	if req.Text == "" {
		return res, errors.New("ask: the request is empty")
	}
	if r.Budget.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, r.Budget.Deadline, &BudgetError{Budget: BudgetDeadline, Limit: int64(r.Budget.Deadline)})
		defer cancel()
	}
	m := &meter{r: r, res: res, ev: &emitter{fn: r.OnEvent}}
	ctx = context.WithValue(ctx, meterKey{}, m)
	var err error
	switch strategy {
	case StrategyPlan:
		err = r.plan(ctx, m, req.Text)
	case StrategyAgent:
		err = r.agent(ctx, m, req.Text)
	default:
		return res, fmt.Errorf("ask: strategy %q is not one of plan, agent", strategy)
	}
	if err != nil && ctx.Err() != nil {
		var be *BudgetError
		if cause := context.Cause(ctx); errors.As(cause, &be) {
			err = be
		}
	}
	return res, err
}

// meter counts a request's model turns, tokens and tool calls against the
// budget and records every call in the result.
type meter struct {
	r   *Runner
	res *Result
	ev  *emitter
	mu  sync.Mutex
}

// chat makes one model call if the budget allows it.
func (m *meter) chat(ctx context.Context, purpose string, req ChatRequest) (*ChatResponse, error) {
	return m.call(ctx, purpose, req, false)
}

// answer is chat for a call whose text is the request's answer: when
// someone watches (Runner.OnEvent) and the model streams, the answer's
// pieces are sent as answer_delta events as they arrive.
func (m *meter) answer(ctx context.Context, purpose string, req ChatRequest) (*ChatResponse, error) {
	return m.call(ctx, purpose, req, true)
}

func (m *meter) call(ctx context.Context, purpose string, req ChatRequest, stream bool) (*ChatResponse, error) {
	b := m.r.Budget
	m.mu.Lock()
	turns, used := m.res.Turns, m.res.Usage.Total()
	if b.MaxTurns > 0 && turns >= b.MaxTurns {
		m.mu.Unlock()
		return nil, &BudgetError{Budget: BudgetTurns, Limit: int64(b.MaxTurns), Used: int64(turns)}
	}
	if b.MaxTokens > 0 && used >= b.MaxTokens {
		m.mu.Unlock()
		return nil, &BudgetError{Budget: BudgetTokens, Limit: b.MaxTokens, Used: used}
	}
	m.res.Turns++
	m.mu.Unlock()
	var resp *ChatResponse
	var err error
	if s, ok := m.r.Model.(Streamer); ok && stream && m.r.OnEvent != nil {
		resp, err = s.ChatStream(ctx, req, func(d string) { m.ev.emit(Event{Type: EventAnswerDelta, Answer: d}) })
	} else {
		resp, err = m.r.Model.Chat(ctx, req)
	}
	ev := Event{Type: EventModelCall, Model: m.r.Model.Name(), Purpose: purpose}
	m.mu.Lock()
	if resp != nil {
		m.res.Calls = append(m.res.Calls, CallRecord{Purpose: purpose, Usage: resp.Usage, FinishReason: resp.FinishReason})
		m.res.Usage = m.res.Usage.Add(resp.Usage)
		ev.Usage, ev.FinishReason = &resp.Usage, resp.FinishReason
	}
	total := m.res.Usage.Total()
	m.mu.Unlock()
	if err != nil {
		ev.Error = err.Error()
	}
	m.ev.emit(ev)
	if err != nil {
		return resp, err
	}
	if b.MaxTokens > 0 && total > b.MaxTokens {
		return resp, &BudgetError{Budget: BudgetTokens, Limit: b.MaxTokens, Used: total}
	}
	return resp, nil
}

// meterKey carries a request's meter on the context, so that model calls
// made for it elsewhere (llm steps of its plan) count against its budget.
type meterKey struct{}

// RecordUsage counts a model call made for the request on ctx outside the
// strategy's own calls — an llm step of its plan — in the request's
// result, budget and events. It reports false when ctx carries no
// request (a plan run outside ask).
func RecordUsage(ctx context.Context, model, purpose string, u Usage, err error) bool {
	m, ok := ctx.Value(meterKey{}).(*meter)
	if !ok {
		return false
	}
	m.mu.Lock()
	m.res.Turns++
	m.res.Calls = append(m.res.Calls, CallRecord{Purpose: purpose, Usage: u})
	m.res.Usage = m.res.Usage.Add(u)
	m.mu.Unlock()
	ev := Event{Type: EventModelCall, Model: model, Purpose: purpose, Usage: &u}
	if err != nil {
		ev.Error = err.Error()
	}
	m.ev.emit(ev)
	return true
}

// toolCalls reserves n tool calls, or fails with the budget.
func (m *meter) toolCalls(n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.r.Budget
	if b.MaxToolCalls > 0 && len(m.res.ToolCalls)+n > b.MaxToolCalls {
		return &BudgetError{Budget: BudgetToolCalls, Limit: int64(b.MaxToolCalls), Used: int64(len(m.res.ToolCalls))}
	}
	return nil
}
