package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"modernc.org/quickjs"
)

// evalStrict is QuickJS's JS_EVAL_FLAG_STRICT: the program runs in strict mode.
const evalStrict = 1 << 3

// maxTimers bounds the setTimeout callbacks a run may have pending.
const maxTimers = 1000

const (
	kindCall = iota
	kindTimer
)

// completion is something that happened outside the VM and must be
// delivered into it on the run's goroutine.
type completion struct {
	kind    int
	id      int
	ok      bool
	payload string
}

// run is one program execution. The VM and every field not marked otherwise
// are used only by the goroutine that called Sandbox.Run; call goroutines
// and timers talk to it through the queue.
type run struct {
	ctx      context.Context
	cancel   context.CancelFunc
	s        *Sandbox
	req      Request
	lim      Limits
	start    time.Time
	deadline time.Time
	prog     *compiled

	vm                *quickjs.VM
	wd                *watchdog
	startFn, settleFn quickjs.Value
	fireFn, recheckFn quickjs.Value
	sourceFn          quickjs.Value
	rechecked         bool

	view  *catalog.View // the catalog as the caller sees it (its policy on ctx)
	names map[string]catalog.TSName

	mu     sync.Mutex // guards queue and calls
	queue  []completion
	calls  []CallRecord
	notify chan struct{}

	wg       sync.WaitGroup
	callSlot chan struct{}
	nCalls   int
	inflight int
	nextID   int
	timers   map[int]*time.Timer // pending timers by id; len(timers) is what maxTimers bounds

	console      []ConsoleLine
	consoleBytes int

	abort      *RunError
	take       string // the payload settle is delivering
	maxPayload int    // the largest payload delivered so far
	finished   bool
	outcome    int
	payload    string
	resultLen  int // the result's length when the prelude refused to copy it (outcome 4)

	bridgeBytes int64 // bytes held in Go for the run (see reserve); guarded by mu
	closed      bool  // the call log was handed out (see closeLog); guarded by mu
}

func newRun(ctx context.Context, s *Sandbox, req Request, lim Limits, start time.Time) *run {
	r := &run{s: s, req: req, lim: lim, start: start, deadline: start.Add(lim.Timeout), timers: map[int]*time.Timer{},
		notify: make(chan struct{}, 1), callSlot: make(chan struct{}, lim.MaxConcurrentCalls)}
	if d, ok := ctx.Deadline(); ok && d.Before(r.deadline) {
		r.deadline = d
	}
	r.ctx, r.cancel = context.WithDeadline(ctx, r.deadline)
	return r
}

// callGrace is how long a run that ended waits for its canceled calls to
// return before it answers without them. The engine ends every call at its
// context's end; a call that still has not returned is logged as canceled
// and its late outcome is dropped.
const callGrace = 50 * time.Millisecond

// awaitCalls waits up to grace for the run's call goroutines.
func (r *run) awaitCalls(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// closeLog ends the call log: later outcomes are dropped, and calls still in
// flight are logged as canceled.
func (r *run) closeLog() []CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	now := time.Since(r.start)
	for i := range r.calls {
		if c := &r.calls[i]; c.Outcome == "" {
			c.Outcome, c.Code, c.Error = OutcomeError, string(engine.CodeCanceled), "the run ended before the call returned"
			c.Duration = max(now-c.Start, 0)
		}
	}
	return r.calls
}

// execute runs the program to its end and always cleans up: in-flight calls
// are canceled (and awaited for callGrace at most), timers stopped, the VM
// closed.
func (r *run) execute() (res *RunResult) {
	res = &RunResult{}
	defer func() {
		r.cancel()
		if r.nCalls > 0 {
			r.awaitCalls(callGrace)
		}
		for _, t := range r.timers {
			t.Stop()
		}
		if r.vm != nil {
			for _, v := range []*quickjs.Value{&r.startFn, &r.settleFn, &r.fireFn, &r.recheckFn, &r.sourceFn} {
				if v.VM() != nil {
					v.Free()
				}
			}
			r.wd.stop()
			r.vm.Close()
		}
		res.Calls = r.closeLog()
		res.Console = r.console
	}()

	prog, perr := r.compile()
	if perr != nil {
		res.Error = perr
		return res
	}
	r.prog = prog
	if err := r.setup(); err != nil {
		res.Error = r.classify(err)
		return res
	}
	stop := context.AfterFunc(r.ctx, func() {
		r.vm.Interrupt()
		r.wd.kick()
	})
	defer stop()

	if rerr := r.startProgram(); rerr != nil {
		res.Error = rerr
		return res
	}
	if rerr := r.loop(); rerr != nil {
		res.Error = rerr
		return res
	}
	res.Result, res.Error = r.outcomeResult()
	return res
}

