package plan

import (
	"time"

	"github.com/weft-dev/weft/engine"
)

// RunStatus is the state of a run.
type RunStatus string

// Run states. A run is running until every step reached a final state;
// interrupted marks a run whose process ended while it was running.
const (
	RunRunning     RunStatus = "running"
	RunSucceeded   RunStatus = "succeeded"
	RunFailed      RunStatus = "failed"
	RunCanceled    RunStatus = "canceled"
	RunInterrupted RunStatus = "interrupted"
)

// StepStatus is the state of a step (or of one element of a foreach step).
type StepStatus string

// Step states.
const (
	StepPending     StepStatus = "pending"
	StepRunning     StepStatus = "running"
	StepSucceeded   StepStatus = "succeeded"
	StepFailed      StepStatus = "failed"
	StepSkipped     StepStatus = "skipped"
	StepCanceled    StepStatus = "canceled"
	StepInterrupted StepStatus = "interrupted"
)

// Reasons a step was skipped or canceled (StepRecord.Reason).
const (
	ReasonCondition        = "condition false"
	ReasonDependencyFailed = "dependency failed"
	ReasonRunCanceled      = "run canceled"
)

// Error codes of StepError beyond the engine's (engine.Code values such
// as "timeout", "unavailable", "upstream_error", "overloaded",
// "invalid_arguments", "unknown_tool", "canceled").
const (
	CodeToolError     = "tool_error"      // the tool answered with isError
	CodeCodeError     = "code_error"      // a code step's program failed
	CodeReference     = "reference_error" // a reference could not be resolved at run time
	CodeCondition     = "condition_error" // a when condition failed to evaluate
	CodeInvalidInputs = "invalid_inputs"  // a nested plan's inputs violate its schema
	CodeStepFailed    = "step_failed"     // a nested plan had a failed step
	CodeNoRunner      = "no_code_runner"  // a code step ran without a CodeRunner
	CodeNoLLMRunner   = "no_llm_runner"   // an llm step ran without an LLMRunner
	CodeLLMError      = "llm_error"       // an llm step's model call failed or its answer was invalid
)

// errorCodes are the codes a retry policy may name.
var errorCodes = []string{
	string(engine.CodeTimeout), string(engine.CodeUnavailable), string(engine.CodeUpstream), string(engine.CodeOverloaded),
	string(engine.CodeInvalidArguments), string(engine.CodeUnknownTool),
	CodeToolError, CodeCodeError, CodeLLMError,
}

// StepError says why a step (or attempt) failed.
type StepError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error renders the error as "code: message".
func (e *StepError) Error() string { return e.Code + ": " + e.Message }

// asMap is the error as a reference or condition sees it.
func (e *StepError) asMap() map[string]any {
	if e == nil {
		return nil
	}
	return map[string]any{"code": e.Code, "message": e.Message}
}

