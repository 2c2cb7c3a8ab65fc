package sandbox

import (
	"encoding/json"
	"time"
)

// Language is the language of a program.
type Language string

// Languages a program can be written in.
const (
	TypeScript Language = "ts"
	JavaScript Language = "js"
)

// Request is one program to run.
type Request struct {
	// Code is the body of an async function: top-level await and return work.
	Code string `json:"code"`
	// Language is "ts" (the default) or "js".
	Language Language `json:"language,omitempty"`
	// Limits override the sandbox defaults for this run; zero fields keep
	// the default and every field is capped at the sandbox maximum.
	Limits Limits `json:"limits,omitzero"`
	// AllowedTools, when not empty, narrows the caller's policy to these
	// catalog names: it is added to ctx as one more engine.Policy, so tools
	// outside it do not exist for the run (not in tools, unknown to callTool
	// and the engine, not found by searchTools). The caller's own policy
	// (engine.WithPolicy on ctx) always applies; prefer setting that.
	AllowedTools []string `json:"allowed_tools,omitempty"`
	// Inputs, when set (a JSON value), is bound to the program's read-only
	// global constant `inputs` (plan code steps pass their bound inputs).
	Inputs json.RawMessage `json:"inputs,omitempty"`
}

// Limits bound one run. A zero field means "use the default" in a Request
// and "no cap beyond the built-in one" in Options.Max.
type Limits struct {
	// Timeout is the wall-clock limit of the run (default 30s).
	Timeout time.Duration `json:"-"`
	// MemoryBytes is the VM's memory limit (default 64 MiB).
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// MaxCalls is the number of tool calls (and searches) a run may start (default 100).
	MaxCalls int `json:"max_calls,omitempty"`
	// MaxConcurrentCalls bounds the tool calls of one run in flight at once (default 10).
	MaxConcurrentCalls int `json:"max_concurrent_calls,omitempty"`
	// MaxConsoleBytes bounds the console output of a run (default 64 KiB).
	MaxConsoleBytes int `json:"max_console_bytes,omitempty"`
	// MaxResultBytes bounds the JSON encoding of the run's result (default 1 MiB).
	MaxResultBytes int `json:"max_result_bytes,omitempty"`
	// MaxArgumentBytes bounds the JSON encoding of one tool call's
	// arguments (default 1 MiB); larger arguments are never copied out of
	// the VM and the call fails with code arguments_too_large.
	MaxArgumentBytes int `json:"max_argument_bytes,omitempty"`
}

// MarshalJSON encodes the timeout as "timeout_ms".
func (l Limits) MarshalJSON() ([]byte, error) {
	type plain Limits
	return json.Marshal(struct {
		TimeoutMS int64 `json:"timeout_ms,omitempty"`
		plain
	}{l.Timeout.Milliseconds(), plain(l)})
}

