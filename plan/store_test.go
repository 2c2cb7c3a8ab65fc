package plan

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreRecordsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	store, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := store.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
	e := newEnv(t, ExecutorOptions{Records: store})
	r := e.run(t, `{"name":"recorded","inputs":{"type":"object","properties":{"n":{"type":"integer"}}},
		"steps":[{"id":"l","tool":"t__list","args":{"n":"{{inputs.n}}"}},{"id":"bad","tool":"t__fail","args":{"why":"w"}}]}`, map[string]any{"n": 2})
	if r.Status != RunFailed {
		t.Fatalf("status %s", r.Status)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
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

func TestStoreMarksInterruptedRuns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	store, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// A run that was in progress when its process died.
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"},{"id":"b","tool":"y"},{"id":"c","tool":"z"}]}`)
	now := time.Now()
	run := &Run{ID: "crashed", Status: RunRunning, Plan: p, Started: now, Steps: []*StepRecord{
		{ID: "a", Status: StepSucceeded, Started: now, Finished: now, Result: "kept"},
		{ID: "b", Status: StepRunning, Started: now},
		{ID: "c", Status: StepPending},
	}}
	// Its last heartbeat was longer ago than StaleAfter.
	store.now = func() time.Time { return now.Add(-2 * StaleAfter) }
	if err := store.Save(ctx, run); err != nil {
		t.Fatal(err)
	}
	store.Close()

	store, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
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

func TestStoreRetention(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
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
	*Store
	saved chan *Run
}

func (s savedRecords) Save(ctx context.Context, r *Run) error {
	err := s.Store.Save(ctx, r)
	if err == nil {
		select {
		case s.saved <- r:
		default: // nobody is looking
		}
	}
	return err
}

func TestRunSavedWhileRunning(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec := savedRecords{Store: store, saved: make(chan *Run)}
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

// TestLiveRunsAreNotInterrupted: a second process opening the store (weft
// runs list beside weft serve) leaves a running run whose heartbeat is
// fresh alone; once its heartbeat is older than StaleAfter, opening (or
// pruning) marks it interrupted.
func TestLiveRunsAreNotInterrupted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	server, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"}]}`)
	if err := server.Save(ctx, &Run{ID: "live", Status: RunRunning, Plan: p, Started: time.Now(), Steps: []*StepRecord{{ID: "a", Status: StepRunning}}}); err != nil {
		t.Fatal(err)
	}
	cli, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := cli.Get(ctx, "live"); err != nil || r.Status != RunRunning {
		t.Fatalf("a live run after another process opened the store: %v %v", r.Status, err)
	}
	cli.Close()
	// The serving process died: its heartbeat goes stale.
	later, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	later.now = func() time.Time { return time.Now().Add(StaleAfter + time.Second) }
	if _, err := later.Prune(ctx, Retention{}); err != nil {
		t.Fatal(err)
	}
	if r, err := later.Get(ctx, "live"); err != nil || r.Status != RunInterrupted || r.Steps[0].Status != StepInterrupted {
		t.Errorf("a stale run: %v %v", r, err)
	}
}
