package plan

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Plan is a parsed plan: a set of steps forming a DAG, the inputs it takes
// and the outputs it produces. A Plan is immutable once parsed; the executor
// never modifies it.
type Plan struct {
	// Version of the format; "1" (the default).
	Version string `json:"version,omitempty"`
	// Name and Description are free text for people and records.
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Inputs is the JSON Schema of the inputs object supplied at run time
	// (normally {"type":"object","properties":{...},"required":[...]}).
	// Empty means the plan takes no inputs.
	Inputs json.RawMessage `json:"inputs,omitempty"`
	// Steps in document order. IDs are unique.
	Steps []*Step `json:"steps"`
	// Outputs maps output names to values that may hold references; they
	// are resolved after every step finished.
	Outputs map[string]any `json:"outputs,omitempty"`
	// MaxConcurrency bounds concurrent tool calls and code runs of this
	// plan (0: the executor's default).
	MaxConcurrency int `json:"max_concurrency,omitempty"`

	// RequestID is the legacy format's top-level request_id, kept as data.
	RequestID string `json:"request_id,omitempty"`
	// FinalSynthesis is the legacy format's final_synthesis, kept verbatim
	// for the agent to use; the executor does not interpret it.
	FinalSynthesis json.RawMessage `json:"final_synthesis,omitempty"`
	// Format is the format the plan was parsed from.
	Format Format `json:"-"`

	src *document // the document the plan came from, for line:col; nil if built in Go
}

// Format names a plan document format.
type Format string

// Formats Parse detects.
const (
	FormatWeft   Format = "weft"
	FormatLegacy Format = "legacy"
)

// Kind is what a step runs.
type Kind string

// Step kinds: exactly one of Tool, Code, Plan or LLM is set on a step.
const (
	KindTool Kind = "tool"
	KindCode Kind = "code"
	KindPlan Kind = "plan"
	KindLLM  Kind = "llm"
)

// LLMStep is a model call as a step: a prompt template (references are
// resolved like a tool's arguments; a reference to a non-string value is
// inserted as JSON), answered by a named model, optionally as JSON valid
// for an output schema.
type LLMStep struct {
	// Prompt is the prompt template.
	Prompt string `json:"prompt"`
	// Model names a configured model (default: the executor's LLM runner
	// decides; weft uses "worker", else the planner).
	Model string `json:"model,omitempty"`
	// Output, when set, is the JSON Schema the answer must satisfy; the
	// step's result is then the parsed JSON, else the answer's text.
	Output json.RawMessage `json:"output,omitempty"`
}

// Step is one node of the DAG.
type Step struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`

	// Tool is a catalog tool name; Args its arguments (a JSON object whose
	// values may hold references).
	Tool string         `json:"tool,omitempty"`
	Args map[string]any `json:"args,omitempty"`
	// Code is a code-mode program; Inputs binds its inputs (for a nested
	// Plan: the nested plan's inputs) from literal values and references.
	Code   string         `json:"code,omitempty"`
	Inputs map[string]any `json:"inputs,omitempty"`
	// Plan is a nested plan whose outputs become this step's result.
	Plan *Plan `json:"plan,omitempty"`
	// LLM is a model call (see LLMStep).
	LLM *LLMStep `json:"llm,omitempty"`

	// DependsOn lists steps that must finish first, in addition to the
	// ones implied by references.
	DependsOn []string `json:"depends_on,omitempty"`
	// When is a CEL condition over steps, inputs and item; false skips the step.
	When string `json:"when,omitempty"`
	// Foreach is a list (normally a single reference such as
	// "{{steps.list.result.items}}"); the step runs once per element, with
	// the element as {{item}} and its position as {{index}}.
	Foreach any `json:"foreach,omitempty"`
	// Concurrency bounds the concurrent elements of a foreach step (0: 8).
	Concurrency int `json:"concurrency,omitempty"`

	Retry *Retry `json:"retry,omitempty"`
	// Timeout bounds each attempt (0: the engine's tool timeout).
	Timeout Duration `json:"timeout,omitempty"`
	// IdempotencyKey (may hold references) names the step's effect: a
	// successful result stored under the key is reused instead of running
	// the step again, and concurrent steps with the same key run once.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// ContinueOnError lets dependants run when this step fails; they see
	// the failure as steps.<id>.error and a null result.
	ContinueOnError bool `json:"continue_on_error,omitempty"`
}

// Kind reports what the step runs ("" if none or several are set, which
// Parse rejects).
func (s *Step) Kind() Kind {
	n, k := 0, Kind("")
	if s.Tool != "" {
		n, k = n+1, KindTool
	}
	if s.Code != "" {
		n, k = n+1, KindCode
	}
	if s.Plan != nil {
		n, k = n+1, KindPlan
	}
	if s.LLM != nil {
		n, k = n+1, KindLLM
	}
	if n != 1 {
		return ""
	}
	return k
}

// Retry says how a failed attempt is retried.
type Retry struct {
	// Attempts is the total number of attempts including the first (>= 1).
	Attempts int `json:"attempts"`
	// Backoff is the delay before the second attempt (default 200ms); each
	// further delay is multiplied by Multiplier (default 2), capped at
	// MaxBackoff (default 10s), and randomised by ±Jitter (a fraction,
	// default 0.2).
	Backoff    Duration `json:"backoff,omitempty"`
	MaxBackoff Duration `json:"max_backoff,omitempty"`
	Multiplier float64  `json:"multiplier,omitempty"`
	Jitter     *float64 `json:"jitter,omitempty"`
	// On lists the error codes that are retried (default: timeout,
	// unavailable, upstream_error, overloaded). Other codes: tool_error (the
	// tool answered with isError), code_error, invalid_arguments, ...
	On []string `json:"on,omitempty"`
}

// DefaultRetryOn are the error codes retried when Retry.On is empty.
var DefaultRetryOn = []string{"timeout", "unavailable", "upstream_error", "overloaded"}

// Duration is a time.Duration written in JSON as a Go duration string
// ("1.5s", "200ms") or a number of seconds.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string ("1.5s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "1.5s" or 1.5 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	out, err := durationOf(v)
	if err != nil {
		return err
	}
	*d = out
	return nil
}

func durationOf(v any) (Duration, error) {
	switch x := v.(type) {
	case string:
		t, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil || t < 0 {
			return 0, fmt.Errorf("want a duration such as \"500ms\" or \"2s\" (or a number of seconds), got %q", x)
		}
		return Duration(t), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("want a non-negative number of seconds, got %s", x)
		}
		return Duration(f * float64(time.Second)), nil
	case float64:
		if x < 0 {
			return 0, fmt.Errorf("want a non-negative number of seconds, got %v", x)
		}
		return Duration(x * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("want a duration string or a number of seconds, got %s", kindOf(v))
}

// kindOf names the JSON type of a decoded value.
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "integer"
		}
		return "number"
	case float64, float32:
		return "number"
	case int, int64, int32:
		return "integer"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