// Attempt is one try of a step (or of a foreach element).
type Attempt struct {
	Number   int        `json:"number"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
	Error    *StepError `json:"error,omitempty"`
	// Backoff is the delay waited before this attempt (0 for the first).
	Backoff Duration `json:"backoff,omitempty"`
}

// StepRecord is what happened to one step.
type StepRecord struct {
	// ID is the step id; for a foreach element "<id>[i]".
	ID     string     `json:"id"`
	Kind   Kind       `json:"kind,omitempty"`
	Tool   string     `json:"tool,omitempty"`
	Status StepStatus `json:"status"`
	// Reason explains skipped and canceled steps ("condition false",
	// "dependency failed: fetch", "run canceled").
	Reason string `json:"reason,omitempty"`
	// Result is the step's value (see the package docs for what a tool
	// step's result is); for a foreach step, the list of element results
	// in order (null for skipped or failed elements).
	//
	// In a run record, Result is redacted, and a result over
	// Limits.MaxResultBytes (or past the record's MaxRecordBytes) is a
	// string preview of its JSON with Truncated set to its full size.
	Result any        `json:"result,omitempty"`
	Error  *StepError `json:"error,omitempty"`
	// Truncated is the size in bytes of the result when Result holds only
	// a preview of it.
	Truncated int `json:"truncated,omitempty"`
	// Started and Finished bound the step's execution (zero if it never started).
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Attempts []Attempt `json:"attempts,omitempty"`
	// Reused is "cache" when an idempotency key's stored result was used
	// and "in_flight" when an identical in-flight step's result was shared.
	Reused string `json:"reused,omitempty"`
	// Items are the records of a foreach step's elements.
	Items []*StepRecord `json:"items,omitempty"`
	// Steps are the records of a nested plan's steps.
	Steps []*StepRecord `json:"steps,omitempty"`

	outcome outcome // how dependants treat this step
	kept    sized   // what a record stores of Result
}

// Duration is Finished - Started (0 if the step did not finish).
func (r *StepRecord) Duration() time.Duration {
	if r.Started.IsZero() || r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// AttemptCount is the number of attempts made (summed over foreach elements).
func (r *StepRecord) AttemptCount() int {
	n := len(r.Attempts)
	for _, it := range r.Items {
		n += it.AttemptCount()
	}
	return n
}

type outcome int

const (
	outcomeOK      outcome = iota // succeeded, skipped by condition, or failed with continue_on_error
	outcomeBlocked                // failed, or skipped because a dependency failed
	outcomeCanceled
)

// Run is the record of one execution of a plan: every step's status,
// result or error, timing and attempts. Partial results are kept when
// steps fail.
type Run struct {
	ID string `json:"id"`
	// Owner is the client that started the run (engine.ClientFrom; "" for
	// the local operator). Only it (and the local operator) can see the run.
	Owner    string         `json:"owner,omitempty"`
	Name     string         `json:"name,omitempty"`
	Status   RunStatus      `json:"status"`
	Plan     *Plan          `json:"plan"`
	Inputs   map[string]any `json:"inputs,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished,omitzero"`
	Steps    []*StepRecord  `json:"steps"`
	// Outputs are the plan's outputs resolved after the run; an output
	// whose references could not be resolved is missing here and listed
	// in OutputErrors.
	Outputs      map[string]any    `json:"outputs,omitempty"`
	OutputErrors map[string]string `json:"output_errors,omitempty"`
	// TruncatedOutputs lists the outputs stored as a preview (their size
	// in bytes), like StepRecord.Truncated.
	TruncatedOutputs map[string]int `json:"truncated_outputs,omitempty"`
	// Error summarises why the run did not succeed.
	Error string `json:"error,omitempty"`

	recOutputs map[string]any // the outputs as the record shows them
}

// Step returns the record of the step with the given id.
func (r *Run) Step(id string) *StepRecord {
	for _, s := range r.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Duration is Finished - Started (0 while running).
func (r *Run) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// EventType names a progress event.
type EventType string

// Progress events, in the order they happen for a step.
const (
	EventRunStarted   EventType = "run_started"
	EventStepStarted  EventType = "step_started"
	EventStepRetry    EventType = "step_retry"
	EventStepFinished EventType = "step_finished"
	EventRunFinished  EventType = "run_finished"
)

// Event is one progress notification of a run.
type Event struct {
	Type  EventType `json:"type"`
	RunID string    `json:"run_id"`
	// Step is the step's path: "fetch", "fetch[3]" for a foreach element,
	// "outer/inner" inside a nested plan.
	Step string    `json:"step,omitempty"`
	Time time.Time `json:"time"`
	// Attempt is the attempt that failed (step_retry) or the number of attempts made (step_finished).
	Attempt int `json:"attempt,omitempty"`
	// Delay is the backoff before the next attempt (step_retry).
	Delay  Duration   `json:"delay,omitempty"`
	Status string     `json:"status,omitempty"`
	Reason string     `json:"reason,omitempty"`
	Error  *StepError `json:"error,omitempty"`
}
