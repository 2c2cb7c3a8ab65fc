package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

const (
	// stableAfter is how long a session must have lived for the backoff to
	// start again from RestartBackoff after it ends.
	stableAfter = 30 * time.Second
	// defaultPingInterval is how often an idle HTTP or SSE session is
	// pinged, so that a server that went away is noticed (and reconnected
	// to) without waiting for the next call.
	defaultPingInterval = 30 * time.Second
)

// Upstream is a supervised connection to one MCP server. It implements
// source.Source and source.Notifier. Create it with New.
type Upstream struct {
	cfg      Config
	log      *slog.Logger
	red      *redactor
	client   *sdk.Client
	copts    *sdk.ClientOptions // client's handlers, also called by the raw HTTP path
	httpBase http.RoundTripper

	// ctx lives until Close; every session and attempt derives from it.
	ctx    context.Context
	cancel context.CancelFunc

	firstDone chan struct{} // closed after the first connection attempt
	firstErr  error         // written before firstDone is closed
	runDone   chan struct{} // closed when the supervisor returned
	changed   chan struct{} // coalesced "tools may have changed" signal

	// pingInterval is the liveness probe period of HTTP sessions (0: none).
	pingInterval time.Duration

	mu        sync.Mutex
	started   bool
	closed    bool
	firstOver bool // the first attempt finished (set just before firstDone closes)
	lateStart bool // a Start caller stopped waiting before the first attempt finished
	state     source.State
	reason    string
	since     time.Time
	restarts  int
	pid       int
	sess      *session       // the ready session, nil when not connected
	initTools []catalog.Tool // the current session's first list, served once
	changeSeq uint64         // counts tools/list_changed notifications
	callbacks []func()

	relay relay // downstream calls in flight, notification callbacks (forward.go)

	awaiting atomic.Int32 // callers waiting in awaitFirst (for tests)
}

var (
	_ source.Source   = (*Upstream)(nil)
	_ source.Notifier = (*Upstream)(nil)
)

// New validates cfg and returns an Upstream that is not yet connected; call
// Start. Errors are returned only for an invalid configuration. A nil logger
// discards logs.
func New(cfg Config, logger *slog.Logger) (*Upstream, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log := logger.With("server", cfg.Name)
	ctx, cancel := context.WithCancel(context.Background())
	u := &Upstream{
		cfg:       cfg,
		log:       log,
		red:       newRedactor(cfg),
		httpBase:  newHTTPTransport(),
		ctx:       ctx,
		cancel:    cancel,
		firstDone: make(chan struct{}),
		runDone:   make(chan struct{}),
		changed:   make(chan struct{}, 1),
		state:     source.StateStarting,
		reason:    "not started",
		since:     time.Now(),
	}
	if cfg.Transport != TransportStdio {
		u.pingInterval = defaultPingInterval
	}
	copts := &sdk.ClientOptions{
		Logger: log,
		// weft offers no roots. Sampling and elicitation are announced and
		// relayed to the client of the call in flight (forward.go).
		Capabilities: &sdk.ClientCapabilities{},
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) {
			u.toolListChanged()
		},
	}
	u.clientHandlers(copts)
	u.copts = copts
	u.client = sdk.NewClient(&sdk.Implementation{Name: "weft", Version: "0.1.0"}, copts)
	return u, nil
}

// Name returns the server name.
func (u *Upstream) Name() string { return u.cfg.Name }

