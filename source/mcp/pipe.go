package mcp

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// A stdio upstream that stops reading its stdin makes writes to the pipe
// block once the pipe's buffer (64 KiB on Linux) is full. The SDK's
// connection writes under a mutex and ignores the caller's context while
// writing, so one blocked write (a call with large arguments) would hold
// every later call, the best-effort notifications/cancelled and any
// answer to the server, past their deadlines, forever.
//
// pipeTransport wraps the SDK's stdio connection so that every write ends
// when its context does: one writer goroutine owns the pipe and writes one
// message at a time; a caller hands its message over and waits for the
// outcome, both as long as its context allows. A message whose caller gave
// up before the hand-over is never written; one already being written is
// finished in the background (a half-written message would corrupt the
// stream) while its caller returns. A write that stays blocked for the
// stall timeout means the upstream stopped reading its input: the
// connection reports it (onStall), the session ends, and teardown closes
// the pipe, which ends the blocked write.

// pipeTransport is an sdk.Transport whose connection has cancellable writes.
type pipeTransport struct {
	inner sdk.Transport
	// stallAfter is how long a write may stay blocked before onStall is
	// called with a description of it (0: never).
	stallAfter time.Duration
	onStall    func(reason string)
	conn       *pipeConn // set by Connect
}

// Connect implements sdk.Transport.
func (t *pipeTransport) Connect(ctx context.Context) (sdk.Connection, error) {
	c, err := t.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	t.conn = newPipeConn(c)
	if t.stallAfter > 0 {
		go t.conn.watchStall(t.stallAfter, t.onStall)
	}
	return t.conn, nil
}

// pipeConn is an sdk.Connection whose Write honours its context.
type pipeConn struct {
	sdk.Connection // Read and SessionID are the inner connection's

	reqs      chan *writeReq // unbuffered: waiting senders are the queue, in order
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error

	// busySince is when the write in progress began (UnixNano), 0 when
	// the writer is idle; busyBytes is that message's encoded size.
	busySince atomic.Int64
	busyBytes atomic.Int64
}

type writeReq struct {
	msg  jsonrpc.Message
	done chan error // buffered: the writer never blocks on a caller that left
}

func newPipeConn(inner sdk.Connection) *pipeConn {
	c := &pipeConn{Connection: inner, reqs: make(chan *writeReq), closed: make(chan struct{})}
	go c.writeLoop()
	return c
}

// writeLoop writes the handed-over messages one at a time until Close.
func (c *pipeConn) writeLoop() {
	for {
		select {
		case <-c.closed:
			return
		case r := <-c.reqs:
			c.busyBytes.Store(int64(messageSize(r.msg)))
			c.busySince.Store(time.Now().UnixNano())
			err := c.Connection.Write(context.Background(), r.msg)
			c.busySince.Store(0)
			r.done <- err
		}
	}
}

// Write implements sdk.Connection: it returns when msg was written, when
// writing failed, or when ctx ended, whichever comes first.
func (c *pipeConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{msg: msg, done: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return sdk.ErrConnectionClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return sdk.ErrConnectionClosed
	}
}

// Close implements sdk.Connection. It closes the inner connection (the
// pipes), which ends a write blocked on a full pipe.
func (c *pipeConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.closeErr = c.Connection.Close()
	})
	return c.closeErr
}

// watchStall calls onStall once if a write stays blocked for d, checking
// every d/4, until the connection is closed.
func (c *pipeConn) watchStall(d time.Duration, onStall func(string)) {
	t := time.NewTicker(max(d/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
			if st := c.stalled(d); st != "" {
				onStall(st)
				return
			}
		}
	}
}

// stalled describes a write that has been blocked for at least d, or "".
func (c *pipeConn) stalled(d time.Duration) string {
	since := c.busySince.Load()
	if since == 0 {
		return ""
	}
	blocked := time.Since(time.Unix(0, since))
	if blocked < d {
		return ""
	}
	return fmt.Sprintf("a write of %d bytes to its stdin has been blocked for %s",
		c.busyBytes.Load(), blocked.Round(time.Millisecond))
}

// messageSize is the approximate encoded size of msg, for messages.
func messageSize(msg jsonrpc.Message) int {
	switch m := msg.(type) {
	case *jsonrpc.Request:
		return len(m.Params) + len(m.Method) + 40
	case *jsonrpc.Response:
		return len(m.Result) + 40
	}
	return 0
}
