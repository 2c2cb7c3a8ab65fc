package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// defaultForeachConcurrency bounds foreach elements when the step says nothing.
const defaultForeachConcurrency = 8

// exec runs one step whose dependencies allow it to run.
func (st *runState) exec(cs *cstep) {
	rec := st.recs[cs.index]
	now := time.Now() // the record's time and the event's
	st.mu.Lock()
	rec.Status, rec.Started = StepRunning, now
	st.mu.Unlock()
	st.emit(Event{Type: EventStepStarted, Step: cs.ID, Time: now})
	endSpan := st.traceStep(cs)

	var result any
	var serr *StepError
	skipped := false
	switch {
	case cs.when != nil && !(cs.Foreach != nil && cs.when.useItem):
		var ok bool
		ok, serr = st.evalWhen(cs, nil, 0)
		skipped = serr == nil && !ok
	}
	if serr == nil && !skipped {
		if cs.Foreach != nil {
			result, serr = st.foreach(cs, rec)
		} else {
			result, serr = st.once(cs, rec, st, cs.ID, "")
		}
	}
	// A foreach step's list repeats its elements' results: not counted twice.
	result, kept, serr := st.keep(result, serr, cs.Foreach == nil)

	now = time.Now()
	st.mu.Lock()
	rec.Finished, rec.Result, rec.Error = now, result, serr
	rec.kept = st.h.budget.store(kept)
	switch {
	case skipped:
		rec.Status, rec.Reason, rec.outcome = StepSkipped, ReasonCondition, outcomeOK
	case serr == nil:
		rec.Status, rec.outcome = StepSucceeded, outcomeOK
	case serr.Code == string(engine.CodeCanceled) && st.ctx.Err() != nil:
		rec.Status, rec.Reason, rec.outcome = StepCanceled, ReasonRunCanceled, outcomeCanceled
	default:
		rec.Status, rec.outcome = StepFailed, outcomeBlocked
		if cs.ContinueOnError {
			rec.outcome = outcomeOK
		}
	}
	ev := Event{Type: EventStepFinished, Step: cs.ID, Time: now, Status: string(rec.Status), Reason: rec.Reason, Error: serr, Attempt: rec.AttemptCount()}
	st.mu.Unlock()
	endSpan(ev.Status, serr)
	st.emit(ev)
}

// foreach runs a step once per element of its list, at most
// cs.Concurrency elements at a time, collecting results in order.
func (st *runState) foreach(cs *cstep, rec *StepRecord) (any, *StepError) {
	v, err := render(cs.Foreach, st)
	if err != nil {
		return nil, &StepError{Code: CodeReference, Message: "foreach: " + err.Error()}
	}
	list, ok := v.([]any)
	if !ok {
		return nil, &StepError{Code: CodeReference, Message: fmt.Sprintf("foreach: want a list, got %s", kindOf(v))}
	}
	if b := st.h.budget; !b.takeElements(len(list)) {
		return nil, &StepError{Code: CodeLimit, Message: fmt.Sprintf("foreach over %d elements: the run has run %d foreach elements already; a run may run at most %d (plans.max_foreach_items)",
			len(list), b.elements.Load(), b.limits.MaxForeachItems)}
	}
	items := make([]*StepRecord, len(list))
	for i := range list {
		items[i] = &StepRecord{ID: cs.ID + "[" + strconv.Itoa(i) + "]", Kind: cs.Kind(), Tool: cs.Tool, Status: StepPending}
	}
	st.mu.Lock()
	rec.Items = items
	st.mu.Unlock()

	conc := cs.Concurrency
	if conc <= 0 {
		conc = defaultForeachConcurrency
	}
	slots := make(chan struct{}, conc)
	results := make([]any, len(list))
	errs := make([]*StepError, len(list))
	var wg sync.WaitGroup
	for i, item := range list {
		select {
		case slots <- struct{}{}:
		case <-st.ctx.Done():
		}
		if st.ctx.Err() != nil {
			st.mu.Lock()
			for _, it := range items[i:] {
				it.Status, it.Reason = StepCanceled, ReasonRunCanceled
			}
			st.mu.Unlock()
			errs[i] = &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			results[i], errs[i] = st.element(cs, items[i], item, i)
		}()
	}
	wg.Wait()

	failed, first := 0, -1
	for i, e := range errs {
		if e != nil {
			failed++
			if first < 0 || errs[first].Code == string(engine.CodeCanceled) && e.Code != string(engine.CodeCanceled) {
				first = i
			}
		}
	}
	if failed == 0 {
		return results, nil
	}
	if st.ctx.Err() != nil {
		return results, &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
	}
	return results, &StepError{Code: errs[first].Code,
		Message: fmt.Sprintf("%d of %d elements failed; first: %s[%d]: %s", failed, len(list), cs.ID, first, errs[first].Message)}
}

