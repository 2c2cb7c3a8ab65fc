package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// TestCanceledWithTimeout: with a per-call timeout (the engine's own
// deadline context between the caller and the upstream), the caller's
// cancellation still reaches an upstream blocked on its context.
func TestCanceledWithTimeout(t *testing.T) {
	f := newFixture(t, engine.Options{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { f.waitStarted(t, 1); cancel() }()
	_, err := f.eng.Call(ctx, "alpha__hold", nil)
	callErr(t, err, engine.CodeCanceled)
}

// TestCallerDeadlineShorter: a caller's deadline shorter than the tool
// timeout ends the call (the caller's context is passed on as is).
func TestCallerDeadlineShorter(t *testing.T) {
	f := newFixture(t, engine.Options{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := f.eng.Call(ctx, "alpha__sleep", json.RawMessage(`{"ms":60000}`))
	callErr(t, err, engine.CodeTimeout)
}

// ctxUpstream hands each call's context to the test and blocks until told.
type ctxUpstream struct {
	got  chan context.Context
	done chan struct{}
}

func (u *ctxUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	u.got <- ctx
	select {
	case <-u.done:
		return source.TextResult("ok", false), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func ctxEngine(t *testing.T, timeout time.Duration) (*engine.Engine, *ctxUpstream) {
	t.Helper()
	up := &ctxUpstream{got: make(chan context.Context, 64), done: make(chan struct{})}
	snap := catalog.NewSnapshot([]catalog.Tool{{Server: "s", Original: "t", InputSchema: json.RawMessage(`{"type":"object"}`)}})
	return engine.New(engine.Options{
		Catalog:   staticCatalog{snap},
		Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return up, true }),
		Timeout:   timeout,
	}), up
}

// TestDeadlineContext: the context an upstream gets carries the caller's
// values and the call's deadline; context.AfterFunc on it runs at the
// deadline; after the call it is done with Canceled (as a CancelFunc would
// leave it) and AfterFuncs stopped in time never run.
func TestDeadlineContext(t *testing.T) {
	eng, up := ctxEngine(t, 80*time.Millisecond)
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancel()

	ran := make(chan struct{})
	var stopErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		_, stopErr = eng.Call(parent, "s__t", nil)
	})
	ctx := <-up.got
	if ctx.Value(key{}) != "v" {
		t.Fatal("caller's value lost")
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > 80*time.Millisecond {
		t.Fatalf("deadline %v %v", d, ok)
	}
	stopped := context.AfterFunc(ctx, func() { t.Error("stopped AfterFunc ran") })
	if !stopped() {
		t.Fatal("stop of a pending AfterFunc reported false")
	}
	context.AfterFunc(ctx, func() { close(ran) })
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	<-ran // the deadline fired the AfterFunc
	<-child.Done()
	if !errors.Is(child.Err(), context.DeadlineExceeded) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("errs %v %v", child.Err(), ctx.Err())
	}
	wg.Wait()
	callErr(t, stopErr, engine.CodeTimeout)

	// A call that ends in time leaves its context canceled.
	wg.Go(func() { _, stopErr = eng.Call(parent, "s__t", nil) })
	ctx = <-up.got
	up.done <- struct{}{}
	wg.Wait()
	if stopErr != nil {
		t.Fatal(stopErr)
	}
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("after the call: %v", ctx.Err())
	}
}

// TestDeadlinesManyCalls: concurrent calls with different parents — some
// canceled, most ending at their deadline, some released — all end, each
// with its own outcome, and leave nothing on the deadline wheel.
func TestDeadlinesManyCalls(t *testing.T) {
	eng, up := ctxEngine(t, time.Second) // long enough for every cancel to come first
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, n)
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		if i%3 == 0 {
			ctx = context.Background() // a parent that is never canceled
		}
		wg.Go(func() { _, errs[i] = eng.Call(ctx, "s__t", nil) })
	}
	ctxs := make([]context.Context, 0, n)
	for range n {
		ctxs = append(ctxs, <-up.got)
	}
	for i := 1; i < n; i += 3 {
		cancels[i]()
	}
	wg.Wait()
	for i, ctx := range ctxs {
		if ctx.Err() == nil || engine.OnWheel(ctx) {
			t.Errorf("call %d's context after the call: err %v, on the wheel %v", i, ctx.Err(), engine.OnWheel(ctx))
		}
	}
	for i, err := range errs {
		want := engine.CodeTimeout
		if i%3 == 1 {
			want = engine.CodeCanceled
		}
		callErr(t, err, want)
	}
	for _, c := range cancels {
		c()
	}
}

