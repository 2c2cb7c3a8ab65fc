package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weft-dev/weft/limit"
)

// runState schedules the steps of one (possibly nested) plan within a run.
// A step is launched the moment its last dependency finished.
type runState struct {
	x       *Executor
	h       *Handle
	mu      *sync.Mutex // the handle's: guards records
	c       *compiled
	ctx     context.Context
	inputs  map[string]any
	sem     *limit.Semaphore // bounds tool calls and code runs of the whole run
	onEvent func(Event)
	prefix  string // "outer/" inside a nested plan

	recs      []*StepRecord // by step index
	remaining []int         // unfinished dependencies, by step index
	wg        sync.WaitGroup

	celOnce   sync.Once
	celInputs any // the inputs as conditions see them, converted once

	stepCtxs []context.Context // with tracing: each step's span context, by index (trace.go)
}

func (st *runState) initRecords() []*StepRecord {
	st.recs = make([]*StepRecord, len(st.c.steps))
	st.remaining = make([]int, len(st.c.steps))
	all := make([]StepRecord, len(st.c.steps)) // one allocation for every record
	for i, cs := range st.c.steps {
		all[i] = StepRecord{ID: cs.ID, Kind: cs.Kind(), Tool: cs.Tool, Status: StepPending}
		st.recs[i] = &all[i]
		st.remaining[i] = len(cs.deps)
	}
	return st.recs
}

// execute runs every step and returns when all reached a final state.
func (st *runState) execute() {
	for _, cs := range st.c.steps {
		if len(cs.deps) == 0 {
			st.launch(cs)
		}
	}
	st.wg.Wait()
}

func (st *runState) launch(cs *cstep) {
	st.wg.Add(1)
	launchStep(stepJob{st: st, cs: cs})
}

func (st *runState) runStep(cs *cstep) {
	defer st.wg.Done()
	blockedBy, canceled := "", false
	st.mu.Lock()
	for _, d := range cs.deps {
		switch st.recs[d.index].outcome {
		case outcomeBlocked:
			if blockedBy == "" {
				blockedBy = d.ID
			}
		case outcomeCanceled:
			canceled = true
		}
	}
	st.mu.Unlock()
	switch {
	case canceled || st.ctx.Err() != nil:
		st.settle(cs, StepCanceled, ReasonRunCanceled, outcomeCanceled)
	case blockedBy != "":
		st.settle(cs, StepSkipped, ReasonDependencyFailed+": "+blockedBy, outcomeBlocked)
	default:
		st.exec(cs)
	}
	st.finished(cs)
}

// settle gives a step that does not run its final state.
func (st *runState) settle(cs *cstep, status StepStatus, reason string, o outcome) {
	st.mu.Lock()
	rec := st.recs[cs.index]
	rec.Status, rec.Reason, rec.outcome = status, reason, o
	st.mu.Unlock()
	st.emit(Event{Type: EventStepFinished, Step: cs.ID, Status: string(status), Reason: reason})
}

// finished launches the dependants whose last dependency this was.
func (st *runState) finished(cs *cstep) {
	var buf [8]*cstep
	ready := buf[:0]
	st.mu.Lock()
	for _, d := range cs.dependants {
		st.remaining[d.index]--
		if st.remaining[d.index] == 0 {
			ready = append(ready, d)
		}
	}
	st.mu.Unlock()
	for _, d := range ready {
		st.launch(d)
	}
}

// emit records and publishes an event. It must not be called with st.mu held.
func (st *runState) emit(e Event) {
	e.RunID = st.h.id
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Step != "" {
		e.Step = st.prefix + e.Step
	}
	st.mu.Lock()
	st.h.events = append(st.h.events, e)
	if st.h.waited {
		close(st.h.notify)
		st.h.notify = make(chan struct{})
		st.h.waited = false
	}
	st.mu.Unlock()
	if st.onEvent != nil {
		st.onEvent(e)
	}
}

