package plan

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testenv"
)

// TestPostgresMigrationsConcurrent: replicas starting at once on an empty
// database apply each schema version exactly once.
func TestPostgresMigrationsConcurrent(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	var wg sync.WaitGroup
	stores := make([]*PostgresStore, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = OpenPostgresStore(ctx, url, StoreOptions{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	v, err := stores[0].SchemaVersion(ctx)
	if err != nil || v != len(pgMigrations) {
		t.Errorf("schema version %d (%v), want %d", v, err, len(pgMigrations))
	}
	var n int
	if err := stores[0].pool.QueryRow(ctx, `SELECT COUNT(*) FROM weft_schema_migrations`).Scan(&n); err != nil || n != len(pgMigrations) {
		t.Errorf("%d migration rows (%v), want %d", n, err, len(pgMigrations))
	}
}

// TestPostgresNewerSchemaRefused: a database migrated by a newer weft is
// refused with a message saying so, and nothing is changed.
func TestPostgresNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	s, err := OpenPostgresStore(ctx, url, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newer := len(pgMigrations) + 1
	if _, err := s.pool.Exec(ctx, `INSERT INTO weft_schema_migrations (version) VALUES ($1)`, newer); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenPostgresStore(ctx, url, StoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "newer than this weft knows") || !strings.Contains(err.Error(), "upgrade weft") {
		t.Errorf("open at a newer schema: %v", err)
	}
}

// TestPostgresStoreErrors: a bad URL or an unreachable server is an error
// naming the database without its password.
func TestPostgresStoreErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := OpenRunStore(ctx, "postgres://weft:s3cret@127.0.0.1:1/db?sslmode=disable", StoreOptions{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable server: %v", err)
	}
	_, err = OpenRunStore(ctx, "postgres://weft:s3cret@127.0.0.1:5432/db?sslmode=nonsense", StoreOptions{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: %v", err)
	}
}

// TestPostgresCancelAndFollowAcrossReplicas: a run executing on replica A
// is followed through replica B (every event, in order, ending with
// run_finished after the final record is saved) and canceled through B.
func TestPostgresCancelAndFollowAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	a, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	e := newEnv(t, ExecutorOptions{Records: a, Cache: a.Results()})
	a.OnCancel(func(id string) {
		if h, ok := e.x.Lookup(ctx, id); ok {
			h.Cancel()
		}
	})
	b.OnCancel(func(string) {}) // B runs nothing
	release := e.tools.hold("s")
	defer release()
	entered := make(chan struct{})
	done := make(chan struct{})
	var local []Event
	var mu sync.Mutex
	relay := a.Relay("r1", done)
	h, err := e.x.Start(ctx, mustParse(t, `{"steps":[{"id":"first","tool":"t__count","args":{"n":1}},{"id":"s","tool":"t__hold","args":{"tag":"s"},"depends_on":["first"]}]}`), nil,
		RunOptions{ID: "r1", Catalog: e.snap.View(nil), OnEvent: func(ev Event) {
			mu.Lock()
			local = append(local, ev)
			mu.Unlock()
			relay(ev)
			if ev.Type == EventStepStarted && ev.Step == "s" {
				close(entered)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-h.Done(); close(done) }()
	<-entered
	if r, err := b.Get(ctx, "r1"); err != nil || r.Status != RunRunning {
		t.Fatalf("B reads A's run: %v %v", r, err)
	}
	fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
	defer fcancel()
	follow := b.Follow(fctx, "r1")
	// B sees the events so far (up to s starting) before canceling.
	var seen []Event
	for ev := range follow {
		seen = append(seen, ev)
		if ev.Type == EventStepStarted && ev.Step == "s" {
			break
		}
	}
	if err := b.RequestCancel(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for ev := range follow {
		seen = append(seen, ev)
	}
	final, err := h.Wait(ctx)
	if err != nil || final.Status != RunCanceled {
		t.Fatalf("run after B's cancel: %v %v", final, err)
	}
	mu.Lock()
	want := jsonOf(local)
	mu.Unlock()
	if got := jsonOf(seen); got != want {
		t.Errorf("B followed\n%s\nA emitted\n%s", got, want)
	}
	if last := seen[len(seen)-1]; last.Type != EventRunFinished || last.Status != string(RunCanceled) {
		t.Errorf("last event %+v", last)
	}
	// run_finished was relayed after the final record was saved.
	if r, err := b.Get(ctx, "r1"); err != nil || r.Status != RunCanceled {
		t.Errorf("B's record after run_finished: %v %v", r.Status, err)
	}
	if err := b.RequestCancel(ctx, "r1"); err == nil {
		t.Error("canceling a finished run succeeded")
	}
	// A finished run's stream is its run_finished event.
	var again []Event
	for ev := range b.Follow(fctx, "r1") {
		again = append(again, ev)
	}
	if len(again) == 0 || again[len(again)-1].Type != EventRunFinished {
		t.Errorf("following a finished run: %s", jsonOf(again))
	}
}

// TestPostgresFollowEndsWhenTheOwnerDies: a follower of a run whose
// replica died gets run_finished with status interrupted once the lease
// expired.
func TestPostgresFollowEndsWhenTheOwnerDies(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	const lease = 600 * time.Millisecond
	a, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "a", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "b", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"}]}`)
	if err := a.Save(ctx, &Run{ID: "orphan", Status: RunRunning, Plan: p, Started: time.Now(), Steps: []*StepRecord{{ID: "a", Status: StepRunning}}}); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, lease+20*time.Second)
	defer cancel()
	follow := b.Follow(fctx, "orphan")
	a.Close() // A dies
	var last Event
	for ev := range follow {
		last = ev
	}
	if last.Type != EventRunFinished || last.Status != string(RunInterrupted) {
		t.Errorf("last event %+v", last)
	}
}

// TestPostgresCancelWithoutNotification: a replica that missed the cancel
// notification (its LISTEN connection was down) still cancels the run at
// its next lease renewal.
func TestPostgresCancelWithoutNotification(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	a, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "a", Lease: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// A stops listening.
	a.stopListen()
	<-a.listening
	canceled := make(chan string, 1)
	a.OnCancel(func(id string) {
		select {
		case canceled <- id:
		default:
		}
	})
	p := mustParse(t, `{"steps":[{"id":"a","tool":"x"}]}`)
	if err := a.Save(ctx, &Run{ID: "deaf", Status: RunRunning, Plan: p, Started: time.Now(), Steps: []*StepRecord{{ID: "a", Status: StepRunning}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.RequestCancel(ctx, "deaf"); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-canceled:
		if id != "deaf" {
			t.Errorf("canceled %q", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cancel request was not picked up by the lease renewal")
	}
}

// TestPostgresFollowWaitsForTheLastEvents: the owner saves a run's final
// record before its relay stores the last events; a follower that reads
// the record first still gets the owner's events, not a run_finished made
// up from the record. A run that ended long ago without events (they were
// pruned) ends its stream from the record at once.
func TestPostgresFollowWaitsForTheLastEvents(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	a, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgresStore(ctx, url, StoreOptions{Replica: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := mustParse(t, `{"steps":[{"id":"s","tool":"x"}]}`)
	started := time.Now().Add(-time.Second)
	if err := a.Save(ctx, &Run{ID: "late", Status: RunCanceled, Plan: p, Started: started, Finished: time.Now(), Error: "run canceled",
		Steps: []*StepRecord{{ID: "s", Status: StepCanceled}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.appendEvents(ctx, "late", []Event{{Type: EventRunStarted, RunID: "late", Time: started}}); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	follow := b.Follow(fctx, "late")
	first := <-follow
	if first.Type != EventRunStarted {
		t.Fatalf("first event %+v", first)
	}
	// The follower wakes with no new events stored and reads the ended
	// record; the relay's last batch comes after.
	b.wake("late")
	time.Sleep(300 * time.Millisecond)
	last := []Event{
		{Type: EventStepFinished, RunID: "late", Step: "s", Status: string(StepCanceled), Time: started.Add(time.Millisecond)},
		{Type: EventRunFinished, RunID: "late", Status: string(RunCanceled), Reason: "relayed", Time: started.Add(2 * time.Millisecond)},
	}
	if err := a.appendEvents(ctx, "late", last); err != nil {
		t.Fatal(err)
	}
	var got []Event
	for ev := range follow {
		got = append(got, ev)
	}
	if jsonOf(got) != jsonOf(last) {
		t.Errorf("after run_started the follower got\n%s\nwant the relayed\n%s", jsonOf(got), jsonOf(last))
	}

	// Ended an hour ago, no events: the record's run_finished, promptly.
	old := time.Now().Add(-time.Hour)
	if err := a.Save(ctx, &Run{ID: "old", Status: RunSucceeded, Plan: p, Started: old, Finished: old.Add(time.Second),
		Steps: []*StepRecord{{ID: "s", Status: StepSucceeded}}}); err != nil {
		t.Fatal(err)
	}
	got = nil
	for ev := range b.Follow(fctx, "old") {
		got = append(got, ev)
	}
	if len(got) != 1 || got[0].Type != EventRunFinished || got[0].Status != string(RunSucceeded) {
		t.Errorf("follow of a run whose events were pruned: %s", jsonOf(got))
	}
	if fctx.Err() != nil {
		t.Error("the follower of a pruned run waited for events")
	}
}