// element runs one element of a foreach step.
func (st *runState) element(cs *cstep, rec *StepRecord, item any, i int) (any, *StepError) {
	scope := itemScope{runState: st, item: item, index: i}
	now := time.Now() // the record's time and the event's
	st.mu.Lock()
	rec.Status, rec.Started = StepRunning, now
	st.mu.Unlock()
	st.emit(Event{Type: EventStepStarted, Step: rec.ID, Time: now})
	var result any
	var serr *StepError
	skipped := false
	if cs.when != nil && cs.when.useItem {
		var ok bool
		ok, serr = st.evalWhen(cs, item, i)
		skipped = serr == nil && !ok
	}
	if serr == nil && !skipped {
		result, serr = st.once(cs, rec, scope, rec.ID, "["+strconv.Itoa(i)+"]")
	}
	result, kept, serr := st.keep(result, serr, true)
	now = time.Now()
	st.mu.Lock()
	rec.Finished, rec.Result, rec.Error = now, result, serr
	rec.kept = st.h.budget.store(kept)
	switch {
	case skipped:
		rec.Status, rec.Reason = StepSkipped, ReasonCondition
	case serr == nil:
		rec.Status = StepSucceeded
	case serr.Code == string(engine.CodeCanceled) && st.ctx.Err() != nil:
		rec.Status, rec.Reason = StepCanceled, ReasonRunCanceled
	default:
		rec.Status = StepFailed
	}
	ev := Event{Type: EventStepFinished, Step: rec.ID, Time: now, Status: string(rec.Status), Reason: rec.Reason, Error: serr, Attempt: len(rec.Attempts)}
	st.mu.Unlock()
	st.emit(ev)
	return result, serr
}

// once runs a step (or element) one time from the caller's point of view:
// reusing an idempotent result, joining an identical in-flight run, or
// invoking it with retries.
func (st *runState) once(cs *cstep, rec *StepRecord, res resolver, label, keySuffix string) (any, *StepError) {
	if cs.IdempotencyKey == "" {
		return st.invoke(cs, rec, res, label)
	}
	k, err := render(cs.IdempotencyKey, res)
	if err != nil {
		return nil, &StepError{Code: CodeReference, Message: "idempotency_key: " + err.Error()}
	}
	key := idempotencyKey(st.h.owner, interpolate(k)+keySuffix)
	cache := st.x.opts.Cache
	if raw, ok, err := cache.Get(st.ctx, key); err == nil && ok {
		if v, err := decodeValue(raw); err == nil {
			st.mu.Lock()
			rec.Reused = "cache"
			st.mu.Unlock()
			return v, nil
		}
	}
	var mine any
	raw, err, shared := st.x.flight.do(st.ctx, key, func() (json.RawMessage, error) {
		v, serr := st.invoke(cs, rec, res, label)
		if serr != nil {
			return nil, serr
		}
		mine = v
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &StepError{Code: CodeReference, Message: "result is not JSON: " + err.Error()}
		}
		_ = cache.Set(context.WithoutCancel(st.ctx), key, b, st.x.opts.IdempotencyTTL)
		return b, nil
	})
	if err != nil {
		var serr *StepError
		if errors.As(err, &serr) {
			return nil, serr
		}
		return nil, &StepError{Code: string(engine.CodeCanceled), Message: err.Error()}
	}
	if !shared {
		return mine, nil
	}
	st.mu.Lock()
	rec.Reused = "in_flight"
	st.mu.Unlock()
	v, derr := decodeValue(raw)
	if derr != nil {
		return nil, &StepError{Code: CodeReference, Message: derr.Error()}
	}
	return v, nil
}

