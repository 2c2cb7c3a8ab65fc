package sandbox

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// wedgedTools is a call path whose calls ignore their context: each call
// blocks until release is closed (a wedged upstream the engine could not
// end). started receives one value per call that began.
type wedgedTools struct {
	snap    *catalog.Snapshot
	release chan struct{}
	started chan string
	active  atomic.Int64
}

func newWedgedTools() *wedgedTools {
	return &wedgedTools{snap: catalog.NewSnapshot(testTools()), release: make(chan struct{}), started: make(chan string, 1000)}
}

func (w *wedgedTools) Snapshot() *catalog.Snapshot { return w.snap }

func (w *wedgedTools) Call(ctx context.Context, name string, args json.RawMessage) (*source.Result, error) {
	w.active.Add(1)
	defer w.active.Add(-1)
	w.started <- engine.ClientFrom(ctx)
	<-w.release
	return source.TextResult(`"late"`, false), nil
}

// TestRunEndsWithoutWaitingForCalls: a run ends at its deadline even when a
// call it started never returns; the call is logged as canceled and its late
// result is dropped. (issue 9 #2, run part)
func TestRunEndsWithoutWaitingForCalls(t *testing.T) {
	w := newWedgedTools()
	sb, err := New(Options{Tools: w})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}, 1)
	sb.callExited = func() { exited <- struct{}{} }
	start := time.Now()
	res, err := sb.Run(context.Background(), Request{Code: `return await tools.util.echo({})`, Language: JavaScript, Limits: Limits{Timeout: 300 * time.Millisecond}})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error == nil || res.Error.Kind != KindTimeout {
		t.Fatalf("got %+v", res.Error)
	}
	if took > 2*time.Second {
		t.Fatalf("the run took %v with a 300ms timeout and a wedged call", took)
	}
	if len(res.Calls) != 1 || res.Calls[0].Outcome != OutcomeError || res.Calls[0].Code != string(engine.CodeCanceled) {
		t.Fatalf("call log: %+v", res.Calls)
	}
	before, _ := json.Marshal(res.Calls[0])
	close(w.release) // the wedged call returns after the run ended
	<-exited
	if after, _ := json.Marshal(res.Calls[0]); string(after) != string(before) {
		t.Fatalf("the late outcome changed the answered call log: %s, was %s", after, before)
	}
}

