package engine

import "time"

// Outcome is the result class of one call.
type Outcome string

// Outcomes.
const (
	OutcomeOK        Outcome = "ok"
	OutcomeToolError Outcome = "tool_error" // the tool answered with isError
	OutcomeError     Outcome = "error"      // see Event.Code
)

// Event describes one finished call. Analytics and tracing consume it.
type Event struct {
	// Tool is the catalog name of the tool called; empty when the name the
	// caller sent matched no tool it may see (the name is the caller's
	// input, so it never reaches metrics or per-tool totals).
	Tool     string
	Server   string
	Caller   string // who asked: "rest", "cli", "mcp", "sandbox", "plan", ...
	Start    time.Time
	Duration time.Duration
	Outcome  Outcome
	Code     Code // set when Outcome is OutcomeError
	// Bytes is the size of the arguments plus the result.
	Bytes int
}

// Recorder receives an event per call. Record must be fast and must not
// block: implementations buffer or aggregate.
type Recorder interface {
	Record(Event)
}