// invoke renders the step's arguments and runs it, retrying per its policy.
func (st *runState) invoke(cs *cstep, rec *StepRecord, res resolver, label string) (any, *StepError) {
	var call func(ctx context.Context) (any, *StepError)
	switch cs.Kind() {
	case KindTool:
		raw, serr := renderArgs(cs, res)
		if serr != nil {
			return nil, serr
		}
		call = func(ctx context.Context) (any, *StepError) { return st.callTool(ctx, cs, raw) }
	case KindCode:
		in, err := render(map[string]any(cs.Inputs), res)
		if err != nil {
			return nil, &StepError{Code: CodeReference, Message: err.Error()}
		}
		call = func(ctx context.Context) (any, *StepError) { return st.runCode(ctx, cs, in.(map[string]any)) }
	case KindLLM:
		v, err := render(cs.LLM.Prompt, res)
		if err != nil {
			return nil, &StepError{Code: CodeReference, Message: err.Error()}
		}
		prompt, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			prompt = string(b)
		}
		call = func(ctx context.Context) (any, *StepError) { return st.runLLM(ctx, cs, prompt) }
	case KindPlan:
		in, err := render(map[string]any(cs.Inputs), res)
		if err != nil {
			return nil, &StepError{Code: CodeReference, Message: err.Error()}
		}
		inputs, _ := in.(map[string]any)
		return st.runNested(cs, rec, inputs, label)
	default:
		return nil, &StepError{Code: CodeReference, Message: "step has nothing to run"}
	}

	pol := cs.Retry
	attempts := 1
	if pol != nil && pol.Attempts > 1 {
		attempts = pol.Attempts
	}
	var delay time.Duration
	for n := 1; ; n++ {
		att := Attempt{Number: n, Started: time.Now(), Backoff: Duration(delay)}
		v, serr := st.limited(cs, call)
		att.Finished, att.Error = time.Now(), serr
		st.mu.Lock()
		rec.Attempts = append(rec.Attempts, att)
		st.mu.Unlock()
		if serr == nil {
			return v, nil
		}
		if n >= attempts || !retryable(pol, serr.Code) || st.ctx.Err() != nil {
			return nil, serr
		}
		delay = backoff(pol, n)
		st.emit(Event{Type: EventStepRetry, Step: label, Attempt: n, Delay: Duration(delay), Error: serr})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-st.ctx.Done():
			t.Stop()
			return nil, &StepError{Code: string(engine.CodeCanceled), Message: "run canceled during retry backoff"}
		}
	}
}

// renderArgs renders a tool step's arguments to the request's JSON: from
// the template compiled in compile, straight to bytes, or (when the
// arguments did not compile) through render and json.Marshal.
func renderArgs(cs *cstep, res resolver) (json.RawMessage, *StepError) {
	if cs.argsOK {
		raw, err := cs.args.render(make([]byte, 0, cs.args.size()), res)
		if err != nil {
			return nil, argsError(err)
		}
		return raw, nil
	}
	args, err := render(map[string]any(cs.Args), res)
	if err != nil {
		return nil, &StepError{Code: CodeReference, Message: err.Error()}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, argsError(err)
	}
	return raw, nil
}

// argsError is a failure to render arguments: a reference that does not
// resolve, or a value that is not JSON.
func argsError(err error) *StepError {
	var je *json.UnsupportedValueError
	var jt *json.UnsupportedTypeError
	if errors.As(err, &je) || errors.As(err, &jt) {
		return &StepError{Code: CodeReference, Message: "arguments are not JSON: " + err.Error()}
	}
	return &StepError{Code: CodeReference, Message: err.Error()}
}

// limited runs one attempt inside the run's concurrency bound and the step's timeout.
func (st *runState) limited(cs *cstep, call func(ctx context.Context) (any, *StepError)) (any, *StepError) {
	if err := st.sem.Acquire(st.ctx); err != nil {
		return nil, &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
	}
	defer st.sem.Release()
	ctx := st.stepCtx(cs)
	if t := cs.Timeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	v, serr := call(ctx)
	if serr != nil && st.ctx.Err() == nil && ctx.Err() == context.DeadlineExceeded && serr.Code != string(engine.CodeTimeout) {
		serr = &StepError{Code: string(engine.CodeTimeout), Message: fmt.Sprintf("no result within %s (%s)", cs.Timeout.D(), serr.Message)}
	}
	// Tool and program errors echo what they were given: records and
	// events keep them redacted.
	return v, redactError(st.h.red, serr)
}