// compile transforms the program in a goroutine, so that the time it takes
// counts against the run's deadline: when the deadline passes first, the run
// ends with a timeout (the transform, bounded by the source limits, finishes
// on its own and is dropped).
func (r *run) compile() (*compiled, *RunError) {
	if r.req.Language == JavaScript {
		return compile(r.req.Code, JavaScript) // wrapping only: nothing to bound
	}
	type out struct {
		p *compiled
		e *RunError
	}
	ch := make(chan out, 1)
	go func() {
		p, e := compile(r.req.Code, r.req.Language)
		ch <- out{p, e}
	}()
	select {
	case o := <-ch:
		return o.p, o.e
	case <-r.ctx.Done():
		return nil, r.classify(errTimeout)
	}
}

// setup creates the VM, registers the host functions and runs the prelude.
func (r *run) setup() error {
	vm, err := quickjs.NewVM()
	if err != nil {
		return fmt.Errorf("new VM: %w", err)
	}
	r.vm = vm
	r.wd = newWatchdog(vm)
	vm.SetMemoryLimit(uintptr(r.lim.MemoryBytes))
	vm.SetCanBlock(false)
	vm.SetModuleLoader(func(*quickjs.VM, string) (string, error) {
		return "", errors.New("module imports are disabled in the sandbox")
	}, func(_ *quickjs.VM, _, name string) (string, error) {
		return "", fmt.Errorf("module imports are disabled in the sandbox (import of %q)", name)
	})
	for name, f := range map[string]quickjs.HostFunc{
		"__weft_call": r.hostCall, "__weft_search": r.hostSearch, "__weft_log": r.hostLog,
		"__weft_timer": r.hostTimer, "__weft_clear": r.hostClear, "__weft_done": r.hostDone, "__weft_take": r.hostTake,
	} {
		if err := vm.RegisterHostFunc(name, f); err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
	}

	r.view = r.s.viewFor(r.ctx)
	var scope []*catalog.Tool
	r.names, scope = r.s.namesFor(r.view)
	var list [][3]string
	for _, t := range scope {
		n := r.names[t.Name]
		list = append(list, [3]string{n.Server, n.Tool, t.Name})
	}
	if list == nil {
		list = [][3]string{}
	}

	if !r.arm() {
		return errTimeout
	}
	fn, err := vm.EvalBytecodeValue(r.s.prelude)
	if err != nil {
		return fmt.Errorf("prelude: %w", err)
	}
	defer fn.Free()
	if !r.arm() {
		return errTimeout
	}
	entry, err := fn.CallValue(quickjs.UndefinedValue, list, r.preludeLimits())
	if err != nil {
		return fmt.Errorf("prelude: %w", err)
	}
	defer entry.Free()
	for name, dst := range map[string]*quickjs.Value{"start": &r.startFn, "settle": &r.settleFn, "fire": &r.fireFn, "recheck": &r.recheckFn, "source": &r.sourceFn} {
		atom, err := vm.NewAtom(name)
		if err != nil {
			return err
		}
		if *dst, err = entry.GetPropertyValue(atom); err != nil {
			return err
		}
	}
	return nil
}

var errTimeout = errors.New("timeout")

// arm sets the eval timeout to what is left of the run; false when nothing is left.
func (r *run) arm() bool {
	left := time.Until(r.deadline)
	if left <= 0 || r.ctx.Err() != nil {
		return false
	}
	r.vm.SetEvalTimeout(left)
	return true
}

// startProgram compiles the program's function and starts it.
func (r *run) startProgram() *RunError {
	if !r.arm() {
		return r.classify(errTimeout)
	}
	if len(r.req.Inputs) > 0 {
		// Defined by the host before the program runs: a JSON literal is a
		// valid JavaScript expression, and the lookups below cannot be
		// shadowed by the program (it has not run yet).
		lit, _ := json.Marshal(string(r.req.Inputs)) // a JSON string literal is a JS string literal
		def := "Object.defineProperty(globalThis, 'inputs', {value: Object.freeze(JSON.parse(" +
			string(lit) + ")), writable: false, configurable: false})"
		if _, err := r.vm.Eval(def, quickjs.EvalGlobal); err != nil {
			return &RunError{Kind: KindRuntime, Message: "binding inputs: " + err.Error()}
		}
	}
	fn, err := r.vm.EvalValue(r.prog.js, quickjs.EvalGlobal|evalStrict)
	if err != nil {
		var qe *quickjs.Error
		if errors.As(err, &qe) && qe.Name == "SyntaxError" {
			e := &RunError{Kind: KindSyntax, Message: qe.Message}
			if l, c, ok := r.prog.position(qe.LineNumber, qe.ColumnNumber); ok {
				e.Line, e.Column = l, c
				e.Message = fmt.Sprintf("%s (line %d, column %d)", qe.Message, l, c)
			}
			return e
		}
		return r.classify(err)
	}
	defer fn.Free()
	if !r.arm() {
		return r.classify(errTimeout)
	}
	text, err := r.sourceFn.Call(quickjs.UndefinedValue, fn)
	if err != nil {
		return r.classify(err)
	}
	if t, _ := text.(string); t != r.prog.fnText {
		return &RunError{Kind: KindSyntax, Message: "the program closes the function it is the body of; write it as a function body (statements, top-level await and return)"}
	}
	if !r.arm() {
		return r.classify(errTimeout)
	}
	if _, err := r.startFn.Call(quickjs.UndefinedValue, fn); err != nil {
		return r.classify(err)
	}
	return nil
}

