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
// with its own outcome.
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
	for range n {
		<-up.got
	}
	for i := 1; i < n; i += 3 {
		cancels[i]()
	}
	wg.Wait()
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
