package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/weft-dev/weft/plan"
)

// Errors a model call is mapped to (test with errors.Is).
var (
	// ErrContentFilter: the provider's content filter refused the prompt
	// or the completion.
	ErrContentFilter = errors.New("the provider's content filter blocked the request")
	// ErrContextLength: the prompt does not fit the model's context window.
	ErrContextLength = errors.New("the prompt exceeds the model's context length")
	// ErrRateLimited: the provider still answered 429 after the retries.
	ErrRateLimited = errors.New("the provider is rate limiting (429) after every retry")
	// ErrAuth: the provider refused the credential (401, 403).
	ErrAuth = errors.New("the provider refused the credential")
	// ErrBudget is wrapped by every *BudgetError.
	ErrBudget = errors.New("request budget exceeded")
)

// ModelError is a failed model call. It never holds a key, a token or the
// request body.
type ModelError struct {
	// Model names the model ("planner") and Deployment the provider's
	// model or deployment.
	Model, Deployment string
	// Status is the HTTP status (0 when no response arrived).
	Status int
	// Code is the provider's error code (content_filter, context_length_exceeded, ...).
	Code string
	// Message is the provider's message.
	Message string
	// Kind is one of the sentinel errors above, or nil.
	Kind error
	// Err is the underlying error when no HTTP response arrived.
	Err error
}

// Error renders "model planner (gpt-4o): 400 content_filter: message".
func (e *ModelError) Error() string {
	s := fmt.Sprintf("model %s (%s)", e.Model, e.Deployment)
	if e.Kind != nil {
		s += ": " + e.Kind.Error()
	}
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the underlying error.
func (e *ModelError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Budgets a BudgetError names.
const (
	BudgetTurns     = "max_turns"
	BudgetTokens    = "max_tokens"
	BudgetToolCalls = "max_tool_calls"
	BudgetDeadline  = "deadline"
)

// BudgetError ends a request that exceeded one of its budgets. The
// request's result still holds what was done until then.
type BudgetError struct {
	// Budget is max_turns, max_tokens, max_tool_calls or deadline.
	Budget string
	// Limit is the budget's value (turns, tokens, calls; for the deadline, nanoseconds).
	Limit int64
	// Used is how much was used when the request stopped.
	Used int64
}

// Error names the budget, its limit and what was used.
func (e *BudgetError) Error() string {
	if e.Budget == BudgetDeadline {
		return fmt.Sprintf("ask: budget %s (%s) exceeded; the result holds what was done so far", e.Budget, time.Duration(e.Limit))
	}
	return fmt.Sprintf("ask: budget %s (%d) exceeded: %d used; the result holds what was done so far", e.Budget, e.Limit, e.Used)
}

// Unwrap returns ErrBudget.
func (e *BudgetError) Unwrap() error { return ErrBudget }

// PlanError ends a plan request whose plan still had problems after the
// last repair round.
type PlanError struct {
	// Rounds is the number of repair rounds made.
	Rounds int
	// Problems are the last plan's problems.
	Problems []plan.Problem
}

// Error lists the problems.
func (e *PlanError) Error() string {
	s := fmt.Sprintf("ask: the model's plan is still invalid after %d repair round(s): %d problem(s)", e.Rounds, len(e.Problems))
	for _, p := range e.Problems {
		s += "\n  " + p.String()
	}
	return s
}