// nestedUpstream's "outer" tool calls "inner" through the engine with a
// shorter timeout (as a code-mode program's tool calls do): the inner
// call's context has the outer call's context as its parent. "inner"
// hands its context to the test and waits on Done.
type nestedUpstream struct {
	eng   *engine.Engine
	inner chan context.Context
	err   chan error
}

func (u *nestedUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	if tool == "outer" {
		_, err := u.eng.CallWith(ctx, "s__inner", nil, engine.CallOptions{Timeout: 30 * time.Minute})
		u.err <- err
		return nil, err
	}
	u.inner <- ctx
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestNestedCallCanceled: the caller's cancellation ends a call made from
// inside a call (two engine deadline contexts, one the parent of the
// other), both waiting only on Done, so the wheel's poll ends both.
func TestNestedCallCanceled(t *testing.T) {
	up := &nestedUpstream{inner: make(chan context.Context, 1), err: make(chan error, 1)}
	snap := catalog.NewSnapshot([]catalog.Tool{
		{Server: "s", Original: "outer", InputSchema: json.RawMessage(`{"type":"object"}`)},
		{Server: "s", Original: "inner", InputSchema: json.RawMessage(`{"type":"object"}`)},
	})
	up.eng = engine.New(engine.Options{
		Catalog:   staticCatalog{snap},
		Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return up, true }),
		Timeout:   time.Hour,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-up.inner; cancel() }()
	_, err := up.eng.Call(ctx, "s__outer", nil)
	callErr(t, err, engine.CodeCanceled)
	callErr(t, <-up.err, engine.CodeCanceled)
}

// retainingUpstream keeps every call's context past the call, as a
// goroutine an upstream started would.
type retainingUpstream struct {
	mu   sync.Mutex
	ctxs []context.Context
}

func (u *retainingUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	u.mu.Lock()
	u.ctxs = append(u.ctxs, ctx)
	u.mu.Unlock()
	return source.TextResult("ok", false), nil
}

// TestRetainedContextKeepsItsCall: a context retained past its call keeps
// seeing its own call — its client, its deadline, Canceled — never a later
// call's (which is why the engine does not pool its per-call contexts).
func TestRetainedContextKeepsItsCall(t *testing.T) {
	up := &retainingUpstream{}
	snap := catalog.NewSnapshot([]catalog.Tool{{Server: "s", Original: "t", InputSchema: json.RawMessage(`{"type":"object"}`)}})
	eng := engine.New(engine.Options{
		Catalog:   staticCatalog{snap},
		Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return up, true }),
		Timeout:   time.Hour,
	})
	clients := []string{"a", "b", "c", "d"}
	for i, cl := range clients {
		ctx := engine.WithClient(context.Background(), cl)
		if _, err := eng.CallWith(ctx, "s__t", nil, engine.CallOptions{Timeout: time.Duration(i+1) * time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	if len(up.ctxs) != len(clients) {
		t.Fatalf("%d calls seen", len(up.ctxs))
	}
	var prev time.Time
	for i, ctx := range up.ctxs {
		if got := engine.ClientFrom(ctx); got != clients[i] {
			t.Errorf("call %d's retained context has client %q, want %q", i, got, clients[i])
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("call %d's retained context: %v", i, ctx.Err())
		}
		d, _ := ctx.Deadline()
		if !d.After(prev) {
			t.Errorf("call %d's deadline %v is not its own (previous %v)", i, d, prev)
		}
		prev = d
	}
}