// Start connects to the upstream (starting its process for stdio) and
// returns the outcome of that first attempt. Whatever the outcome, the
// upstream stays supervised until Close: a failed or lost connection is
// retried with exponential backoff, and every successful reconnection fires
// the OnToolsChanged callbacks. Calling Start again returns the first
// attempt's outcome. If ctx ends first, Start returns ctx's error while the
// attempt goes on in the background.
func (u *Upstream) Start(ctx context.Context) error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return fmt.Errorf("mcp %s: start: %w", u.cfg.Name, source.ErrClosed)
	}
	if !u.started {
		u.started = true
		u.setStateLocked(source.StateStarting, "connecting")
		go u.run()
		go u.notifyLoop()
	}
	u.mu.Unlock()
	select {
	case <-u.firstDone:
		return u.firstErr
	case <-ctx.Done():
	}
	u.mu.Lock()
	if u.firstOver {
		u.mu.Unlock()
		<-u.firstDone
		return u.firstErr
	}
	// The attempt goes on; when it succeeds, OnToolsChanged tells the
	// caller that the tools can be listed now.
	u.lateStart = true
	reason := u.reason
	u.mu.Unlock()
	return fmt.Errorf("mcp %s: start: %w (%s; still starting in the background)", u.cfg.Name, ctx.Err(), reason)
}

// awaitFirst waits, as long as ctx allows, for the first connection attempt
// to finish — also when Start has not been called yet, since the source set
// starts upstreams concurrently with serving from the catalog cache. A call
// arriving while weft is starting thus waits for its upstream instead of
// failing; once the first attempt is over (connected or not) calls never
// wait here, so a crashed upstream fails fast. A closed upstream never waits.
func (u *Upstream) awaitFirst(ctx context.Context) {
	u.mu.Lock()
	closed := u.closed
	u.mu.Unlock()
	if closed {
		return
	}
	u.awaiting.Add(1)
	defer u.awaiting.Add(-1)
	select {
	case <-u.firstDone:
	case <-u.ctx.Done():
	case <-ctx.Done():
	}
}

// Tools lists the upstream's tools, following pagination cursors.
func (u *Upstream) Tools(ctx context.Context) ([]catalog.Tool, error) {
	u.awaitFirst(ctx)
	s, err := u.current("list tools")
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	if u.sess == s && u.initTools != nil {
		tools := u.initTools
		u.initTools = nil
		u.mu.Unlock()
		return tools, nil
	}
	u.mu.Unlock()
	lctx, stop := bind(ctx, s.ctx)
	defer stop()
	tools, err := u.listTools(lctx, s)
	if err != nil {
		return nil, u.callError(ctx, s, "list tools", "", err)
	}
	return tools, nil
}

// Call invokes tool (its upstream name) with args, a JSON object (empty
// means no arguments). Cancelling ctx sends notifications/cancelled to the
// upstream.
func (u *Upstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	op := "call " + tool
	params := &sdk.CallToolParams{Name: tool}
	if a := trimSpace(args); len(a) > 0 && string(a) != "null" {
		if a[0] != '{' || !json.Valid(a) {
			return nil, fmt.Errorf("mcp %s: %s: arguments must be a JSON object", u.cfg.Name, op)
		}
		params.Arguments = json.RawMessage(a)
	}
	u.awaitFirst(ctx)
	s, err := u.current(op)
	if err != nil {
		return nil, err
	}
	dc := downstreamFrom(ctx)
	wantsProgress := false
	if dc != nil {
		tok, end := u.relay.begin(dc)
		defer end()
		if tok != "" {
			params.SetProgressToken(tok)
			wantsProgress = true
		}
	}
	cctx, stop := bind(ctx, s.ctx)
	defer stop()
	var span trace.Span
	if u.cfg.Tracer != nil {
		cctx, span = u.traceCall(ctx, cctx, s, tool, params)
	}
	var r *source.Result
	if rc, triple, ok := s.rawCallable(); ok {
		r, err = u.callRaw(ctx, cctx, rc, s, op, tool, params, triple, span)
		if err != nil {
			return nil, err
		}
		if wantsProgress {
			dc.settle()
		}
	} else {
		res, err := s.cs.CallTool(cctx, params)
		if span != nil {
			endCallSpan(span, res != nil && res.IsError, err)
		}
		if err != nil {
			return nil, u.callError(ctx, s, op, tool, err)
		}
		if wantsProgress {
			dc.settle()
		}
		r, err = convertResult(res)
		if err != nil {
			return nil, fmt.Errorf("mcp %s: %s: %w: %v", u.cfg.Name, op, source.ErrProtocol, err)
		}
	}
	if r.IsError && r.Text() == tsUnknownTool(tool) {
		return nil, fmt.Errorf("mcp %s: %s: %w: %s", u.cfg.Name, op, source.ErrUnknownTool, r.Text())
	}
	return r, nil
}

