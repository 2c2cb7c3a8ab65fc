package analytics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/weft-dev/weft/engine"
)

// RunObserver receives the end of plan runs, plan steps and code-mode
// (sandbox) runs. Label values are bounded: statuses and outcomes come
// from fixed sets (plan statuses, sandbox error kinds). Methods must not
// block.
type RunObserver interface {
	// PlanRun is one finished plan run and its status.
	PlanRun(status string, d time.Duration)
	// PlanStep is one finished plan step and its status.
	PlanStep(status string, d time.Duration)
	// SandboxRun is one finished program: outcome is "ok" or its error kind.
	SandboxRun(outcome string, d time.Duration)
}

// Observers sends each run to every observer.
type Observers []RunObserver

// PlanRun implements RunObserver.
func (os Observers) PlanRun(status string, d time.Duration) {
	for _, o := range os {
		o.PlanRun(status, d)
	}
}

// PlanStep implements RunObserver.
func (os Observers) PlanStep(status string, d time.Duration) {
	for _, o := range os {
		o.PlanStep(status, d)
	}
}

// SandboxRun implements RunObserver.
func (os Observers) SandboxRun(outcome string, d time.Duration) {
	for _, o := range os {
		o.SandboxRun(outcome, d)
	}
}

// sandboxLimits are the sandbox error kinds that are limits (sandbox.Kind*).
var sandboxLimits = map[string]bool{
	"timeout": true, "memory": true, "call_limit": true, "console_limit": true, "result_limit": true, "source_limit": true,
}

// IsLimit reports whether a sandbox outcome is a limit hit.
func IsLimit(outcome string) bool { return sandboxLimits[outcome] }

// Tee sends each event to every recorder.
type Tee []engine.Recorder

// Record implements engine.Recorder.
func (t Tee) Record(e engine.Event) {
	for _, r := range t {
		r.Record(e)
	}
}

// boundedTools hands out tool label values: catalog names while fewer
// than MaxToolLabels tools are labelled, then OtherTools; UnknownTool for
// a call that matched no tool.
type boundedTools struct {
	seen  sync.Map // catalog name -> struct{}: tools labelled so far
	count atomic.Int64
}

func (b *boundedTools) label(name string) string {
	if name == "" {
		return UnknownTool
	}
	if _, ok := b.seen.Load(name); ok {
		return name
	}
	if b.count.Add(1) > MaxToolLabels {
		b.count.Add(-1)
		return OtherTools
	}
	if _, dup := b.seen.LoadOrStore(name, struct{}{}); dup {
		b.count.Add(-1)
	}
	return name
}