// finishRun sets the run's final status and outputs.
func (st *runState) finishRun() {
	outputs, outErrs := st.outputs()
	recOut, truncated := st.recordOutputs(outputs)
	st.mu.Lock()
	defer st.mu.Unlock()
	run := st.h.run
	run.Outputs, run.OutputErrors = outputs, outErrs
	run.recOutputs, run.TruncatedOutputs = recOut, truncated
	run.Finished = time.Now()
	var failed []string
	canceled := st.ctx.Err() != nil
	for i, rec := range st.recs {
		switch {
		case rec.Status == StepFailed && !st.c.steps[i].ContinueOnError:
			failed = append(failed, rec.ID)
		case rec.Status == StepCanceled:
			canceled = true
		}
	}
	switch {
	case canceled && st.h.interrupted.Load():
		run.Status, run.Error = RunInterrupted, "weft shut down before the run finished"
	case canceled:
		run.Status, run.Error = RunCanceled, "run canceled"
		if len(failed) > 0 {
			run.Error += "; failed: " + strings.Join(failed, ", ")
		}
	case len(failed) > 0:
		run.Status = RunFailed
		run.Error = fmt.Sprintf("%d step(s) failed: %s", len(failed), strings.Join(failed, ", "))
	default:
		run.Status = RunSucceeded
	}
}

// outputs resolves the plan's outputs after every step finished.
func (st *runState) outputs() (map[string]any, map[string]string) {
	if len(st.c.outputs) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(st.c.outputs))
	var errs map[string]string
	for name, v := range st.c.outputs {
		r, err := render(v, st)
		if err != nil {
			if errs == nil {
				errs = map[string]string{}
			}
			errs[name] = err.Error()
			continue
		}
		out[name] = r
	}
	return out, errs
}

// recordOutputs is what the record shows of the outputs: redacted, and an
// output over MaxResultBytes as a preview (listed with its size).
func (st *runState) recordOutputs(outputs map[string]any) (map[string]any, map[string]int) {
	if outputs == nil {
		return nil, nil
	}
	b := st.h.budget
	rec := make(map[string]any, len(outputs))
	var truncated map[string]int
	for _, name := range sortedKeys(outputs) {
		v := outputs[name]
		raw, err := json.Marshal(v)
		if err != nil {
			continue
		}
		k := b.prepare(st.h.red, v, raw)
		if !k.cut {
			rec[name] = k.stored
			continue
		}
		rec[name] = k.stored
		if truncated == nil {
			truncated = map[string]int{}
		}
		truncated[name] = k.size
	}
	return rec, truncated
}

// lookup implements resolver over the run's records and inputs.
func (st *runState) lookup(r *ref) (any, error) {
	switch r.root {
	case rootSteps:
		d, ok := st.c.byID[r.step]
		if !ok {
			return nil, fmt.Errorf("{{%s}}: no step %q", r.raw, r.step)
		}
		return stepField(st.recs[d.index], r.field), nil
	case rootInputs:
		return st.inputs, nil
	}
	return nil, fmt.Errorf("{{%s}}: item and index only exist in foreach steps", r.raw)
}

// statusValues are the step statuses as the values a reference yields,
// boxed once (a string in an interface is an allocation per use).
var statusValues = func() map[StepStatus]any {
	m := map[StepStatus]any{}
	for _, s := range []StepStatus{StepPending, StepRunning, StepSucceeded, StepFailed, StepSkipped, StepCanceled, StepInterrupted} {
		m[s] = string(s)
	}
	return m
}()

// stepField is what steps.<id>.<field> yields.
func stepField(rec *StepRecord, field string) any {
	switch field {
	case "result":
		return rec.Result
	case "error":
		return rec.Error.asMap()
	case "status":
		if v, ok := statusValues[rec.Status]; ok {
			return v
		}
		return string(rec.Status)
	case "attempts":
		return json.Number(strconv.Itoa(rec.AttemptCount()))
	}
	return nil
}

// itemScope resolves item and index for one element of a foreach step.
type itemScope struct {
	*runState
	item  any
	index int
}

func (s itemScope) lookup(r *ref) (any, error) {
	switch r.root {
	case rootItem:
		return s.item, nil
	case rootIndex:
		return json.Number(strconv.Itoa(s.index)), nil
	}
	return s.runState.lookup(r)
}

// conditionVars builds the CEL variables for a step's condition: only the
// steps it reads (all finished), the inputs, and item/index.
func (st *runState) conditionVars(cond *condition, item any, index int) map[string]any {
	steps := make(map[string]any, len(cond.steps))
	for _, id := range cond.steps {
		d, ok := st.c.byID[id]
		if !ok {
			continue
		}
		rec := st.recs[d.index]
		steps[id] = map[string]any{
			"result":   toCEL(rec.Result),
			"error":    rec.Error.asMap(),
			"status":   string(rec.Status),
			"attempts": int64(rec.AttemptCount()),
		}
	}
	st.celOnce.Do(func() { st.celInputs = toCEL(st.inputs) })
	return map[string]any{"steps": steps, "inputs": st.celInputs, "item": toCEL(item), "index": int64(index)}
}
