// Package engine is weft's one call path. Every tool call — from the CLI,
// REST, MCP, a code-mode program, a plan step or the agent — goes through
// Engine.Call: resolve the tool in the current catalog snapshot, validate the
// arguments against its input schema, acquire the caller's own, the global
// and the per-upstream concurrency slots, apply the per-call timeout, call
// the upstream, classify the outcome and emit an Event.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/clip"
	"github.com/weft-dev/weft/limit"
	"github.com/weft-dev/weft/source"
)

// Catalog provides the current snapshot.
type Catalog interface {
	Snapshot() *catalog.Snapshot
}

// Upstreams routes a call to the source that owns a server name.
type Upstreams interface {
	Upstream(server string) (Upstream, bool)
}

// Upstream calls a tool by its upstream (original) name. source.Source satisfies it.
type Upstream interface {
	Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error)
}

// ServerLimits are per-upstream overrides.
type ServerLimits struct {
	// Timeout per call; 0 means Options.Timeout.
	Timeout time.Duration
	// MaxConcurrency bounds concurrent calls to the upstream; 0 means unbounded.
	MaxConcurrency int
}

// Options configure an Engine.
type Options struct {
	Catalog   Catalog
	Upstreams Upstreams
	// Timeout is the default per-call timeout (TOOL_TIMEOUT); 0 means none.
	Timeout time.Duration
	// MaxConcurrent bounds concurrent calls process-wide (MAX_CONCURRENT_TOOLS); 0 means unbounded.
	MaxConcurrent int
	// MaxConcurrentPerClient bounds the concurrent calls of one client
	// (ClientFrom; "" — the local operator — is one client), so that one
	// client cannot take every global slot (limits.max_concurrent_tools_per_client);
	// 0 means only the global bound. A client at its bound queues on its
	// own slots, not on the global ones.
	MaxConcurrentPerClient int
	// QueueTimeout bounds the wait for a concurrency slot; 0 means wait as long as the call's context allows.
	QueueTimeout time.Duration
	// Servers holds per-upstream limits by server name.
	Servers map[string]ServerLimits
	// Recorder receives an event per call; nil discards events.
	Recorder Recorder
	// Results caches the results of tools it marks cacheable; nil (no
	// tool is cacheable) costs one nil check per call.
	Results ResultCache
	// Tracer starts a span per call; nil traces nothing (and costs one nil check).
	Tracer Tracer
}

// Engine executes tool calls. It is safe for concurrent use.
type Engine struct {
	opts    Options
	clients *limit.Keyed
	global  *limit.Semaphore
	servers map[string]*serverState
}

type serverState struct {
	timeout time.Duration
	sem     *limit.Semaphore
}

// New builds an engine.
func New(opts Options) *Engine {
	e := &Engine{opts: opts, clients: limit.NewKeyed(opts.MaxConcurrentPerClient),
		global: limit.NewSemaphore(opts.MaxConcurrent), servers: map[string]*serverState{}}
	for name, l := range opts.Servers {
		e.servers[name] = &serverState{timeout: l.Timeout, sem: limit.NewSemaphore(l.MaxConcurrency)}
	}
	return e
}

// CallOptions adjust a single call.
type CallOptions struct {
	// Caller names the surface making the call, for events ("rest", "sandbox", ...).
	Caller string
	// Timeout overrides the tool's timeout when positive and shorter.
	Timeout time.Duration
	// SkipValidation skips argument validation (the caller validated already).
	SkipValidation bool

	traced bool // the call's span is started (trace.go)
}

// Call runs the named tool with args (a JSON object; empty means {}).
//
// It returns the upstream's result — including results with IsError, which
// are returned intact with a nil error and recorded as tool failures — or an
// *Error saying why no result was produced.
func (e *Engine) Call(ctx context.Context, name string, args json.RawMessage) (*source.Result, error) {
	return e.CallWith(ctx, name, args, CallOptions{})
}