func (st *runState) callTool(ctx context.Context, cs *cstep, args json.RawMessage) (any, *StepError) {
	if st.x.opts.Caller == nil {
		return nil, &StepError{Code: string(engine.CodeUnavailable), Message: "the executor has no Caller for tool steps"}
	}
	res, err := st.x.opts.Caller.CallWith(ctx, cs.Tool, args, engine.CallOptions{Caller: "plan", Timeout: cs.Timeout.D()})
	if err != nil {
		return nil, st.classify(ctx, err)
	}
	if res.IsError {
		msg := res.Text()
		if msg == "" {
			msg = "the tool reported an error"
		}
		return nil, &StepError{Code: CodeToolError, Message: msg}
	}
	return ResultValue(res), nil
}

func (st *runState) runCode(ctx context.Context, cs *cstep, inputs map[string]any) (any, *StepError) {
	if st.x.opts.Code == nil {
		return nil, &StepError{Code: CodeNoRunner, Message: "code steps need a CodeRunner; none is configured"}
	}
	raw, err := st.x.opts.Code.RunCode(ctx, cs.Code, inputs)
	if err != nil {
		var serr *StepError
		if errors.As(err, &serr) {
			return nil, serr
		}
		if ee, ok := engine.AsError(err); ok {
			return nil, &StepError{Code: string(ee.Code), Message: ee.Error()}
		}
		if st.ctx.Err() != nil {
			return nil, &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
		}
		if ctx.Err() != nil {
			return nil, &StepError{Code: string(engine.CodeTimeout), Message: err.Error()}
		}
		return nil, &StepError{Code: CodeCodeError, Message: err.Error()}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, &StepError{Code: CodeCodeError, Message: "program result is not JSON: " + err.Error()}
	}
	return v, nil
}

func (st *runState) runLLM(ctx context.Context, cs *cstep, prompt string) (any, *StepError) {
	if st.x.opts.LLM == nil {
		return nil, &StepError{Code: CodeNoLLMRunner, Message: "llm steps need an LLMRunner (a configured model); none is configured"}
	}
	raw, err := st.x.opts.LLM.RunLLM(ctx, cs.LLM.Model, prompt, cs.LLM.Output)
	if err != nil {
		switch {
		case st.ctx.Err() != nil:
			return nil, &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
		case ctx.Err() != nil:
			return nil, &StepError{Code: string(engine.CodeTimeout), Message: err.Error()}
		}
		return nil, &StepError{Code: CodeLLMError, Message: err.Error()}
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, &StepError{Code: CodeLLMError, Message: "the answer is not JSON: " + err.Error()}
	}
	return v, nil
}

func (st *runState) classify(ctx context.Context, err error) *StepError {
	if ee, ok := engine.AsError(err); ok {
		return &StepError{Code: string(ee.Code), Message: ee.Error()}
	}
	switch {
	case st.ctx.Err() != nil:
		return &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
	case ctx.Err() != nil:
		return &StepError{Code: string(engine.CodeTimeout), Message: err.Error()}
	}
	return &StepError{Code: string(engine.CodeUpstream), Message: err.Error()}
}

