package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/tracing"
)

// session is one live connection to the upstream: an initialized MCP client
// session and, for stdio, the process behind it. A session is never reused
// after it ended; the supervisor builds a new one.
type session struct {
	cs   *sdk.ClientSession
	proc *process  // stdio only
	pipe *pipeConn // stdio only: the connection with cancellable writes
	raw  *rawConn  // stdio: the connection, with weft's own tools/call path (rawcall.go)
	rh   *rawHTTP  // Streamable HTTP before 2026-07-28: weft's own tools/call path (rawhttp.go)

	probing atomic.Bool // a liveness probe is running (probe.go)

	// ctx is cancelled when the session is torn down; every call and list
	// runs under it, so teardown never waits on a hung request.
	ctx    context.Context
	cancel context.CancelFunc

	ended     chan struct{} // closed when the connection or the process ended
	endOnce   sync.Once
	endReason string // set before ended is closed

	instructions string

	teardownOnce sync.Once
}

// end records why the session ended (first reason wins) and closes ended.
func (s *session) end(reason string) {
	s.endOnce.Do(func() {
		s.endReason = reason
		close(s.ended)
	})
}

// isEnded reports whether the session ended.
func (s *session) isEnded() bool {
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

// lifeTransport connects the wrapped transport with the session's context
// rather than the connect attempt's. The SSE transport ties its event stream
// to the context given to Connect, which would end the stream as soon as
// the connect timeout's context is released. While the connect attempt is
// still running, its cancellation still aborts the session.
type lifeTransport struct {
	inner  sdk.Transport
	life   context.Context
	cancel context.CancelFunc
	// raw wraps the connection in a rawConn (stdio only: the SDK's
	// Streamable HTTP client connection has unexported hooks a wrapper
	// would hide from the SDK).
	raw  bool
	conn *rawConn // set by Connect when raw
}

// Connect implements sdk.Transport.
func (t *lifeTransport) Connect(ctx context.Context) (sdk.Connection, error) {
	stop := context.AfterFunc(ctx, t.cancel)
	defer stop()
	c, err := t.inner.Connect(t.life)
	if err != nil || !t.raw {
		return c, err
	}
	t.conn = newRawConn(c)
	return t.conn, nil
}

// sessionTransport sets the configured headers on every request and ties
// every request to the session's lifetime: when the session is torn down,
// requests still in flight (a hung POST, the best-effort
// notifications/cancelled, an SSE stream) are aborted rather than waited for.
type sessionTransport struct {
	base    http.RoundTripper
	headers map[string]string
	life    context.Context
	tracer  *tracing.Tracer // sets traceparent from the request's context; nil: none
}

// RoundTrip implements http.RoundTripper.
func (t *sessionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.life.Err(); err != nil {
		return nil, fmt.Errorf("session closed: %w", err)
	}
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.life, cancel)
	r := req.Clone(ctx)
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	t.tracer.InjectHTTP(req.Context(), r.Header)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { stop(); cancel() }}
	return resp, nil
}

// releaseBody releases the request's context when the body is closed.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

// Close implements io.Closer.
func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// httpTransport builds the SDK transport for an HTTP upstream session, and
// the HTTP client it uses.
func (u *Upstream) httpTransport(life context.Context) (sdk.Transport, *http.Client) {
	client := &http.Client{Transport: &sessionTransport{base: u.httpBase, headers: u.cfg.Headers, life: life, tracer: u.cfg.Tracer}}
	if u.cfg.Transport == TransportSSE {
		return &sdk.SSEClientTransport{Endpoint: u.cfg.URL, HTTPClient: client}, client
	}
	// MaxRetries bounds how long the SDK itself tries to resume a broken
	// stream before failing the connection, after which weft's own
	// reconnection (with its backoff) takes over.
	return &sdk.StreamableClientTransport{Endpoint: u.cfg.URL, HTTPClient: client, MaxRetries: rawHTTPRetries}, client
}

