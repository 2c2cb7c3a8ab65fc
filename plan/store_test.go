package plan

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/testenv"
)

// backend opens run stores on one location: every call to open is another
// process (replica) opening the same store.
type backend struct {
	name string
	new  func(t *testing.T) (open func(t *testing.T, o StoreOptions) RunStore)
}

// backends are the run stores every store test runs against: the SQLite
// file (the default) and PostgreSQL (WEFT_TEST_POSTGRES_URL, a fresh
// database per test).
var backends = []backend{
	{"sqlite", func(t *testing.T) func(*testing.T, StoreOptions) RunStore {
		path := filepath.Join(t.TempDir(), "runs.db")
		return func(t *testing.T, o StoreOptions) RunStore {
			t.Helper()
			s, err := OpenStoreWith(context.Background(), path, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
	{"postgres", func(t *testing.T) func(*testing.T, StoreOptions) RunStore {
		url := testenv.PostgresURL(t)
		return func(t *testing.T, o StoreOptions) RunStore {
			t.Helper()
			s, err := OpenPostgresStore(context.Background(), url, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
}

// eachBackend runs a test against every backend.
func eachBackend(t *testing.T, test func(t *testing.T, open func(t *testing.T, o StoreOptions) RunStore)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel() // each backend has its own location
			test(t, b.new(t))
		})
	}
}

func TestStoreIsWAL(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var mode string
	if err := store.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
}

func TestStoreRecordsSurviveRestart(t *testing.T) { eachBackend(t, testStoreRecordsSurviveRestart) }

func testStoreRecordsSurviveRestart(t *testing.T, open func(*testing.T, StoreOptions) RunStore) {
	ctx := context.Background()
	store := open(t, StoreOptions{})
	e := newEnv(t, ExecutorOptions{Records: store})
	r := e.run(t, `{"name":"recorded","inputs":{"type":"object","properties":{"n":{"type":"integer"}}},
		"steps":[{"id":"l","tool":"t__list","args":{"n":"{{inputs.n}}"}},{"id":"bad","tool":"t__fail","args":{"why":"w"}}]}`, map[string]any{"n": 2})
	if r.Status != RunFailed {
		t.Fatalf("status %s", r.Status)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = open(t, StoreOptions{})
	defer store.Close()
	got, err := store.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != RunFailed || got.Name != "recorded" || jsonOf(got.Inputs) != `{"n":2}` || got.Error != r.Error {
		t.Errorf("record: %s", jsonOf(got))
	}
	if jsonOf(got.Steps) != jsonOf(r.Steps) || jsonOf(got.Plan) != jsonOf(r.Plan) {
		t.Errorf("steps or plan differ after reopen:\n%s\n%s", jsonOf(got.Steps), jsonOf(r.Steps))
	}
	if !got.Started.Equal(r.Started) || !got.Finished.Equal(r.Finished) {
		t.Errorf("times differ")
	}
	list, err := store.List(ctx, ListOptions{})
	if err != nil || len(list) != 1 || list[0].ID != r.ID || list[0].Steps != 2 || list[0].Failed != 1 || list[0].Status != RunFailed {
		t.Errorf("list = %+v, %v", list, err)
	}
	if _, err := store.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
}

func TestStoreMarksInterruptedRuns(t *testing.T) { eachBackend(t, testStoreMarksInterruptedRuns) }

func testStoreMarksInterruptedRuns(t *testing.T, open func(*testing.T, StoreOptions) RunStore) {
	ctx := context.Background()
	now := time.Now()
	// Its last heartbeat was longer ago than the lease.
	store := open(t, StoreOptions{now: func() time.Time { return now.Add(-2 * StaleAfter) }})
	// A run that was in progress when its process died.
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"},{"id":"b","tool":"y"},{"id":"c","tool":"z"}]}`)
	run := &Run{ID: "crashed", Status: RunRunning, Plan: p, Started: now, Steps: []*StepRecord{
		{ID: "a", Status: StepSucceeded, Started: now, Finished: now, Result: "kept"},
		{ID: "b", Status: StepRunning, Started: now},
		{ID: "c", Status: StepPending},
	}}
	if err := store.Save(ctx, run); err != nil {
		t.Fatal(err)
	}
	store.Close()

	store = open(t, StoreOptions{})
	defer store.Close()
	got, err := store.Get(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != RunInterrupted || got.Error == "" {
		t.Errorf("status %s (%q)", got.Status, got.Error)
	}
	want := []StepStatus{StepSucceeded, StepInterrupted, StepInterrupted}
	for i, s := range got.Steps {
		if s.Status != want[i] {
			t.Errorf("step %s: %s, want %s", s.ID, s.Status, want[i])
		}
	}
	if got.Steps[0].Result != "kept" {
		t.Errorf("partial result lost: %s", jsonOf(got.Steps[0]))
	}
	if l, _ := store.List(ctx, ListOptions{Status: RunInterrupted}); len(l) != 1 {
		t.Errorf("list interrupted = %+v", l)
	}
}

func TestStoreRetention(t *testing.T) { eachBackend(t, testStoreRetention) }

func testStoreRetention(t *testing.T, open func(*testing.T, StoreOptions) RunStore) {
	ctx := context.Background()
	store := open(t, StoreOptions{})
	defer store.Close()
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"}]}`)
	now := time.Now()
	save := func(id string, age time.Duration, status RunStatus) {
		t.Helper()
		if err := store.Save(ctx, &Run{ID: id, Status: status, Plan: p, Started: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	save("old1", 48*time.Hour, RunSucceeded)
	save("old2", 30*time.Hour, RunFailed)
	save("live", 40*time.Hour, RunRunning) // never pruned
	for i, id := range []string{"n1", "n2", "n3", "n4"} {
		save(id, time.Duration(4-i)*time.Minute, RunSucceeded)
	}
	n, err := store.Prune(ctx, Retention{MaxAge: 24 * time.Hour})
	if err != nil || n != 2 {
		t.Fatalf("prune by age: %d, %v", n, err)
	}
	n, err = store.Prune(ctx, Retention{MaxCount: 2})
	if err != nil || n != 2 {
		t.Fatalf("prune by count: %d, %v", n, err)
	}
	list, _ := store.List(ctx, ListOptions{})
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if jsonOf(ids) != `["n4","n3","live"]` {
		t.Errorf("kept %v", ids)
	}
	page, _ := store.List(ctx, ListOptions{Limit: 1, Before: list[0].Started})
	if len(page) != 1 || page[0].ID != "n3" {
		t.Errorf("page = %+v", page)
	}
}

// savedRecords passes saves on to a store and reports each saved record.
type savedRecords struct {
	RunStore
	saved chan *Run
}

func (s savedRecords) Save(ctx context.Context, r *Run) error {
	err := s.RunStore.Save(ctx, r)
	if err == nil {
		select {
		case s.saved <- r:
		default: // nobody is looking
		}
	}
	return err
}

func TestRunSavedWhileRunning(t *testing.T) { eachBackend(t, testRunSavedWhileRunning) }

func testRunSavedWhileRunning(t *testing.T, open func(*testing.T, StoreOptions) RunStore) {
	ctx := context.Background()
	store := open(t, StoreOptions{})
	defer store.Close()
	rec := savedRecords{RunStore: store, saved: make(chan *Run)}
	e := newEnv(t, ExecutorOptions{Records: rec, SaveInterval: 20 * time.Millisecond})
	release := e.tools.hold("s")
	started := make(chan struct{})
	h, err := e.x.Start(ctx, mustParse(t, `{"steps":[{"id":"a","tool":"t__count","args":{"n":1}},{"id":"s","tool":"t__hold","args":{"tag":"s"},"depends_on":["a"]}]}`), nil, RunOptions{OnEvent: func(ev Event) {
		if ev.Type == EventStepStarted && ev.Step == "s" {
			close(started)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	mid, err := store.Get(ctx, h.ID())
	if err != nil || mid.Status != RunRunning {
		t.Fatalf("record while running: %v %v", mid, err)
	}
	if snap := h.Snapshot(); snap.Steps[1].Status != StepRunning {
		t.Errorf("live snapshot: %s", jsonOf(snap.Steps))
	}
	// Progress is saved while the run is going: a crash now would leave a's
	// result. Wait for the periodic save that has it (s holds until then).
	timeout := time.After(30 * time.Second)
	for saved := false; !saved; {
		select {
		case <-rec.saved:
			mid, _ := store.Get(ctx, h.ID())
			saved = mid.Steps[0].Status == StepSucceeded && jsonOf(mid.Steps[0].Result) == `{"n":1}` && mid.Steps[1].Status == StepRunning
		case <-timeout:
			mid, _ := store.Get(ctx, h.ID())
			t.Fatalf("no progress record: %s", jsonOf(mid.Steps))
		}
	}
	release()
	if _, err := h.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	final, _ := store.Get(ctx, h.ID())
	if final.Status != RunSucceeded || final.Steps[1].Status != StepSucceeded {
		t.Errorf("final record: %s", jsonOf(final))
	}
}

// TestLiveRunsAreNotInterrupted: two replicas share a store. Replica A
// runs a run; B opening the store and pruning it leave the run alone for
// as long as A renews its lease (two leases long). A dies — it stops
// renewing — and once the lease expired, B marks the run interrupted.
func TestLiveRunsAreNotInterrupted(t *testing.T) { eachBackend(t, testLiveRunsAreNotInterrupted) }

func testLiveRunsAreNotInterrupted(t *testing.T, open func(*testing.T, StoreOptions) RunStore) {
	ctx := context.Background()
	// Renewed every second: two seconds of slack for a loaded machine.
	const lease = 3 * time.Second
	a := open(t, StoreOptions{Replica: "a", Lease: lease})
	defer a.Close()
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"}]}`)
	if err := a.Save(ctx, &Run{ID: "live", Status: RunRunning, Plan: p, Started: time.Now(), Steps: []*StepRecord{{ID: "a", Status: StepRunning}}}); err != nil {
		t.Fatal(err)
	}
	b := open(t, StoreOptions{Replica: "b", Lease: lease})
	defer b.Close()
	// Two leases long, B keeps pruning: the run stays A's, running.
	for start := time.Now(); time.Since(start) < 2*lease; {
		if _, err := b.Prune(ctx, Retention{MaxAge: time.Hour, MaxCount: 1}); err != nil {
			t.Fatal(err)
		}
		if r, err := b.Get(ctx, "live"); err != nil || r.Status != RunRunning {
			t.Fatalf("A's live run after B opened and pruned the store: %v %v", r.Status, err)
		}
		<-time.After(lease / 4)
	}
	// A dies: no more renewals (Close leaves the record as it is).
	a.Close()
	deadline := time.Now().Add(lease + 10*time.Second)
	for {
		if _, err := b.Prune(ctx, Retention{}); err != nil {
			t.Fatal(err)
		}
		r, err := b.Get(ctx, "live")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == RunInterrupted {
			if r.Steps[0].Status != StepInterrupted {
				t.Errorf("step of the interrupted run: %s", r.Steps[0].Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's run is still %s %v after A stopped renewing its lease", r.Status, lease+10*time.Second)
		}
		<-time.After(lease / 4)
	}
}

// TestStoreOwnersAndResults: owners see their own runs, a run id another
// client picked cannot be taken over, and idempotency results expire.
func TestStoreOwnersAndResults(t *testing.T) { eachBackend(t, testStoreOwnersAndResults) }

func testStoreOwnersAndResults(t *testing.T, open func(*testing.T, StoreOptions) RunStore) {
	ctx := context.Background()
	now := time.Now()
	var skew atomic.Int64 // the store's clock runs this far ahead
	store := open(t, StoreOptions{now: func() time.Time { return now.Add(time.Duration(skew.Load())) }})
	defer store.Close()
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"}]}`)
	for _, r := range []*Run{{ID: "r1", Owner: "alice"}, {ID: "r2", Owner: "bob"}, {ID: "r3", Owner: "alice"}} {
		r.Status, r.Plan, r.Started = RunSucceeded, p, time.Now()
		if err := store.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Save(ctx, &Run{ID: "r1", Owner: "bob", Status: RunFailed, Plan: p, Started: time.Now()}); err == nil {
		t.Error("bob took over alice's run id")
	}
	alice, bob := engine.WithClient(ctx, "alice"), engine.WithClient(ctx, "bob")
	if _, err := store.Get(bob, "r1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's run: %v", err)
	}
	if r, err := store.Get(alice, "r1"); err != nil || r.Owner != "alice" || r.Status != RunSucceeded {
		t.Errorf("alice's run: %+v %v", r, err)
	}
	ids := func(ctx context.Context) string {
		l, err := store.List(ctx, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range l {
			out = append(out, r.ID)
		}
		return jsonOf(out)
	}
	if got := ids(alice); got != `["r3","r1"]` {
		t.Errorf("alice lists %s", got)
	}
	if got := ids(ctx); got != `["r3","r2","r1"]` {
		t.Errorf("the operator lists %s", got)
	}
	c := store.Results()
	if err := c.Set(ctx, "k", []byte(`{"v":1}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "forever", []byte(`2`), 0); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, "k"); err != nil || !ok || string(v) != `{"v":1}` {
		t.Errorf("result: %s %v %v", v, ok, err)
	}
	skew.Store(int64(2 * time.Minute))
	if _, ok, err := c.Get(ctx, "k"); err != nil || ok {
		t.Errorf("an expired result is still there: %v %v", ok, err)
	}
	if v, ok, err := c.Get(ctx, "forever"); err != nil || !ok || string(v) != `2` {
		t.Errorf("a result without expiry: %s %v %v", v, ok, err)
	}
}