// Health reports the current state.
func (u *Upstream) Health() source.Health {
	u.mu.Lock()
	defer u.mu.Unlock()
	return source.Health{State: u.state, Reason: u.reason, Since: u.since, Restarts: u.restarts, PID: u.pid}
}

// OnToolsChanged registers f to be called (from a goroutine of the
// upstream, never concurrently with itself) after the upstream announced
// notifications/tools/list_changed and after every reconnection.
func (u *Upstream) OnToolsChanged(f func()) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.callbacks = append(u.callbacks, f)
}

// Close stops supervision, fails in-flight calls, ends the process group of
// a stdio upstream (SIGTERM, then SIGKILL after ~2s) and reaps it. It is
// idempotent and returns when everything has stopped.
func (u *Upstream) Close() error {
	u.mu.Lock()
	started := u.started
	s := u.sess
	if !u.closed {
		u.closed = true
		u.sess, u.initTools = nil, nil
		u.setStateLocked(source.StateClosed, "")
	}
	u.mu.Unlock()
	u.cancel()
	if started {
		<-u.runDone
	}
	if s != nil {
		s.teardown(u) // already done by the supervisor; idempotent
	}
	u.mu.Lock()
	u.pid = 0
	u.mu.Unlock()
	return nil
}

// run is the supervisor: connect, serve until the session ends, back off,
// reconnect — until Close.
func (u *Upstream) run() {
	defer close(u.runDone)
	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			u.mu.Lock()
			u.restarts++
			u.mu.Unlock()
		}
		s, tools, seq, err := u.connect(u.ctx)
		if err != nil && u.ctx.Err() == nil {
			u.setUnhealthy(err.Error())
			u.log.Warn("upstream connection failed", "error", err.Error())
		}
		if attempt == 0 {
			if err == nil {
				u.setReady(s, tools, seq)
			}
			if err != nil && u.ctx.Err() != nil {
				err = fmt.Errorf("mcp %s: start: %w", u.cfg.Name, source.ErrClosed)
			}
			u.firstErr = err
			u.mu.Lock()
			u.firstOver = true
			late := u.lateStart
			u.mu.Unlock()
			close(u.firstDone) // after the state reflects the outcome
			if late && err == nil {
				u.signalChanged()
			}
		}
		if err != nil {
			if u.ctx.Err() != nil {
				return
			}
			failures++
			if !u.sleep(backoff(failures, u.cfg.RestartBackoff, u.cfg.MaxRestartBackoff)) {
				return
			}
			continue
		}
		if attempt > 0 {
			u.setReady(s, tools, seq)
			u.log.Info("upstream reconnected", "restarts", attempt, "tools", len(tools))
			u.signalChanged()
		}
		began := time.Now()
		u.watch(s)
		u.mu.Lock()
		if u.sess == s {
			u.sess, u.initTools = nil, nil
		}
		u.mu.Unlock()
		if u.ctx.Err() != nil {
			s.teardown(u)
			return
		}
		<-s.ended
		u.setUnhealthy(s.endReason) // before teardown: new calls fail fast
		u.log.Warn("upstream connection lost", "reason", s.endReason)
		s.teardown(u)
		if time.Since(began) >= stableAfter {
			failures = 0
		}
		failures++
		if !u.sleep(backoff(failures, u.cfg.RestartBackoff, u.cfg.MaxRestartBackoff)) {
			return
		}
	}
}

