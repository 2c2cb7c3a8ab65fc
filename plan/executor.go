package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/redact"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/limit"
	"github.com/weft-dev/weft/source"
)

// Caller calls a tool by its catalog name. *engine.Engine satisfies it;
// every tool step goes through it (the one call path).
type Caller interface {
	CallWith(ctx context.Context, name string, args json.RawMessage, o engine.CallOptions) (*source.Result, error)
}

// CodeRunner runs a code-mode program with the given inputs and returns
// its result as JSON. The facade adapts the sandbox to it.
type CodeRunner interface {
	RunCode(ctx context.Context, code string, inputs map[string]any) (json.RawMessage, error)
}

// LLMRunner answers llm steps: prompt (references resolved) to the named
// model ("" : the runner's default), as JSON valid for output when it is
// set. The facade adapts weft's configured models to it.
type LLMRunner interface {
	RunLLM(ctx context.Context, model, prompt string, output json.RawMessage) (json.RawMessage, error)
}

// RunRecorder persists run records; *Store implements it.
type RunRecorder interface {
	Save(ctx context.Context, r *Run) error
}

// ExecutorOptions configure an Executor.
type ExecutorOptions struct {
	// Caller runs tool steps (required for plans with tool steps).
	Caller Caller
	// Code runs code steps; nil makes code steps fail with no_code_runner.
	Code CodeRunner
	// LLM runs llm steps; nil makes them fail with no_llm_runner.
	LLM LLMRunner
	// Cache stores results of steps with an idempotency key (nil: an
	// in-memory cache of 10,000 entries).
	Cache Cache
	// IdempotencyTTL is how long such results are reused (0: 24h).
	IdempotencyTTL time.Duration
	// MaxConcurrency bounds concurrent tool calls and code runs per run
	// (0: 16). A plan's max_concurrency or RunOptions.MaxConcurrency may
	// lower it. The engine's global and per-upstream limits apply as well.
	MaxConcurrency int
	// Records, if set, receives the run record when a run starts, every
	// SaveInterval while it runs (if anything changed) and when it finishes.
	Records RunRecorder
	// SaveInterval is how often a running run's record is saved if
	// anything changed (0: 1s), and at least every HeartbeatEvery
	// regardless, so that another process opening the store does not take
	// a long step for an abandoned run. Negative: only at start and finish
	// (then a run longer than StaleAfter looks abandoned to other processes).
	SaveInterval time.Duration
	// Limits bound every run (zero fields: the defaults).
	Limits Limits
	// Tracer, when set, traces each run and step (their tool calls, code
	// runs and model calls are children of the step's span).
	Tracer *tracing.Tracer
}

// RunOptions adjust one run.
type RunOptions struct {
	// ID names the run (default: a new time-ordered UUID).
	ID string
	// Catalog, if set, is the catalog as the run's caller sees it: the plan
	// is checked against it before running (a plan with problems does not
	// run; a tool outside the view is unknown).
	Catalog *catalog.View
	// MaxConcurrency lowers the executor's bound for this run.
	MaxConcurrency int
	// OnEvent receives progress events synchronously, in order per step;
	// it must be quick.
	OnEvent func(Event)
}

// Executor runs plans. It is safe for concurrent use; identical in-flight
// idempotent steps of one owner are collapsed across all runs of an
// executor.
//
// Every run belongs to the client that started it (engine.ClientFrom of
// Start's context): its idempotency keys are its own, and only it (and the
// local operator) can look it up. Run records — what Snapshot, Wait and
// the record store hold — are redacted (internal/redact): inputs by the
// plan's inputs schema, step arguments by the tool's input schema, results
// and errors by secret names and shapes; results are bounded by Limits.
type Executor struct {
	opts   ExecutorOptions
	flight flight

	mu      sync.Mutex
	active  map[string]*Handle
	closing bool
	runs    sync.WaitGroup
}

// ErrShutdown is returned by Start once Shutdown was called.
var ErrShutdown = errors.New("plan: the executor is shutting down")

// NewExecutor builds an executor.
func NewExecutor(opts ExecutorOptions) *Executor {
	if opts.Cache == nil {
		opts.Cache = NewMemoryCache(0)
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = 24 * time.Hour
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = 16
	}
	if opts.SaveInterval == 0 {
		opts.SaveInterval = time.Second
	}
	opts.Limits = opts.Limits.withDefaults()
	return &Executor{opts: opts, active: map[string]*Handle{}}
}

// Limits are the limits the executor holds runs to (defaults filled in).
func (x *Executor) Limits() Limits { return x.opts.Limits }

// Run executes a plan and waits for it. It returns an error only when the
// run could not start — *ProblemsError for a plan that fails Check or
// inputs that violate the plan's inputs schema — or when saving the final
// record failed (the run is returned as well). A run that started reports
// its outcome in Run.Status and per step; a canceled ctx cancels running
// steps and yields RunCanceled. The returned Run is the run's record.
func (x *Executor) Run(ctx context.Context, p *Plan, inputs map[string]any, o RunOptions) (*Run, error) {
	h, err := x.Start(ctx, p, inputs, o)
	if err != nil {
		return nil, err
	}
	<-h.Done()
	return h.final, h.err
}