// TestOneClientCannotTakeEveryRunSlot: a client holds at most its share of
// the VM slots, another client's program runs meanwhile, and a freed slot
// goes to a waiting client before the busy client's next program. (issue 9
// #11, VM part)
func TestOneClientCannotTakeEveryRunSlot(t *testing.T) {
	w := newWedgedTools()
	sb, err := New(Options{Tools: w, MaxConcurrentRuns: 2, MaxConcurrentRunsPerClient: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctxA := engine.WithClient(context.Background(), "A")
	ctxB := engine.WithClient(context.Background(), "B")
	wedged := Request{Code: `return await tools.util.echo({})`, Language: JavaScript, Limits: Limits{Timeout: time.Minute}}

	var wg sync.WaitGroup
	defer func() {
		close(w.release)
		wg.Wait()
	}()
	ctxA1, cancelA1 := context.WithCancel(ctxA)
	defer cancelA1()
	wg.Go(func() { sb.Run(ctxA1, wedged) }) // A takes both slots
	wg.Go(func() { sb.Run(ctxA, wedged) })
	<-w.started
	<-w.started
	// A queues five more; B queues one, later.
	for range 5 {
		wg.Go(func() { sb.Run(ctxA, wedged) })
	}
	for !queued(sb, "A", 5) {
		time.Sleep(time.Millisecond)
	}
	bDone := make(chan *RunResult, 1)
	wg.Go(func() {
		res, _ := sb.Run(ctxB, Request{Code: `return 1 + 1`, Language: JavaScript})
		bDone <- res
	})
	for !queued(sb, "B", 1) {
		time.Sleep(time.Millisecond)
	}
	// One of A's programs ends: B, which waited and holds nothing, runs
	// next, before A's five queued programs.
	cancelA1()
	select {
	case res := <-bDone:
		if res.Error != nil || string(res.Result) != "2" {
			t.Fatalf("B: %+v %s", res.Error, res.Result)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("B's program did not run after a slot was freed")
	}
	if !queued(sb, "A", 4) && !queued(sb, "A", 5) {
		t.Errorf("A's queue changed unexpectedly")
	}

	// With the default share (DefaultRunsPerClient of 4 slots on this
	// machine's CPUs), A alone holds only its share and B still runs.
	share := DefaultRunsPerClient(4, runtime.GOMAXPROCS(0))
	w2 := newWedgedTools()
	sb2, err := New(Options{Tools: w2, MaxConcurrentRuns: 4})
	if err != nil {
		t.Fatal(err)
	}
	var wg2 sync.WaitGroup
	for range 6 {
		wg2.Go(func() { sb2.Run(ctxA, wedged) })
	}
	for range share {
		<-w2.started
	}
	for !queued(sb2, "A", 6-share) {
		time.Sleep(time.Millisecond)
	}
	res, err := sb2.Run(ctxB, Request{Code: `return 1 + 1`, Language: JavaScript})
	if err != nil || res.Error != nil || string(res.Result) != "2" {
		t.Fatalf("B beside A's six programs: %v %+v", err, res)
	}
	if n := w2.active.Load(); n != int64(share) {
		t.Errorf("A runs %d programs at once, want its share of %d", n, share)
	}
	close(w2.release)
	wg2.Wait()
}

// queued reports whether client has n programs waiting for a slot.
func queued(sb *Sandbox, client string, n int) bool {
	sb.slots.mu.Lock()
	defer sb.slots.mu.Unlock()
	return len(sb.slots.queues[client]) == n
}

// scope is a test policy: the tools named, on every server.
type scope map[string]bool

func (s scope) Allows(t *catalog.Tool) bool { return s[t.Name] }

func (s scope) AllowsServer(string) bool { return true }

type fixedSearcher []SearchHit

func (f fixedSearcher) Search(context.Context, string, int) ([]SearchHit, error) { return f, nil }

// TestPolicyDecidesWhatARunSees: a run's tools namespace, callTool,
// searchTools and typings come from the caller's policy on ctx; a tool
// outside it is exactly as absent as one that does not exist. (issue 9 #14,
// code part)
func TestPolicyDecidesWhatARunSees(t *testing.T) {
	f := newFixture(t, Options{Searcher: fixedSearcher{{Name: "util__fail", Score: 2}, {Name: "util__echo", Score: 1}}})
	ctx := engine.WithPolicy(context.Background(), scope{"util__echo": true, "my-srv__get-weather": true})
	res, err := f.sb.Run(ctx, Request{Language: JavaScript, Code: `
const keys = Object.keys(tools).sort().map((s) => s + ":" + Object.keys(tools[s]).sort().join("+")).join(",");
const errs = [];
for (const n of ["util__fail", "util__nonexistent"]) {
  try { await callTool(n, {}) } catch (e) { errs.push(e.code + " " + e.message.replace(n, "NAME")) }
}
const found = (await searchTools("x")).map((h) => h.name).join(",");
return [keys, errs[0] === errs[1], errs[0], found]`})
	if err != nil {
		t.Fatal(err)
	}
	want := `["my_srv:get_weather,util:echo",true,"unknown_tool no tool named \"NAME\" in the catalog","util__echo"]`
	if res.Error != nil || string(res.Result) != want {
		t.Fatalf("got %+v %s\nwant %s", res.Error, res.Result, want)
	}
	// The call log says the same as for a tool that does not exist.
	if res.Calls[0].Code != string(engine.CodeUnknownTool) {
		t.Errorf("call log: %+v", res.Calls[0])
	}
	fail, _ := f.cat.snap.Get("util__fail")
	echo, _ := f.cat.snap.Get("util__echo")
	if ts := f.sb.Typings(ctx, []*catalog.Tool{fail, echo}); strings.Contains(ts, "function fail") || !strings.Contains(ts, "function echo") {
		t.Errorf("typings show hidden tools or miss visible ones:\n%s", ts)
	}
}