// connect makes one connection attempt: start the process or open the HTTP
// session, initialize, and list the tools once. ctx bounds the attempt;
// initialize is bounded by StartTimeout for a process (which may be
// installing its package) and by ConnectTimeout over HTTP, tools/list by
// ConnectTimeout.
func (u *Upstream) connect(ctx context.Context) (*session, []catalog.Tool, uint64, error) {
	initBudget := u.cfg.ConnectTimeout
	if u.cfg.Transport == TransportStdio {
		initBudget = u.cfg.StartTimeout
	}
	ctx, cancelAttempt := context.WithTimeout(ctx, initBudget)
	defer cancelAttempt()

	sctx, scancel := context.WithCancel(u.ctx)
	s := &session{ctx: sctx, cancel: scancel, ended: make(chan struct{})}

	var tr sdk.Transport
	var pt *pipeTransport
	var fg *frameGuard
	var hc *http.Client
	if u.cfg.Transport == TransportStdio {
		p, err := startProcess(u.cfg, u.log, u.red)
		if err != nil {
			scancel()
			return nil, nil, 0, err
		}
		s.proc = p
		u.setPID(p.pid)
		u.setStarting(fmt.Sprintf("process %d started, waiting for its initialize answer (up to %s; a first start through npx or uvx installs the package)",
			p.pid, u.cfg.StartTimeout))
		// weft bounds each message itself (frame.go), so the SDK's cap,
		// which would end the whole session, is off.
		fg = newFrameGuard(p.stdout, MaxMessageBytes, u.log)
		pt = &pipeTransport{inner: &sdk.IOTransport{Reader: fg, Writer: p.stdin, MaxLineLength: -1},
			stallAfter: u.cfg.PingTimeout,
			onStall: func(st string) {
				reason := "stopped reading its input: " + st
				u.log.Warn("upstream stopped reading its input; restarting it", "reason", reason)
				s.end(reason)
			}}
		tr = pt
		// A process that dies during initialize must fail the attempt now,
		// not when the connect timeout expires.
		go func() {
			select {
			case <-p.exited:
				cancelAttempt()
			case <-ctx.Done():
			}
		}()
	} else {
		tr, hc = u.httpTransport(sctx)
	}

	// If the attempt's deadline passes during initialize, end the session's
	// life too: the SDK closes the half-open session on failure and would
	// otherwise wait (up to 5s) for in-flight requests such as the
	// best-effort notifications/cancelled to an unresponsive server.
	stopLife := context.AfterFunc(ctx, scancel)
	lt := &lifeTransport{inner: tr, life: sctx, cancel: scancel, raw: pt != nil}
	cs, err := u.client.Connect(ctx, lt, nil)
	stopLife()
	if err != nil {
		err = u.attemptError(s, "initialize", err)
		s.teardown(u)
		return nil, nil, 0, err
	}
	s.cs = cs
	s.raw = lt.conn
	if hc != nil {
		s.rh = u.newRawHTTP(s, hc)
	}
	if fg != nil && s.raw != nil {
		take := s.raw.takeLine
		fg.take.Store(&take)
	}
	if pt != nil {
		s.pipe = pt.conn
	}
	if res := cs.InitializeResult(); res != nil {
		s.instructions = res.Instructions
		attrs := []any{"protocol", res.ProtocolVersion}
		if res.ServerInfo != nil {
			attrs = append(attrs, "implementation", res.ServerInfo.Name, "version", res.ServerInfo.Version)
		}
		u.log.Info("upstream initialized", attrs...)
	}
	go func() {
		werr := cs.Wait()
		reason := "connection closed"
		if werr != nil {
			reason = "connection closed: " + werr.Error()
		}
		if s.proc != nil {
			// Prefer the process's own account (exit status, stderr).
			select {
			case <-s.proc.exited:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		s.end(u.red.redact(reason))
	}()
	if s.proc != nil {
		go func() {
			select {
			case <-s.proc.exited:
				s.proc.stop(u.log) // kill what is left of the group, drain stderr
				s.end(s.proc.exitReason())
			case <-s.ended:
			}
		}()
	}

	seq := u.seq()
	lctx, cancelList := context.WithTimeout(ctx, u.cfg.ConnectTimeout)
	defer cancelList()
	tools, err := u.listTools(lctx, s)
	if err != nil {
		err = u.attemptError(s, "list tools", err)
		s.teardown(u)
		return nil, nil, 0, err
	}
	return s, tools, seq, nil
}

// exitWait bounds how long a failed connection attempt waits for the
// process to exit once its connection broke, so that the reason given is
// the process's own account (exit status, last stderr lines) rather than
// the broken pipe the SDK saw first.
const exitWait = 2 * time.Second

// attemptError explains a failed connection attempt, preferring the
// process's exit reason when the process died.
func (u *Upstream) attemptError(s *session, step string, err error) error {
	if p := s.proc; p != nil {
		if !errors.Is(err, context.DeadlineExceeded) && u.ctx.Err() == nil {
			// A process that crashes at start closes its stdout a moment
			// before it is reaped. (Not while closing: Close stops it.)
			t := time.NewTimer(exitWait)
			select {
			case <-p.exited:
			case <-t.C:
			}
			t.Stop()
		}
		select {
		case <-p.exited:
			p.stop(u.log)
			return fmt.Errorf("mcp %s: %s: %s", u.cfg.Name, step, p.exitReason())
		default:
		}
		// (context.DeadlineExceeded counts as a net.Error, hence as a
		// transport failure: the deadline is told apart first.)
		if transportFailure(err) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("mcp %s: %s: %s", u.cfg.Name, step, p.runningReason("the process closed its stdout"))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		if step == "initialize" && s.proc != nil {
			return fmt.Errorf("mcp %s: %s: no answer within the start timeout %s; the process was stopped "+
				"(raise limits.start_timeout if the server needs longer to start, e.g. to install its package)%s",
				u.cfg.Name, step, u.cfg.StartTimeout, s.proc.stderrTail())
		}
		return fmt.Errorf("mcp %s: %s: no answer within %s (limits.discovery_timeout)", u.cfg.Name, step, u.cfg.ConnectTimeout)
	}
	return fmt.Errorf("mcp %s: %s: %s", u.cfg.Name, step, u.red.redact(err.Error()))
}

// teardown ends the session: in-flight requests are cancelled, the process
// group is stopped and reaped, and the client session is closed. It blocks
// until all of that is done (bounded).
func (s *session) teardown(u *Upstream) {
	s.teardownOnce.Do(func() {
		s.cancel()
		if s.proc != nil {
			s.proc.stop(u.log)
		}
		if s.cs != nil {
			done := make(chan struct{})
			go func() {
				_ = s.cs.Close()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(6 * time.Second): // the SDK bounds its DELETE by 5s
				u.log.Warn("closing the MCP session timed out")
			}
		}
		s.end("closed")
	})
}
