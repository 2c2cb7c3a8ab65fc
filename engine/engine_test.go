package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

type sleepIn struct {
	Ms  int    `json:"ms" jsonschema:"milliseconds to sleep"`
	Msg string `json:"msg,omitempty"`
}

type fixture struct {
	set      *source.Set
	eng      *engine.Engine
	rec      *engine.MemoryRecorder
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

// newFixture builds a real source.Set over two function sources and an
// engine over it with the given options (Catalog, Upstreams, Recorder are filled in).
func newFixture(t *testing.T, opts engine.Options) *fixture {
	t.Helper()
	f := &fixture{rec: engine.NewMemoryRecorder(0)}
	a := function.New("alpha", "test tools")
	b := function.New("beta", "more test tools")
	sleep := func(ctx context.Context, in sleepIn) (string, error) {
		n := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		for {
			m := f.maxSeen.Load()
			if n <= m || f.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-time.After(time.Duration(in.Ms) * time.Millisecond):
			return "slept " + in.Msg, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	function.Must(function.Add(a, "sleep", "Sleep for ms milliseconds", sleep))
	function.Must(function.Add(b, "sleep", "Sleep for ms milliseconds", sleep))
	function.Must(function.Add(a, "fail", "Always reports a tool error", func(ctx context.Context, in struct{}) (string, error) {
		return "", errors.New("boom")
	}))
	set, err := source.NewSet([]source.Source{a, b}, source.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	f.set = set
	opts.Catalog = set
	opts.Upstreams = engine.UpstreamsFunc(func(s string) (engine.Upstream, bool) {
		src, ok := set.Source(s)
		if !ok {
			return nil, false
		}
		return src, true
	})
	opts.Recorder = f.rec
	f.eng = engine.New(opts)
	return f
}

func callErr(t *testing.T, err error, code engine.Code) *engine.Error {
	t.Helper()
	e, ok := engine.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not *engine.Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("code = %s, want %s (%v)", e.Code, code, err)
	}
	return e
}

func TestCallOK(t *testing.T) {
	f := newFixture(t, engine.Options{})
	res, err := f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":1,"msg":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || res.Text() != `"slept hi"` {
		t.Fatalf("result %+v text %q", res, res.Text())
	}
	ev := f.rec.Events()
	if len(ev) != 1 || ev[0].Tool != "alpha__sleep" || ev[0].Server != "alpha" || ev[0].Outcome != engine.OutcomeOK || ev[0].Bytes == 0 {
		t.Fatalf("events %+v", ev)
	}
}

func TestUnknownTool(t *testing.T) {
	f := newFixture(t, engine.Options{})
	_, err := f.eng.Call(context.Background(), "alpha__nope", nil)
	e := callErr(t, err, engine.CodeUnknownTool)
	if e.HTTPStatus() != 404 || err.Error() != "alpha__nope: no such tool in the catalog" {
		t.Fatalf("%d %q", e.HTTPStatus(), err)
	}
}

func TestInvalidArguments(t *testing.T) {
	f := newFixture(t, engine.Options{})
	_, err := f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":"soon"}`))
	e := callErr(t, err, engine.CodeInvalidArguments)
	if len(e.Problems) != 1 || e.Problems[0].Path != "/ms" || e.HTTPStatus() != 400 {
		t.Fatalf("%+v", e)
	}
	if err.Error() != "alpha__sleep: invalid arguments: /ms: type: got string, want integer" {
		t.Fatalf("message %q", err)
	}
	if got := f.rec.Events()[0]; got.Outcome != engine.OutcomeError || got.Code != engine.CodeInvalidArguments {
		t.Fatalf("event %+v", got)
	}
}

func TestToolErrorReturnedIntact(t *testing.T) {
	f := newFixture(t, engine.Options{})
	res, err := f.eng.Call(context.Background(), "alpha__fail", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || res.Text() != "boom" {
		t.Fatalf("%+v", res)
	}
	if got := f.rec.Events()[0].Outcome; got != engine.OutcomeToolError {
		t.Fatalf("outcome %s", got)
	}
}

func TestTimeouts(t *testing.T) {
	f := newFixture(t, engine.Options{Timeout: 50 * time.Millisecond, Servers: map[string]engine.ServerLimits{"beta": {Timeout: 10 * time.Second}}})
	_, err := f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":5000}`))
	e := callErr(t, err, engine.CodeTimeout)
	if e.HTTPStatus() != 504 || !strings.Contains(err.Error(), "no result within 50ms") {
		t.Fatalf("%d %v", e.HTTPStatus(), err)
	}
	// beta's own timeout is longer than the default: 100 ms succeeds there.
	if _, err := f.eng.Call(context.Background(), "beta__sleep", json.RawMessage(`{"ms":100}`)); err != nil {
		t.Fatal(err)
	}
	// A per-call timeout shorter than the tool's wins.
	_, err = f.eng.CallWith(context.Background(), "beta__sleep", json.RawMessage(`{"ms":400}`), engine.CallOptions{Timeout: 20 * time.Millisecond})
	callErr(t, err, engine.CodeTimeout)
}

func TestCanceled(t *testing.T) {
	f := newFixture(t, engine.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := f.eng.Call(ctx, "alpha__sleep", json.RawMessage(`{"ms":5000}`))
	callErr(t, err, engine.CodeCanceled)
}

func TestConcurrencyLimits(t *testing.T) {
	f := newFixture(t, engine.Options{MaxConcurrent: 3, Servers: map[string]engine.ServerLimits{"beta": {MaxConcurrency: 1}}})
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":20}`)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := f.maxSeen.Load(); got != 3 {
		t.Fatalf("max concurrent = %d, want 3", got)
	}
	f.maxSeen.Store(0)
	for range 4 {
		wg.Go(func() {
			if _, err := f.eng.Call(context.Background(), "beta__sleep", json.RawMessage(`{"ms":10}`)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := f.maxSeen.Load(); got != 1 {
		t.Fatalf("beta max concurrent = %d, want 1", got)
	}
}

func TestQueueTimeoutOverloaded(t *testing.T) {
	f := newFixture(t, engine.Options{MaxConcurrent: 1, QueueTimeout: 20 * time.Millisecond})
	go f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":2000}`))
	for f.inFlight.Load() == 0 { // the first call holds the only slot
		time.Sleep(time.Millisecond)
	}
	_, err := f.eng.Call(context.Background(), "beta__sleep", json.RawMessage(`{"ms":1}`))
	e := callErr(t, err, engine.CodeOverloaded)
	if e.HTTPStatus() != 503 {
		t.Fatal(e.HTTPStatus())
	}
}

func TestClosedUpstreamUnavailable(t *testing.T) {
	f := newFixture(t, engine.Options{})
	src, _ := f.set.Source("beta")
	src.Close()
	_, err := f.eng.Call(context.Background(), "beta__sleep", json.RawMessage(`{"ms":1}`))
	callErr(t, err, engine.CodeUnavailable)
	// Other upstreams keep working.
	if _, err := f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":1}`)); err != nil {
		t.Fatal(err)
	}
}
