package plan

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"unicode/utf8"

	"github.com/weft-dev/weft/internal/redact"
)

// Limits bound what one run may take: they hold for every client, and the
// operator sets them (config plans:). Whatever can be known from the plan
// document is reported by Check as a problem before anything runs; the
// rest fails the step that crosses a limit, with code limit_exceeded. A
// zero field takes its default.
type Limits struct {
	// MaxSteps bounds the steps of a plan, nested plans included, and the
	// step records of a run (a nested plan inside a foreach adds its steps
	// once per element). Default 1,000.
	MaxSteps int
	// MaxDepth bounds how deeply plans nest. Default 8.
	MaxDepth int
	// MaxForeachItems bounds the foreach elements of a run, over all of its
	// foreach steps. Default 10,000.
	MaxForeachItems int
	// MaxResultBytes bounds one step's (or element's, or output's) result
	// as stored in the run record: a larger result is kept whole for the
	// steps that reference it, but the record holds a preview and the
	// result's size (StepRecord.Truncated). Default 1 MiB.
	MaxResultBytes int
	// MaxRecordBytes bounds the results a run record stores in all: once
	// they add up to it, further results are stored as previews. Default 8 MiB.
	MaxRecordBytes int
	// MaxRunBytes bounds the results a run holds in memory (JSON bytes, over
	// every step, element and nested step); a step whose result would go
	// past it fails. Default 64 MiB.
	MaxRunBytes int64
	// MaxConditionCost bounds the evaluation cost of one when condition (CEL
	// cost units, about one per element visited or operation); an
	// expression that would cost more fails the step. Default 100,000.
	MaxConditionCost uint64
	// MaxRunConditionCost bounds the cost of every condition evaluation of
	// a run together (a per-element condition of a foreach step is
	// evaluated once per element); once spent, a step whose condition
	// would be evaluated fails. Default 10,000,000.
	MaxRunConditionCost uint64
}

// Defaults of Limits.
const (
	DefaultMaxSteps         = 1000
	DefaultMaxDepth         = 8
	DefaultMaxForeachItems  = 10000
	DefaultMaxResultBytes   = 1 << 20
	DefaultMaxRecordBytes   = 8 << 20
	DefaultMaxRunBytes      = 64 << 20
	DefaultMaxConditionCost = 100_000
	// DefaultMaxRunConditionCost is a hundred expensive conditions.
	DefaultMaxRunConditionCost = 10_000_000
)

// CodeLimit is the StepError code of a step that crossed a plan limit.
const CodeLimit = "limit_exceeded"

// ProblemLimit is the Problem code of a plan that exceeds a limit.
const ProblemLimit = "limit_exceeded"

// previewBytes is how much of a truncated result a record keeps.
const previewBytes = 1024

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxForeachItems <= 0 {
		l.MaxForeachItems = DefaultMaxForeachItems
	}
	if l.MaxResultBytes <= 0 {
		l.MaxResultBytes = DefaultMaxResultBytes
	}
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if l.MaxRunBytes <= 0 {
		l.MaxRunBytes = DefaultMaxRunBytes
	}
	if l.MaxConditionCost == 0 {
		l.MaxConditionCost = DefaultMaxConditionCost
	}
	if l.MaxRunConditionCost == 0 {
		l.MaxRunConditionCost = DefaultMaxRunConditionCost
	}
	return l
}

// check reports what of c exceeds the limits before it runs: the number of
// steps, nesting, literal foreach lists, and conditions whose cost is
// known statically (they read no list of unknown size) and over the limit.
func (l Limits) check(c *compiled) []Problem {
	var probs []Problem
	steps, items := 0, 0
	deepest, deepPath := 0, ""
	var walk func(c *compiled, depth int)
	walk = func(c *compiled, depth int) {
		steps += len(c.steps)
		if depth > deepest {
			deepest, deepPath = depth, c.path
		}
		for _, cs := range c.steps {
			if list, ok := cs.Foreach.([]any); ok {
				items += len(list)
			}
			if cs.when != nil {
				if cost, ok := cs.when.staticCost(); ok && cost > l.MaxConditionCost {
					probs = append(probs, Problem{Path: joinKey(cs.path, "when"), Code: ProblemLimit,
						Message: fmt.Sprintf("the condition may cost up to %d to evaluate; the limit is %d (plans.max_condition_cost)", cost, l.MaxConditionCost)})
				}
			}
			if cs.sub != nil {
				walk(cs.sub, depth+1)
			}
		}
	}
	walk(c, 1)
	if steps > l.MaxSteps {
		probs = append(probs, Problem{Path: "steps", Code: ProblemLimit,
			Message: fmt.Sprintf("the plan has %d steps (nested plans included); the limit is %d (plans.max_steps)", steps, l.MaxSteps)})
	}
	if deepest > l.MaxDepth {
		probs = append(probs, Problem{Path: deepPath, Code: ProblemLimit,
			Message: fmt.Sprintf("plans nest %d deep here; the limit is %d (plans.max_depth)", deepest, l.MaxDepth)})
	}
	if items > l.MaxForeachItems {
		probs = append(probs, Problem{Path: "steps", Code: ProblemLimit,
			Message: fmt.Sprintf("the plan's foreach lists have %d elements in all; a run may run at most %d (plans.max_foreach_items)", items, l.MaxForeachItems)})
	}
	return probs
}