// loop is the run's event loop: drain microtasks, then wait for a call
// result or timer and deliver it, until the program settles or a limit ends it.
func (r *run) loop() *RunError {
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	for {
		if err := r.drain(); err != nil {
			return r.classify(err)
		}
		if r.abort != nil {
			return r.abort
		}
		if r.finished {
			return nil
		}
		if r.inflight == 0 && len(r.timers) == 0 {
			if !r.rechecked {
				r.rechecked = true
				if !r.arm() {
					return r.classify(errTimeout)
				}
				if _, err := r.recheckFn.Call(quickjs.UndefinedValue); err != nil {
					return r.classify(err)
				}
				continue
			}
			if exceptionPending(r.vm) || r.memoryExhausted() {
				// QuickJS drops a promise job it has no memory to queue, which
				// leaves the program waiting forever and the out-of-memory
				// exception pending: report the cause.
				return r.memoryError()
			}
			return &RunError{Kind: KindNeverSettled, Message: "the program awaits a promise that can never settle (no tool call or timer is pending)"}
		}
		// Let call goroutines that were just started run first: a fast
		// tool then completes before this goroutine parks.
		runtime.Gosched()
		left := time.Until(r.deadline)
		if wait == nil {
			wait = time.NewTimer(left)
		} else {
			wait.Reset(left)
		}
		select {
		case <-r.notify:
		case <-wait.C:
			return r.classify(errTimeout)
		case <-r.ctx.Done():
			return r.classify(errTimeout)
		}
		r.mu.Lock()
		items := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, c := range items {
			if !r.arm() {
				return r.classify(errTimeout)
			}
			var err error
			switch c.kind {
			case kindCall:
				r.inflight--
				// The payload is fetched by the prelude through __weft_take:
				// a large string passed as an argument here would not report
				// an allocation failure, a host function's result does.
				r.take = c.payload
				r.maxPayload = max(r.maxPayload, len(c.payload))
				_, err = r.settleFn.Call(quickjs.UndefinedValue, c.id, c.ok)
				r.take = ""
				if c.ok {
					r.release(len(c.payload))
				}
			case kindTimer:
				if _, pending := r.timers[c.id]; !pending {
					continue // cleared after it fired
				}
				delete(r.timers, c.id)
				_, err = r.fireFn.Call(quickjs.UndefinedValue, c.id)
			}
			if r.abort != nil {
				return r.abort
			}
			if err != nil {
				return r.classify(err)
			}
		}
	}
}

// memoryExhausted reports, for a program that stopped without settling,
// whether memory is the likely cause: QuickJS can lose an async
// continuation when an allocation fails while resuming it. That is assumed
// when a tool result of at least a sixteenth of the limit was delivered, or
// when the VM cannot allocate a quarter of its limit now.
func (r *run) memoryExhausted() bool {
	if int64(r.maxPayload)*16 >= r.lim.MemoryBytes {
		return true
	}
	if !r.arm() {
		return false
	}
	n := r.lim.MemoryBytes / 4
	_, err := r.vm.Eval(fmt.Sprintf("new ArrayBuffer(%d).byteLength", n), quickjs.EvalGlobal)
	return err != nil && (strings.Contains(err.Error(), "out of memory") || err.Error() == "null")
}

func (r *run) memoryError() *RunError {
	return &RunError{Kind: KindMemory, Message: fmt.Sprintf("out of memory: the program exceeded its memory limit of %d bytes (memory)", r.lim.MemoryBytes)}
}

