package engine

import (
	"sync"
	"time"
)

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

// MemoryRecorder keeps the most recent events in a ring and per-tool totals.
// Totals are kept for at most MaxTotals tools (catalog names: events carry
// no caller-chosen names); calls of further tools are totalled under
// OtherTools, calls that matched no tool under "". It is safe for
// concurrent use.
type MemoryRecorder struct {
	mu     sync.Mutex
	ring   []Event
	next   int
	full   bool
	totals map[string]*ToolStats
}

// MaxTotals bounds the per-tool totals a MemoryRecorder keeps.
const MaxTotals = 10000

// OtherTools is the key of the totals of tools beyond MaxTotals.
const OtherTools = "(other)"

// ToolStats aggregates the calls of one tool.
type ToolStats struct {
	Calls      int64         `json:"calls"`
	Failures   int64         `json:"failures"`
	TotalTime  time.Duration `json:"total_time"`
	TotalBytes int64         `json:"total_bytes"`
}

// NewMemoryRecorder keeps the last n events (n <= 0: 1024).
func NewMemoryRecorder(n int) *MemoryRecorder {
	if n <= 0 {
		n = 1024
	}
	return &MemoryRecorder{ring: make([]Event, n), totals: map[string]*ToolStats{}}
}

// Record implements Recorder.
func (m *MemoryRecorder) Record(e Event) {
	m.mu.Lock()
	m.ring[m.next] = e
	m.next++
	if m.next == len(m.ring) {
		m.next, m.full = 0, true
	}
	s := m.totals[e.Tool]
	if s == nil {
		key := e.Tool
		if len(m.totals) >= MaxTotals {
			key = OtherTools
		}
		if s = m.totals[key]; s == nil {
			s = &ToolStats{}
			m.totals[key] = s
		}
	}
	s.Calls++
	if e.Outcome != OutcomeOK {
		s.Failures++
	}
	s.TotalTime += e.Duration
	s.TotalBytes += int64(e.Bytes)
	m.mu.Unlock()
}

// Events returns the retained events, oldest first.
func (m *MemoryRecorder) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	if m.full {
		out = append(out, m.ring[m.next:]...)
	}
	return append(out, m.ring[:m.next]...)
}

// Stats returns a copy of the per-tool totals.
func (m *MemoryRecorder) Stats() map[string]ToolStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]ToolStats, len(m.totals))
	for k, v := range m.totals {
		out[k] = *v
	}
	return out
}