// CallWith is Call with per-call options.
func (e *Engine) CallWith(ctx context.Context, name string, args json.RawMessage, o CallOptions) (*source.Result, error) {
	if e.opts.Tracer != nil && !o.traced {
		return e.traced(ctx, name, args, o)
	}
	start := time.Now()
	snap := e.opts.Catalog.Snapshot()
	tool, ok := snap.Get(name)
	if !ok || !Allowed(ctx, tool) {
		// A tool outside the caller's policy is indistinguishable from one
		// that does not exist: same code, same message, no server named.
		// The name is the caller's input: it is echoed clipped, and the
		// event carries no name at all (metrics and per-tool totals stay
		// bounded by the catalog whatever names callers send).
		err := &Error{Code: CodeUnknownTool, Tool: clip.String(name), Msg: "no such tool in the catalog"}
		e.record("", "", o.Caller, start, nil, len(args), err)
		return nil, err
	}
	if !o.SkipValidation {
		if verr := snap.Validate(name, args); verr != nil {
			err := validationError(tool, verr)
			e.record(name, tool.Server, o.Caller, start, nil, len(args), err)
			return nil, err
		}
	}
	if rc := e.opts.Results; rc != nil && rc.Cacheable(tool) {
		return e.cached(ctx, rc, tool, args, o, start)
	}
	res, err := e.invoke(ctx, tool, args, o, start)
	e.record(tool.Name, tool.Server, o.Caller, start, res, len(args), err)
	return res, err
}

func (e *Engine) invoke(ctx context.Context, tool *catalog.Tool, args json.RawMessage, o CallOptions, start time.Time) (*source.Result, error) {
	up, ok := e.opts.Upstreams.Upstream(tool.Server)
	if !ok {
		return nil, &Error{Code: CodeUnavailable, Tool: tool.Name, Server: tool.Server, Msg: fmt.Sprintf("upstream %q is not configured", tool.Server)}
	}
	st := e.servers[tool.Server]

	timeout := e.opts.Timeout
	if st != nil && st.timeout > 0 {
		timeout = st.timeout
	}
	if o.Timeout > 0 && (timeout <= 0 || o.Timeout < timeout) {
		timeout = o.Timeout
	}

	client := ClientFrom(ctx)
	queued, err := e.acquire(ctx, tool, st, client)
	if err != nil {
		return nil, err
	}
	defer func() {
		if st != nil {
			st.sem.Release()
		}
		e.global.Release()
		e.clients.Release(client)
	}()

	callCtx := ctx
	if timeout > 0 {
		// Not context.WithTimeout: its timer, channel and cancelCtx were
		// the call path's only allocations (deadline.go).
		// The timeout counts from the upstream call's start: after any
		// wait for a slot (without one, the call's start is that).
		now := start
		if queued {
			now = time.Now()
		}
		var dc *deadlineCtx
		callCtx, dc = withDeadline(ctx, now.Add(timeout))
		defer dc.release()
	}
	if len(args) == 0 {
		args = emptyObject
	}
	res, err := up.Call(callCtx, tool.Original, args)
	if err == nil {
		if res == nil {
			return nil, &Error{Code: CodeUpstream, Tool: tool.Name, Server: tool.Server, Msg: "upstream returned no result"}
		}
		return res, nil
	}
	return nil, e.classify(ctx, callCtx, tool, timeout, err)
}

var emptyObject = json.RawMessage("{}")