// Start validates the plan and inputs and starts the run in the
// background. The run is canceled when ctx is done or Handle.Cancel is
// called; surfaces that outlive a request pass context.WithoutCancel.
//
// The run belongs to engine.ClientFrom(ctx); ctx's values (the caller's
// policy and identity) stay with every tool call, code step and nested
// plan of the run, even when ctx is context.WithoutCancel.
func (x *Executor) Start(ctx context.Context, p *Plan, inputs map[string]any, o RunOptions) (*Handle, error) {
	c, probs := compile(p, "")
	if o.Catalog != nil {
		probs = append(probs, checkCatalog(o.Catalog, c)...)
	}
	probs = append(probs, x.opts.Limits.check(c)...)
	if probs = finishProblems(p, probs); len(probs) > 0 {
		return nil, &ProblemsError{Problems: probs}
	}
	if err := prepareConditions(c, x.opts.Limits.MaxConditionCost); err != nil {
		return nil, err
	}
	in, probs := validateInputs(c, inputs, "inputs")
	if len(probs) > 0 {
		return nil, &ProblemsError{Problems: probs}
	}
	id := o.ID
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("plan: run id: %w", err)
		}
		id = u.String()
	}
	limitN := x.opts.MaxConcurrency
	for _, n := range []int{p.MaxConcurrency, o.MaxConcurrency} {
		if n > 0 && n < limitN {
			limitN = n
		}
	}
	owner := engine.ClientFrom(ctx)
	run := &Run{ID: id, Owner: owner, Name: p.Name, Status: RunRunning, Plan: p, Inputs: in, Started: time.Now()}
	rctx, cancel := context.WithCancel(ctx)
	red := runRedactor(p, in, o.Catalog)
	h := &Handle{id: id, owner: owner, cancel: cancel, done: make(chan struct{}), notify: make(chan struct{}), run: run,
		budget: &budget{limits: x.opts.Limits}, red: red, recPlan: redactPlan(red, p, o.Catalog), recInputs: redactMap(red, in, p.Inputs)}
	h.budget.steps.Store(int64(len(c.steps)))
	h.events = make([]Event, 0, 2*len(c.steps)+2) // started and finished per step, the run's two
	st := &runState{x: x, h: h, mu: &h.mu, c: c, ctx: rctx, inputs: in, sem: limit.NewSemaphore(limitN), onEvent: o.OnEvent}
	run.Steps = st.initRecords()

	x.mu.Lock()
	if x.closing {
		x.mu.Unlock()
		cancel()
		return nil, ErrShutdown
	}
	if _, dup := x.active[id]; dup {
		x.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("plan: a run with id %q is already running", id)
	}
	x.active[id] = h
	x.runs.Add(1)
	x.mu.Unlock()

	if x.opts.Records != nil {
		if err := x.opts.Records.Save(ctx, h.Snapshot()); err != nil {
			x.forget(id)
			x.runs.Done()
			cancel()
			return nil, fmt.Errorf("plan: save run record: %w", err)
		}
	}
	tctx, endRun := x.traceRun(st.ctx, p, id)
	st.ctx = tctx
	st.emit(Event{Type: EventRunStarted})
	stopSaving := x.saveWhileRunning(ctx, h)
	go func() {
		defer x.runs.Done()
		defer cancel()
		st.execute()
		stopSaving()
		st.finishRun()
		endRun(string(run.Status), run.Error)
		st.emit(Event{Type: EventRunFinished, Status: string(run.Status), Reason: run.Error})
		h.mu.Lock()
		final := h.recordLocked()
		h.mu.Unlock()
		if x.opts.Records != nil {
			sctx, c2 := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if err := x.opts.Records.Save(sctx, final); err != nil {
				h.err = fmt.Errorf("plan: save run record: %w", err)
			}
			c2()
		}
		h.mu.Lock()
		h.final = final
		h.mu.Unlock()
		x.forget(id)
		h.mu.Lock()
		close(h.done)
		close(h.notify)
		h.mu.Unlock()
	}()
	return h, nil
}

// saveWhileRunning saves the run's record periodically so a crash leaves
// the progress so far; the returned function stops it and waits.
func (x *Executor) saveWhileRunning(ctx context.Context, h *Handle) (stop func()) {
	if x.opts.Records == nil || x.opts.SaveInterval < 0 {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(min(x.opts.SaveInterval, HeartbeatEvery))
		defer t.Stop()
		saved, last := 0, time.Now()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			h.mu.Lock()
			n := len(h.events)
			h.mu.Unlock()
			// Save what changed, and at least every HeartbeatEvery: the
			// record's heartbeat tells other processes the run is alive.
			if n != saved || time.Since(last) >= HeartbeatEvery {
				saved, last = n, time.Now()
				_ = x.opts.Records.Save(context.WithoutCancel(ctx), h.Snapshot())
			}
		}
	}()
	return func() { close(quit); <-done }
}