// runNested runs a nested plan; its outputs are the step's result.
func (st *runState) runNested(cs *cstep, rec *StepRecord, inputs map[string]any, label string) (any, *StepError) {
	in, probs := validateInputs(cs.sub, inputs, joinKey(cs.path, "inputs"))
	if len(probs) > 0 {
		return nil, &StepError{Code: CodeInvalidInputs, Message: (&ProblemsError{Problems: probs}).Error()}
	}
	if b := st.h.budget; !b.takeSteps(len(cs.sub.steps)) {
		return nil, &StepError{Code: CodeLimit, Message: fmt.Sprintf("nested plan of %d steps: the run has %d step records already; a run may have at most %d (plans.max_steps)",
			len(cs.sub.steps), b.steps.Load(), b.limits.MaxSteps)}
	}
	child := &runState{x: st.x, h: st.h, mu: st.mu, c: cs.sub, ctx: st.stepCtx(cs), inputs: in, sem: st.sem, onEvent: st.onEvent, prefix: st.prefix + label + "/"}
	recs := child.initRecords()
	st.mu.Lock()
	rec.Steps = recs
	st.mu.Unlock()
	child.execute()
	out, outErrs := child.outputs()
	var result any
	if out != nil {
		result = out
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, r := range recs {
		if r.Status == StepCanceled {
			return result, &StepError{Code: string(engine.CodeCanceled), Message: "run canceled"}
		}
		if r.Status == StepFailed && !cs.sub.steps[i].ContinueOnError {
			return result, &StepError{Code: CodeStepFailed, Message: fmt.Sprintf("nested step %q failed: %s", r.ID, r.Error.Message)}
		}
	}
	if len(outErrs) > 0 {
		names := sortedKeys(outErrs)
		return result, &StepError{Code: CodeReference, Message: fmt.Sprintf("output %q: %s", names[0], outErrs[names[0]])}
	}
	return result, nil
}

// evalWhen evaluates a step's condition within the step's timeout (and the
// run's cancellation) and the condition cost limit.
func (st *runState) evalWhen(cs *cstep, item any, i int) (bool, *StepError) {
	ctx := st.ctx
	if t := cs.Timeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	b := st.h.budget
	if spent := b.cel.Load(); spent >= b.limits.MaxRunConditionCost {
		return false, &StepError{Code: CodeLimit, Message: fmt.Sprintf("when %q: the run's conditions have cost %d already; a run's conditions may cost at most %d in all (plans.max_run_condition_cost)",
			cs.When, spent, b.limits.MaxRunConditionCost)}
	}
	ok, err := cs.when.eval(ctx, st.conditionVars(cs.when, item, i), &b.cel)
	if err != nil {
		var ce *conditionError
		if errors.As(err, &ce) {
			return false, redactError(st.h.red, &StepError{Code: ce.code, Message: ce.msg})
		}
		return false, redactError(st.h.red, &StepError{Code: CodeCondition, Message: err.Error()})
	}
	return ok, nil
}

// keep measures a finished step's (or element's) result against the run's
// limits and prepares what its record stores: the redacted result and its
// size. A result that takes the run past MaxRunBytes fails the step; count
// is false for results that only repeat others' (a foreach step's list).
func (st *runState) keep(result any, serr *StepError, count bool) (any, sized, *StepError) {
	if result == nil {
		return nil, sized{}, redactError(st.h.red, serr)
	}
	raw, lerr := st.h.budget.measure(result, count)
	if lerr != nil {
		return nil, sized{}, lerr
	}
	return result, st.h.budget.prepare(st.h.red, result, raw), redactError(st.h.red, serr)
}

// idempotencyKey scopes an idempotency key to the run's owner: one
// client's key never reuses or shares another's result.
func idempotencyKey(owner, key string) string {
	return "plan:idem:" + strconv.Itoa(len(owner)) + ":" + owner + ":" + key
}

// ResultValue is what a tool step's result is: the structuredContent if
// present; else the text content parsed as JSON if it parses; else the
// text itself; a result with no text blocks (only images, resources) is
// the list of its content blocks.
func ResultValue(res *source.Result) any {
	if len(bytes.TrimSpace(res.StructuredContent)) > 0 {
		if v, err := decodeValue(res.StructuredContent); err == nil {
			return v
		}
	}
	text := res.Text()
	if text == "" && len(res.Content) > 0 {
		blocks := make([]any, 0, len(res.Content))
		for _, c := range res.Content {
			if v, err := decodeValue(c); err == nil {
				blocks = append(blocks, v)
			}
		}
		return blocks
	}
	if v, err := decodeValue([]byte(text)); err == nil {
		return v
	}
	return text
}

// decodeValue decodes exactly one JSON value with numbers as json.Number.
func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func retryable(p *Retry, code string) bool {
	on := DefaultRetryOn
	if p != nil && len(p.On) > 0 {
		on = p.On
	}
	return slices.Contains(on, code)
}

// backoff is the delay after attempt n (1-based): Backoff × Multiplier^(n-1),
// capped at MaxBackoff, then randomised by ±Jitter.
func backoff(p *Retry, n int) time.Duration {
	base, mult, maxD, jitter := 200*time.Millisecond, 2.0, 10*time.Second, 0.2
	if p != nil {
		if p.Backoff > 0 {
			base = p.Backoff.D()
		}
		if p.Multiplier >= 1 {
			mult = p.Multiplier
		}
		if p.MaxBackoff > 0 {
			maxD = p.MaxBackoff.D()
		}
		if p.Jitter != nil {
			jitter = *p.Jitter
		}
	}
	d := float64(base) * math.Pow(mult, float64(n-1))
	d = math.Min(d, float64(maxD))
	if jitter > 0 {
		d *= 1 + jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}