// drain runs pending jobs (promise reactions, async continuations).
func (r *run) drain() error {
	for {
		if !r.arm() {
			return errTimeout
		}
		_, err := r.vm.ExecutePendingJobs()
		if err != nil && strings.HasPrefix(err.Error(), "quickjs: aborted draining") {
			continue // a long chain of microtasks; the eval timeout still bounds it
		}
		return err
	}
}

// push queues a completion from any goroutine.
func (r *run) push(c completion) {
	r.mu.Lock()
	r.queue = append(r.queue, c)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// fail ends the run from a host function: the VM is interrupted, which
// unwinds the program without running its catch or finally blocks.
func (r *run) fail(kind, msg string) {
	if r.abort == nil {
		r.abort = &RunError{Kind: kind, Message: msg}
	}
	r.vm.Interrupt()
}

// classify turns an error out of the VM into a RunError.
func (r *run) classify(err error) *RunError {
	if r.abort != nil {
		return r.abort
	}
	var qe *quickjs.Error
	isQE := errors.As(err, &qe)
	// Once the run's deadline passed or its context ended, the VM was
	// interrupted, and whatever error it returns is that interrupt: QuickJS
	// does not always report it as "interrupted" (under -race, about one run
	// in fifty stopped at its deadline returned "TypeError: not a function"
	// from the start call).
	interrupted := errors.Is(err, errTimeout) || (isQE && qe.Name == "InternalError" && qe.Message == "interrupted") ||
		r.ctx.Err() != nil || !time.Now().Before(r.deadline)
	if interrupted {
		if errors.Is(context.Cause(r.ctx), context.Canceled) {
			return &RunError{Kind: KindCanceled, Message: "the run was canceled"}
		}
		return &RunError{Kind: KindTimeout, Message: fmt.Sprintf("the program did not finish within %s (timeout)", r.lim.Timeout)}
	}
	if isQE {
		return r.errorFrom(qe.Name, qe.Message, qe.Stack, qe.Error() == "null" || qe.Error() == "undefined", "", "")
	}
	return &RunError{Kind: KindInternal, Message: err.Error()}
}

var userThrowsNullish = regexp.MustCompile(`\bthrow\s+(null|undefined|void\b)|\breject\(\s*(null|undefined)?\s*\)`)

// errorFrom classifies an uncaught exception.
func (r *run) errorFrom(name, message, stack string, nullish bool, tool, code string) *RunError {
	switch {
	case nullish && !userThrowsNullish.MatchString(r.req.Code):
		// QuickJS throws null when it runs out of memory while building the error itself.
		return r.memoryError()
	case name == "InternalError" && message == "out of memory":
		return r.memoryError()
	case name == "InternalError" && message == "string too long":
		return &RunError{Kind: KindMemory, Message: "out of memory: string too long (the engine's maximum string length) (memory)"}
	case nullish:
		return &RunError{Kind: KindRuntime, Message: "the program threw null or undefined"}
	}
	e := &RunError{Kind: KindRuntime, Message: message, Tool: tool, Code: code}
	if name != "" {
		e.Message = name + ": " + message
	}
	e.Line, e.Column = r.prog.locate(stack)
	e.Stack = r.prog.cleanStack(stack)
	return e
}

// outcomeResult turns what the program settled with into the run's result or error.
func (r *run) outcomeResult() (json.RawMessage, *RunError) {
	switch r.outcome {
	case 0:
		if len(r.payload) > r.lim.MaxResultBytes {
			return nil, &RunError{Kind: KindResultLimit, Message: fmt.Sprintf("the result is %d bytes, more than max_result_bytes (%d)", len(r.payload), r.lim.MaxResultBytes)}
		}
		return json.RawMessage(r.payload), nil
	}
	if r.outcome == 3 {
		return nil, r.memoryError()
	}
	if r.outcome == 4 {
		return nil, &RunError{Kind: KindResultLimit, Message: fmt.Sprintf("the result is at least %d bytes, more than max_result_bytes (%d)", r.resultLen, r.lim.MaxResultBytes)}
	}
	var d struct {
		Nullish bool   `json:"nullish"`
		Name    string `json:"name"`
		Message string `json:"message"`
		Stack   string `json:"stack"`
		Tool    string `json:"tool"`
		Code    string `json:"code"`
	}
	if err := json.Unmarshal([]byte(r.payload), &d); err != nil {
		return nil, &RunError{Kind: KindInternal, Message: "undecodable error description: " + err.Error()}
	}
	if r.outcome == 2 {
		return nil, &RunError{Kind: KindResult, Message: "the program's result is not JSON-serializable: " + d.Name + ": " + d.Message}
	}
	return nil, r.errorFrom(d.Name, d.Message, d.Stack, d.Nullish, d.Tool, d.Code)
}