// watch blocks until s ended or the upstream is closed, pinging idle HTTP
// sessions so that a vanished server is noticed.
func (u *Upstream) watch(s *session) {
	var tick <-chan time.Time
	if s.proc == nil && u.pingInterval > 0 {
		t := time.NewTicker(u.pingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.ended:
			return
		case <-u.ctx.Done():
			return
		case <-tick:
			ctx, cancel := context.WithTimeout(s.ctx, u.cfg.PingTimeout)
			err := s.cs.Ping(ctx, nil)
			cancel()
			if err != nil && !answered(err) && s.ctx.Err() == nil {
				s.end("ping failed: " + u.red.redact(err.Error()))
				return
			}
		}
	}
}

// sleep waits d or until Close; it reports whether to go on.
func (u *Upstream) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-u.ctx.Done():
		return false
	}
}

// current returns the ready session, or an error saying why there is none.
func (u *Upstream) current(op string) (*session, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, fmt.Errorf("mcp %s: %s: %w", u.cfg.Name, op, source.ErrClosed)
	}
	if u.sess == nil || u.sess.isEnded() {
		reason := u.reason
		if reason == "" {
			reason = string(u.state)
		}
		return nil, fmt.Errorf("mcp %s: %s: %w (%s)", u.cfg.Name, op, source.ErrUnavailable, reason)
	}
	return u.sess, nil
}

// setReady makes s the current session. tools is its first list, taken
// when changeSeq was seq: if the upstream announced a change since, the
// list is dropped and the callbacks fire.
func (u *Upstream) setReady(s *session, tools []catalog.Tool, seq uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return
	}
	u.sess, u.initTools = s, tools
	if u.changeSeq != seq {
		u.initTools = nil
		u.signalChanged()
	}
	if s.proc != nil {
		u.pid = s.proc.pid
	}
	u.setStateLocked(source.StateReady, "")
	u.relay.sessionReady()
}

func (u *Upstream) setUnhealthy(reason string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return
	}
	u.pid = 0
	u.setStateLocked(source.StateUnhealthy, reason)
}

// setStarting records why a connection attempt is still going on; the
// state stays what it was (starting at first, unhealthy after a loss).
func (u *Upstream) setStarting(reason string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.closed && u.state == source.StateStarting {
		u.reason = reason
	}
}

func (u *Upstream) setPID(pid int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.closed {
		u.pid = pid
	}
}

func (u *Upstream) setStateLocked(st source.State, reason string) {
	if u.state != st {
		u.since = time.Now()
	}
	u.state, u.reason = st, reason
}

// toolListChanged handles notifications/tools/list_changed. It may come
// from a session that is still connecting (see setReady).
func (u *Upstream) toolListChanged() {
	u.mu.Lock()
	u.changeSeq++
	u.initTools = nil
	u.mu.Unlock()
	u.signalChanged()
}

// seq returns the tools/list_changed counter.
func (u *Upstream) seq() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.changeSeq
}

// signalChanged schedules the OnToolsChanged callbacks (coalescing bursts).
func (u *Upstream) signalChanged() {
	select {
	case u.changed <- struct{}{}:
	default:
	}
}

// notifyLoop runs the callbacks, one signal at a time, until Close.
func (u *Upstream) notifyLoop() {
	for {
		select {
		case <-u.ctx.Done():
			return
		case <-u.changed:
			u.mu.Lock()
			cbs := slices.Clone(u.callbacks)
			u.mu.Unlock()
			for _, f := range cbs {
				f()
			}
		}
	}
}

// bind returns a context that ends with ctx or with life, whichever first.
// It carries none of ctx's values: a request context of weft's own MCP
// server holds SDK values (such as the client's protocol version) that
// would otherwise leak into the upstream request.
func bind(ctx, life context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(context.Background())
	stopCtx := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	stopLife := context.AfterFunc(life, func() { cancel(context.Canceled) })
	return c, func() { stopCtx(); stopLife(); cancel(context.Canceled) }
}

// newHTTPTransport is the connection pool of one HTTP upstream. Unlike
// http.DefaultTransport (2 idle connections per host), it keeps enough
// idle connections for the concurrent calls weft multiplexes onto one
// upstream, so a burst does not open and close a TCP connection per call.
func newHTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}