// acquire takes, in order, a slot of the client's own, a global slot and a
// slot of the upstream. The client's slots come first: a client at its
// bound waits there, holding nothing global, so other clients still get
// through. queued reports that the call had to wait.
func (e *Engine) acquire(ctx context.Context, tool *catalog.Tool, st *serverState, client string) (queued bool, err error) {
	// Fast path: free slots, no timer.
	if e.clients.TryAcquire(client) {
		if e.global.TryAcquire() {
			if st == nil || st.sem.TryAcquire() {
				return false, nil
			}
			e.global.Release()
		}
		e.clients.Release(client)
	}
	qctx := ctx
	if e.opts.QueueTimeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, e.opts.QueueTimeout)
		defer cancel()
	}
	if err := e.clients.Acquire(qctx, client); err != nil {
		return true, e.queueError(ctx, tool, "per-client (limits.max_concurrent_tools_per_client)", err)
	}
	if err := e.global.Acquire(qctx); err != nil {
		e.clients.Release(client)
		return true, e.queueError(ctx, tool, "global (limits.max_concurrent_tools)", err)
	}
	if st != nil {
		if err := st.sem.Acquire(qctx); err != nil {
			e.global.Release()
			e.clients.Release(client)
			return true, e.queueError(ctx, tool, "upstream "+tool.Server, err)
		}
	}
	return true, nil
}

func (e *Engine) queueError(ctx context.Context, tool *catalog.Tool, which string, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx, tool, 0, ctx.Err())
	}
	return &Error{Code: CodeOverloaded, Tool: tool.Name, Server: tool.Server,
		Msg: fmt.Sprintf("%s concurrency limit reached; no slot within %s", which, e.opts.QueueTimeout), Err: limit.ErrBusy}
}

func (e *Engine) classify(parent, callCtx context.Context, tool *catalog.Tool, timeout time.Duration, err error) error {
	if parent.Err() != nil {
		return ctxError(parent, tool, timeout, parent.Err())
	}
	if callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Tool: tool.Name, Server: tool.Server, Msg: fmt.Sprintf("no result within %s", timeout), Err: err}
	}
	switch {
	case errors.Is(err, source.ErrUnavailable), errors.Is(err, source.ErrClosed):
		return &Error{Code: CodeUnavailable, Tool: tool.Name, Server: tool.Server, Msg: err.Error(), Err: err}
	case errors.Is(err, source.ErrUnknownTool):
		return &Error{Code: CodeUnknownTool, Tool: tool.Name, Server: tool.Server, Msg: err.Error(), Err: err}
	}
	return &Error{Code: CodeUpstream, Tool: tool.Name, Server: tool.Server, Msg: err.Error(), Err: err}
}

func ctxError(ctx context.Context, tool *catalog.Tool, timeout time.Duration, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		msg := "caller's deadline passed"
		if timeout > 0 {
			msg = fmt.Sprintf("caller's deadline passed (tool timeout %s)", timeout)
		}
		return &Error{Code: CodeTimeout, Tool: tool.Name, Server: tool.Server, Msg: msg, Err: err}
	}
	return &Error{Code: CodeCanceled, Tool: tool.Name, Server: tool.Server, Msg: "call canceled", Err: err}
}

func validationError(tool *catalog.Tool, err error) *Error {
	var ae *catalog.ArgumentError
	if errors.As(err, &ae) {
		return &Error{Code: CodeInvalidArguments, Tool: tool.Name, Server: tool.Server, Msg: "invalid arguments: " + ae.Detail(), Problems: ae.Problems, Err: err}
	}
	return &Error{Code: CodeInvalidArguments, Tool: tool.Name, Server: tool.Server, Msg: err.Error(), Err: err}
}

func (e *Engine) record(name, server, caller string, start time.Time, res *source.Result, argBytes int, err error) {
	if e.opts.Recorder == nil {
		return
	}
	ev := Event{Tool: name, Server: server, Caller: caller, Start: start, Duration: time.Since(start), Bytes: argBytes, Outcome: OutcomeOK}
	if res != nil {
		ev.Bytes += res.Size()
		if res.IsError {
			ev.Outcome = OutcomeToolError
		}
	}
	if err != nil {
		ev.Outcome = OutcomeError
		if ee, ok := AsError(err); ok {
			ev.Code = ee.Code
		}
	}
	e.opts.Recorder.Record(ev)
}

// UpstreamsFunc adapts a lookup function to Upstreams.
type UpstreamsFunc func(server string) (Upstream, bool)

// Upstream implements Upstreams.
func (f UpstreamsFunc) Upstream(server string) (Upstream, bool) { return f(server) }