// budget is what a run has used of its limits so far.
type budget struct {
	limits   Limits
	steps    atomic.Int64  // step records created
	elements atomic.Int64  // foreach elements started
	bytes    atomic.Int64  // result bytes held
	cel      atomic.Uint64 // condition cost spent
	stored   int64         // result bytes stored in the record (guarded by the handle's mutex)
}

// takeSteps counts n more step records; false if that goes past MaxSteps.
func (b *budget) takeSteps(n int) bool {
	if b.steps.Add(int64(n)) > int64(b.limits.MaxSteps) {
		b.steps.Add(-int64(n))
		return false
	}
	return true
}

// takeElements counts n more foreach elements; false if that goes past
// MaxForeachItems.
func (b *budget) takeElements(n int) bool {
	if b.elements.Add(int64(n)) > int64(b.limits.MaxForeachItems) {
		b.elements.Add(-int64(n))
		return false
	}
	return true
}

// sized is what a record stores of a result, with the result's JSON size.
type sized struct {
	size   int
	stored any  // the redacted result, or a preview of it
	cut    bool // stored is a preview
}

// measure encodes v once to learn its size. It fails when v takes the run
// past MaxRunBytes; count says whether the bytes count against it (a
// foreach step's list only repeats its elements' results).
func (b *budget) measure(v any, count bool) ([]byte, *StepError) {
	if v == nil {
		return nil, nil
	}
	raw, err := appendJSON(nil, v) // json.Marshal's bytes, fewer allocations
	if err != nil {
		return nil, &StepError{Code: CodeReference, Message: "result is not JSON: " + err.Error()}
	}
	n := len(raw)
	if count {
		if total := b.bytes.Add(int64(n)); total > b.limits.MaxRunBytes {
			b.bytes.Add(-int64(n))
			return raw, &StepError{Code: CodeLimit, Message: fmt.Sprintf("the result is %d bytes; with it the run would hold %d bytes of results, over the limit of %d (plans.max_run_bytes)", n, total, b.limits.MaxRunBytes)}
		}
	}
	return raw, nil
}

// prepare is what a record may keep of a result whose JSON is raw: the
// redacted value, or — over MaxResultBytes — only a redacted preview (the
// rest is never redacted or stored).
func (b *budget) prepare(red *redact.Redactor, v any, raw []byte) sized {
	if v == nil {
		return sized{}
	}
	if len(raw) > b.limits.MaxResultBytes {
		return sized{size: len(raw), stored: preview(red, raw), cut: true}
	}
	if red.CleanValue(v, nil) {
		return sized{size: len(raw), stored: v} // nothing to redact: shared, records only read it
	}
	return sized{size: len(raw), stored: red.Value(v, nil)}
}

// preview is the start of a result's JSON, redacted, marked as cut.
func preview(red *redact.Redactor, raw []byte) string {
	p := raw
	if len(p) > previewBytes {
		p = p[:previewBytes]
		for len(p) > 0 && !utf8.Valid(p) {
			p = p[:len(p)-1]
		}
	}
	return red.Text(string(p)) + "…"
}

// store decides how a record keeps a prepared result: as prepared, or, past
// the record's MaxRecordBytes, as a preview. The caller holds the handle's
// mutex.
func (b *budget) store(k sized) sized {
	if k.stored == nil || k.cut {
		if k.cut {
			b.stored += previewBytes
		}
		return k
	}
	if b.stored+int64(k.size) <= int64(b.limits.MaxRecordBytes) {
		b.stored += int64(k.size)
		return k
	}
	raw, _ := json.Marshal(k.stored)
	b.stored += previewBytes
	return sized{size: k.size, stored: preview(nil, raw), cut: true}
}
