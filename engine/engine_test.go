package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
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

type holdIn struct {
	Client string `json:"client,omitempty"`
}

type fixture struct {
	set *source.Set
	eng *engine.Engine
	rec *eventLog

	// hold calls: each reports its start on started, then returns when
	// it takes a token from release (or its context ends).
	started chan string
	release chan struct{}
	mu      sync.Mutex
	holding map[string]int // in flight, by the client named in the arguments
	maxHeld map[string]int
}

// waitStarted waits for n hold calls to start and returns their clients.
func (f *fixture) waitStarted(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second) // a correctness bound, not a measurement
	for len(got) < n {
		select {
		case c := <-f.started:
			got = append(got, c)
		case <-timeout:
			t.Fatalf("only %d of %d calls started: %v", len(got), n, got)
		}
	}
	return got
}

// noneStarted asserts that no further hold call has started so far.
func (f *fixture) noneStarted(t *testing.T) {
	t.Helper()
	select {
	case c := <-f.started:
		t.Fatalf("a call of client %q started beyond the limit", c)
	default:
	}
}

// newFixture builds a real source.Set over two function sources and an
// engine over it with the given options (Catalog, Upstreams, Recorder are filled in).
func newFixture(t *testing.T, opts engine.Options) *fixture {
	t.Helper()
	f := &fixture{rec: &eventLog{}, started: make(chan string, 100), release: make(chan struct{}),
		holding: map[string]int{}, maxHeld: map[string]int{}}
	a := function.New("alpha", "test tools")
	b := function.New("beta", "more test tools")
	sleep := func(ctx context.Context, in sleepIn) (string, error) {
		select {
		case <-time.After(time.Duration(in.Ms) * time.Millisecond):
			return "slept " + in.Msg, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	function.Must(function.Add(a, "sleep", "Sleep for ms milliseconds", sleep))
	function.Must(function.Add(b, "sleep", "Sleep for ms milliseconds", sleep))
	hold := func(ctx context.Context, in holdIn) (string, error) {
		f.mu.Lock()
		f.holding[in.Client]++
		f.maxHeld[in.Client] = max(f.maxHeld[in.Client], f.holding[in.Client])
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.holding[in.Client]--
			f.mu.Unlock()
		}()
		f.started <- in.Client
		select {
		case <-f.release:
			return "released", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	function.Must(function.Add(a, "hold", "Hold until released", hold))
	function.Must(function.Add(b, "hold", "Hold until released", hold))
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
	if e.Tool != "alpha__nope" || e.Server != "" || err.Error() != "alpha__nope: no such tool in the catalog" {
		t.Fatalf("%+v %q", e, err)
	}
}

func TestInvalidArguments(t *testing.T) {
	f := newFixture(t, engine.Options{})
	_, err := f.eng.Call(context.Background(), "alpha__sleep", json.RawMessage(`{"ms":"soon"}`))
	e := callErr(t, err, engine.CodeInvalidArguments)
	if len(e.Problems) != 1 || e.Problems[0].Path != "/ms" {
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
	callErr(t, err, engine.CodeTimeout)
	if !strings.Contains(err.Error(), "no result within 50ms") {
		t.Fatal(err)
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
	go func() { f.waitStarted(t, 1); cancel() }() // cancel once the call is in flight
	_, err := f.eng.Call(ctx, "alpha__hold", nil)
	callErr(t, err, engine.CodeCanceled)
}

// TestConcurrencyLimits: held calls (released one at a time) never exceed
// the global bound of 3, nor beta's bound of 1.
func TestConcurrencyLimits(t *testing.T) {
	f := newFixture(t, engine.Options{MaxConcurrent: 3, Servers: map[string]engine.ServerLimits{"beta": {MaxConcurrency: 1}}})
	run := func(tool string, calls, bound int) int {
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				if _, err := f.eng.Call(context.Background(), tool, nil); err != nil {
					t.Error(err)
				}
			})
		}
		// The bound fills; the rest wait. Then each release lets exactly
		// one more call start.
		f.waitStarted(t, bound)
		for i := range calls {
			f.release <- struct{}{}
			if i < calls-bound {
				f.waitStarted(t, 1)
			}
		}
		wg.Wait()
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.maxHeld[""]
	}
	if got := run("alpha__hold", 12, 3); got != 3 {
		t.Fatalf("max concurrent = %d, want 3", got)
	}
	f.maxHeld[""] = 0
	if got := run("beta__hold", 4, 1); got != 1 {
		t.Fatalf("beta max concurrent = %d, want 1", got)
	}
}

// TestPerClientSlots: one client holding every call it may make waits on
// its own slots, so another client's calls still start; the local
// operator ("") is one client with its own share.
func TestPerClientSlots(t *testing.T) {
	f := newFixture(t, engine.Options{MaxConcurrent: 4, MaxConcurrentPerClient: 2, QueueTimeout: time.Minute})
	call := func(client string, errs chan<- error) {
		ctx := context.Background()
		if client != "" {
			ctx = engine.WithClient(ctx, client)
		}
		_, err := f.eng.Call(ctx, "alpha__hold", json.RawMessage(`{"client":"`+client+`"}`))
		errs <- err
	}
	errs := make(chan error, 16)
	// Client a asks for 6 parallel calls: 2 run, 4 queue on a's slots.
	for range 6 {
		go call("a", errs)
	}
	if got := f.waitStarted(t, 2); got[0] != "a" || got[1] != "a" {
		t.Fatalf("started %v", got)
	}
	// Client b and the local operator still get through: the global bound
	// (4) is not taken by a's queue.
	go call("b", errs)
	go call("", errs)
	got := f.waitStarted(t, 2)
	slices.Sort(got)
	if !slices.Equal(got, []string{"", "b"}) {
		t.Fatalf("started %v, want b and the local operator", got)
	}
	f.noneStarted(t)
	// Release everything: a's queued calls run two at a time.
	for range 8 {
		f.release <- struct{}{}
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxHeld["a"] != 2 || f.maxHeld["b"] != 1 || f.maxHeld[""] != 1 {
		t.Fatalf("max in flight per client: %v, want a:2 b:1 local:1", f.maxHeld)
	}
}

// TestPerClientQueueTimeout: a client at its bound gets overloaded after the
// queue timeout, naming the per-client limit, while another client's call
// succeeds meanwhile.
func TestPerClientQueueTimeout(t *testing.T) {
	f := newFixture(t, engine.Options{MaxConcurrent: 4, MaxConcurrentPerClient: 1, QueueTimeout: 20 * time.Millisecond})
	a := engine.WithClient(context.Background(), "a")
	done := make(chan error, 1)
	go func() {
		_, err := f.eng.Call(a, "alpha__hold", json.RawMessage(`{"client":"a"}`))
		done <- err
	}()
	f.waitStarted(t, 1)
	_, err := f.eng.Call(a, "beta__sleep", json.RawMessage(`{"ms":1}`))
	if e := callErr(t, err, engine.CodeOverloaded); !strings.Contains(e.Msg, "per-client") {
		t.Fatalf("message %q does not name the per-client limit", e.Msg)
	}
	if _, err := f.eng.Call(engine.WithClient(context.Background(), "b"), "beta__sleep", json.RawMessage(`{"ms":1}`)); err != nil {
		t.Fatal(err)
	}
	f.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestQueueTimeoutOverloaded(t *testing.T) {
	f := newFixture(t, engine.Options{MaxConcurrent: 1, QueueTimeout: 20 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := f.eng.Call(context.Background(), "alpha__hold", nil)
		done <- err
	}()
	f.waitStarted(t, 1) // the first call holds the only slot
	_, err := f.eng.Call(context.Background(), "beta__sleep", json.RawMessage(`{"ms":1}`))
	if e := callErr(t, err, engine.CodeOverloaded); !strings.Contains(e.Msg, "global") {
		t.Fatalf("message %q", e.Msg)
	}
	f.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestUnknownNamesStayOutOfTotals: names that match no tool are the
// caller's input: the event has no tool name, the error echoes the name
// clipped, and per-tool totals do not grow with them.
func TestUnknownNamesStayOutOfTotals(t *testing.T) {
	f := newFixture(t, engine.Options{})
	long := strings.Repeat("x", 30_000)
	for i := range 50 {
		_, err := f.eng.Call(context.Background(), long+strconv.Itoa(i), nil)
		e := callErr(t, err, engine.CodeUnknownTool)
		if len(e.Tool) > 200 || len(err.Error()) > 300 {
			t.Fatalf("error echoes %d bytes of the name: %.80q…", len(e.Tool), err.Error())
		}
	}
	evs := f.rec.Events()
	if len(evs) != 50 {
		t.Fatalf("%d events, want 50", len(evs))
	}
	for _, ev := range evs {
		if ev.Tool != "" || ev.Outcome != engine.OutcomeError || ev.Code != engine.CodeUnknownTool {
			t.Fatalf("event %+v", ev)
		}
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