// Lookup returns the handle of a run in progress that the client on ctx
// may see (Visible): another client's run is not found.
func (x *Executor) Lookup(ctx context.Context, id string) (*Handle, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h, ok := x.active[id]
	if !ok || !Visible(h.owner, engine.ClientFrom(ctx)) {
		return nil, false
	}
	return h, true
}

// Shutdown stops the executor: Start fails with ErrShutdown from now on,
// and every run in progress is canceled; its final record is saved with
// status interrupted. Shutdown returns when every run has finished and
// saved its record, or with an error when ctx is done first. Close the
// record store only after Shutdown returned.
func (x *Executor) Shutdown(ctx context.Context) error {
	x.mu.Lock()
	x.closing = true
	hs := make([]*Handle, 0, len(x.active))
	for _, h := range x.active {
		hs = append(hs, h)
	}
	x.mu.Unlock()
	for _, h := range hs {
		h.interrupted.Store(true)
		h.cancel()
	}
	done := make(chan struct{})
	go func() {
		x.runs.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("plan: shutdown: runs still finishing: %w", ctx.Err())
	}
}

func (x *Executor) forget(id string) {
	x.mu.Lock()
	delete(x.active, id)
	x.mu.Unlock()
}

// Handle is a run in progress.
type Handle struct {
	id          string
	owner       string
	cancel      context.CancelFunc
	done        chan struct{}
	interrupted atomic.Bool // canceled by Shutdown
	budget      *budget
	red         *redact.Redactor // the run's redactor (runRedactor)

	// What the record shows of the plan and inputs (redacted once).
	recPlan   *Plan
	recInputs map[string]any

	mu     sync.Mutex // guards the run's records, events and notify
	run    *Run
	final  *Run // the final record, once the run finished
	events []Event
	notify chan struct{} // closed and replaced on every event someone waits for; closed for good at the end
	// waited: a follower (Events) holds notify, so the next event closes
	// and replaces it (with no follower, events leave it alone).
	waited bool
	err    error
}

// ID is the run id.
func (h *Handle) ID() string { return h.id }

// Owner is the client that started the run ("" for the local operator).
func (h *Handle) Owner() string { return h.owner }

// Done is closed when the run finished and its record was saved.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Cancel cancels the run: running steps are canceled, pending ones never start.
func (h *Handle) Cancel() { h.cancel() }

// Wait waits for the run to finish (or ctx to be done) and returns its
// final record.
func (h *Handle) Wait(ctx context.Context) (*Run, error) {
	select {
	case <-h.done:
		return h.final, h.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Snapshot returns the run's record as it is now (redacted, results
// bounded). Callers must not modify it.
func (h *Handle) Snapshot() *Run {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.final != nil {
		return h.final
	}
	return h.recordLocked()
}

// Events streams the run's events: every event so far, then new ones as
// they happen. The channel is closed after run_finished or when ctx is done.
func (h *Handle) Events(ctx context.Context) <-chan Event {
	ch := make(chan Event, 64)
	go func() {
		defer close(ch)
		next := 0
		for {
			h.mu.Lock()
			batch := h.events[next:]
			next = len(h.events)
			wait := h.notify
			h.waited = true
			h.mu.Unlock()
			for _, e := range batch {
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
				if e.Type == EventRunFinished {
					return
				}
			}
			select {
			case <-wait:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// validateInputs applies the defaults of the inputs schema's top-level
// properties and validates the result.
func validateInputs(c *compiled, inputs map[string]any, base string) (map[string]any, []Problem) {
	in := normalize(inputs)
	m, _ := in.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if props, ok := c.inSpec["properties"].(map[string]any); ok {
		for name, ps := range props {
			if _, set := m[name]; set {
				continue
			}
			if psm, ok := ps.(map[string]any); ok {
				if d, ok := psm["default"]; ok {
					m[name] = normalize(d)
				}
			}
		}
	}
	if c.inputs == nil {
		return m, nil
	}
	raw, _ := json.Marshal(m)
	err := catalog.ValidateArgs("inputs", c.inputs, raw)
	var ae *catalog.ArgumentError
	if !errors.As(err, &ae) {
		return m, nil
	}
	var probs []Problem
	for _, p := range ae.Problems {
		probs = append(probs, Problem{Path: pointerToPath(base, p.Path), Code: ProblemInvalidInputs, Message: p.Rule})
	}
	return m, probs
}

// normalize round-trips a Go value through JSON so numbers are json.Number.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}

// DecodeInputs parses run-time inputs given as a JSON object (empty: none).
func DecodeInputs(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("plan: inputs must be a JSON object: %w", err)
	}
	return m, nil
}