// UnmarshalJSON decodes the timeout from "timeout_ms".
func (l *Limits) UnmarshalJSON(b []byte) error {
	type plain Limits
	var v struct {
		TimeoutMS int64 `json:"timeout_ms"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Limits(v.plain)
	l.Timeout = time.Duration(v.TimeoutMS) * time.Millisecond
	return nil
}

// DefaultLimits are the limits of a run that asks for nothing else.
var DefaultLimits = Limits{
	Timeout:            30 * time.Second,
	MemoryBytes:        64 << 20,
	MaxCalls:           100,
	MaxConcurrentCalls: 10,
	MaxConsoleBytes:    64 << 10,
	MaxResultBytes:     1 << 20,
	MaxArgumentBytes:   1 << 20,
}

// MaxLimits are the built-in maxima a request can ask for when Options.Max
// leaves a field zero.
var MaxLimits = Limits{
	Timeout:            5 * time.Minute,
	MemoryBytes:        512 << 20,
	MaxCalls:           1000,
	MaxConcurrentCalls: 64,
	MaxConsoleBytes:    1 << 20,
	MaxResultBytes:     16 << 20,
	MaxArgumentBytes:   16 << 20,
}

// resolve returns req with zero fields taken from def and every field capped at max.
func (req Limits) resolve(def, max Limits) Limits {
	pick := func(r, d, m int64) int64 {
		if r <= 0 {
			r = d
		}
		if m > 0 && r > m {
			r = m
		}
		return r
	}
	return Limits{
		Timeout:            time.Duration(pick(int64(req.Timeout), int64(def.Timeout), int64(max.Timeout))),
		MemoryBytes:        pick(req.MemoryBytes, def.MemoryBytes, max.MemoryBytes),
		MaxCalls:           int(pick(int64(req.MaxCalls), int64(def.MaxCalls), int64(max.MaxCalls))),
		MaxConcurrentCalls: int(pick(int64(req.MaxConcurrentCalls), int64(def.MaxConcurrentCalls), int64(max.MaxConcurrentCalls))),
		MaxConsoleBytes:    int(pick(int64(req.MaxConsoleBytes), int64(def.MaxConsoleBytes), int64(max.MaxConsoleBytes))),
		MaxResultBytes:     int(pick(int64(req.MaxResultBytes), int64(def.MaxResultBytes), int64(max.MaxResultBytes))),
		MaxArgumentBytes:   int(pick(int64(req.MaxArgumentBytes), int64(def.MaxArgumentBytes), int64(max.MaxArgumentBytes))),
	}
}

// RunResult is the outcome of a run: the program's result or the error that
// ended it, plus everything it did on the way. Its JSON form is the body of
// the REST answer to POST /v1/code.
type RunResult struct {
	// Result is the JSON encoding of the value the program returned (null
	// for undefined); empty when the run failed.
	Result json.RawMessage `json:"result"`
	// Console holds the captured console output, in order.
	Console []ConsoleLine `json:"console"`
	// Calls is the call log: every tool call the program started, in start order.
	Calls []CallRecord `json:"calls"`
	// Error says why the run failed; nil on success.
	Error *RunError `json:"error"`
	// Duration is the wall-clock time of the run (encoded as "duration_ms").
	Duration time.Duration `json:"-"`
}

// MarshalJSON adds "duration_ms".
func (r RunResult) MarshalJSON() ([]byte, error) {
	type plain RunResult
	if r.Console == nil {
		r.Console = []ConsoleLine{}
	}
	if r.Calls == nil {
		r.Calls = []CallRecord{}
	}
	if r.Result == nil {
		r.Result = json.RawMessage("null")
	}
	return json.Marshal(struct {
		plain
		DurationMS float64 `json:"duration_ms"`
	}{plain(r), ms(r.Duration)})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Kinds of RunError.
const (
	KindSyntax       = "syntax"        // the program does not parse
	KindSourceLimit  = "source_limit"  // the program is too large or nests too deeply to parse safely
	KindRuntime      = "runtime"       // an uncaught exception (including a ToolError)
	KindTimeout      = "timeout"       // the wall-clock limit passed
	KindCanceled     = "canceled"      // the caller's context was canceled
	KindMemory       = "memory"        // the VM's memory limit was reached
	KindCallLimit    = "call_limit"    // more tool calls than MaxCalls
	KindConsoleLimit = "console_limit" // more console output than MaxConsoleBytes
	KindResultLimit  = "result_limit"  // a result larger than MaxResultBytes
	KindResult       = "result"        // the result is not JSON-serializable
	KindNeverSettled = "never_settled" // the program awaits something that can never happen
	KindInternal     = "internal"      // the sandbox itself failed
)

// RunError says why a run failed.
type RunError struct {
	// Kind classifies the failure (see the Kind constants).
	Kind string `json:"kind"`
	// Message is a human-readable explanation; for a limit it names the limit and its value.
	Message string `json:"message"`
	// Line and Column locate the error in the original source (1-based), when known.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Tool and Code are set when an uncaught ToolError ended the run.
	Tool string `json:"tool,omitempty"`
	Code string `json:"code,omitempty"`
	// Stack is the JavaScript stack trace of a runtime error, if any.
	Stack string `json:"stack,omitempty"`
}

func (e *RunError) Error() string { return e.Kind + ": " + e.Message }

// ConsoleLine is one console.log/info/warn/error call.
type ConsoleLine struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// Outcomes of a call.
const (
	OutcomeOK        = "ok"
	OutcomeToolError = "tool_error" // the tool ran and reported isError
	OutcomeError     = "error"      // no result (see Code)
)

// CallRecord is one entry of a run's call log.
type CallRecord struct {
	// Tool is the catalog name ("searchTools" for a search).
	Tool string `json:"tool"`
	// Arguments are the call's arguments with secret-looking values
	// redacted, cut to 4 KiB (then a JSON string: "[N bytes, truncated] "
	// and the start of the redacted text).
	Arguments json.RawMessage `json:"arguments"`
	// Start is when the call started, relative to the start of the run
	// (encoded as "start_ms"); Duration how long it took ("duration_ms").
	Start    time.Duration `json:"-"`
	Duration time.Duration `json:"-"`
	Outcome  string        `json:"outcome"`
	// Code is the error code of a failed call (an engine code, "tool_error", "forbidden", ...).
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// ResultBytes is the size of the tool's result.
	ResultBytes int `json:"result_bytes"`
}

// MarshalJSON adds "start_ms" and "duration_ms".
func (c CallRecord) MarshalJSON() ([]byte, error) {
	type plain CallRecord
	return json.Marshal(struct {
		plain
		StartMS    float64 `json:"start_ms"`
		DurationMS float64 `json:"duration_ms"`
	}{plain(c), ms(c.Start), ms(c.Duration)})
}
