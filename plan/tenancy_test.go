package plan

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// TestRunsBelongToTheirClient: a run is its owner's (and the local
// operator's); for another client it does not exist — in the store, in
// the executor's lookup, and for its idempotency keys.
func TestRunsBelongToTheirClient(t *testing.T) {
	store := openTestStore(t)
	e := newEnv(t, ExecutorOptions{Records: store, Cache: store.Results()})
	alice := engine.WithClient(context.Background(), "alice")
	bob := engine.WithClient(context.Background(), "bob")
	operator := context.Background()

	p := mustParse(t, `{"steps":[{"id":"s","tool":"t__flaky","args":{"key":"k","value":"alice's"},"idempotency_key":"once"}]}`)
	r, err := e.x.Run(alice, p, nil, RunOptions{Catalog: e.snap.View(nil)})
	if err != nil || r.Status != RunSucceeded || r.Owner != "alice" {
		t.Fatalf("alice's run: %v %+v", err, r)
	}
	if _, err := store.Get(bob, r.ID); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), r.ID) {
		t.Errorf("bob reads alice's run: %v", err)
	}
	if got, err := store.Get(alice, r.ID); err != nil || got.Owner != "alice" {
		t.Errorf("alice reads her run: %v %v", got, err)
	}
	if _, err := store.Get(operator, r.ID); err != nil {
		t.Errorf("the operator reads alice's run: %v", err)
	}
	ids := func(ctx context.Context) []string {
		l, err := store.List(ctx, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range l {
			out = append(out, s.ID)
		}
		return out
	}
	if got := ids(bob); len(got) != 0 {
		t.Errorf("bob lists %v", got)
	}
	if got := ids(alice); len(got) != 1 || got[0] != r.ID {
		t.Errorf("alice lists %v", got)
	}

	// Bob's step with the same idempotency key does not get alice's result.
	pb := mustParse(t, `{"steps":[{"id":"s","tool":"t__flaky","args":{"key":"k","value":"bob's"},"idempotency_key":"once"}]}`)
	rb, err := e.x.Run(bob, pb, nil, RunOptions{Catalog: e.snap.View(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(t, rb, "s"); s.Reused != "" || jsonOf(s.Result) != `{"calls":2,"value":"bob's"}` {
		t.Errorf("bob's step: %s", jsonOf(s))
	}
	// Alice's second run reuses hers.
	ra, _ := e.x.Run(alice, p, nil, RunOptions{Catalog: e.snap.View(nil)})
	if s := stepOf(t, ra, "s"); s.Reused != "cache" || jsonOf(s.Result) != `{"calls":1,"value":"alice's"}` {
		t.Errorf("alice's rerun: %s", jsonOf(s))
	}

	// A running run: only its owner and the operator find it.
	started := make(chan struct{})
	h, err := e.x.Start(alice, mustParse(t, `{"steps":[{"id":"w","tool":"t__sleep","args":{"ms":60000}}]}`), nil, RunOptions{OnEvent: func(ev Event) {
		if ev.Type == EventStepStarted {
			close(started)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if _, ok := e.x.Lookup(bob, h.ID()); ok {
		t.Error("bob looks up alice's running run")
	}
	if _, ok := e.x.Lookup(alice, h.ID()); !ok {
		t.Error("alice cannot look up her running run")
	}
	if _, ok := e.x.Lookup(operator, h.ID()); !ok {
		t.Error("the operator cannot look up alice's running run")
	}
	h.Cancel()
	h.Wait(context.Background())

	// Bob cannot take over alice's record by reusing its id.
	if _, err := e.x.Run(bob, p, nil, RunOptions{ID: r.ID}); err == nil || !strings.Contains(err.Error(), "taken by another client's run") {
		t.Errorf("bob reusing alice's run id: %v", err)
	}
	if got, _ := store.Get(alice, r.ID); got == nil || got.Owner != "alice" || got.Status != RunSucceeded {
		t.Errorf("alice's record after bob's attempt: %+v", got)
	}
}

// TestStoreFileModesAndOwnerMigration: runs.db is created 0600 in a 0700
// directory, an existing world-readable file is tightened, and a store
// from before owners gets the owner column (its runs: the operator's).
func TestStoreFileModesAndOwnerMigration(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache", "weft")
	path := filepath.Join(dir, "runs.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, &Run{ID: "r", Status: RunSucceeded, Started: time.Now(), Plan: &Plan{}}); err != nil {
		t.Fatal(err)
	}
	// SQLite's write-ahead log and shared memory hold the same data.
	for _, side := range []string{path + "-wal", path + "-shm"} {
		fi, err := os.Stat(side)
		if err != nil {
			t.Errorf("%s: %v", side, err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", side, fi.Mode().Perm())
		}
	}
	s.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}

	// A store written by an earlier version: no owner column, mode 0644.
	old := filepath.Join(t.TempDir(), "runs.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE plan_runs (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, started_at INTEGER NOT NULL,
			finished_at INTEGER NOT NULL DEFAULT 0, steps INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '', record BLOB NOT NULL)`,
		`INSERT INTO plan_runs (id, status, started_at, record) VALUES ('legacy', 'succeeded', 1, '{"id":"legacy","status":"succeeded","started":"2026-01-01T00:00:00Z","steps":[]}')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if err := os.Chmod(old, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStore(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, _ := os.Stat(old); fi.Mode() != 0o600 {
		t.Errorf("existing file: mode %v, want 0600", fi.Mode())
	}
	if r, err := s.Get(ctx, "legacy"); err != nil || r.Owner != "" {
		t.Errorf("legacy run for the operator: %v %v", r, err)
	}
	if _, err := s.Get(engine.WithClient(ctx, "alice"), "legacy"); !errors.Is(err, ErrNotFound) {
		t.Errorf("legacy run for a client: %v", err)
	}
}

// TestIdempotencyAcrossProcesses: two executors over one store file (two
// processes) — the second reuses the first's result for the same owner and
// key instead of running the step again; an expired result is not reused.
func TestIdempotencyAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	doc := `{"steps":[{"id":"s","tool":"t__flaky","args":{"key":"k","value":"v"},"idempotency_key":"create-{{inputs.name}}"}],
		"inputs":{"type":"object","properties":{"name":{"type":"string"}}}}`

	s1, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	e1 := newEnv(t, ExecutorOptions{Records: s1, Cache: s1.Results()})
	r1 := e1.run(t, doc, map[string]any{"name": "x"})
	if s := stepOf(t, r1, "s"); s.Status != StepSucceeded || s.Reused != "" {
		t.Fatalf("first run: %s", jsonOf(s))
	}
	s1.Close()

	s2, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	e2 := newEnv(t, ExecutorOptions{Records: s2, Cache: s2.Results()})
	r2 := e2.run(t, doc, map[string]any{"name": "x"})
	if s := stepOf(t, r2, "s"); s.Reused != "cache" || jsonOf(s.Result) != `{"calls":1,"value":"v"}` {
		t.Errorf("second process: %s", jsonOf(s))
	}
	if n := e2.tools.count("flaky"); n != 0 {
		t.Errorf("the second process called the tool %d times", n)
	}
	// Past the TTL the result is not reused.
	s2.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	r3 := e2.run(t, doc, map[string]any{"name": "x"})
	if s := stepOf(t, r3, "s"); s.Reused != "" {
		t.Errorf("after the TTL: %s", jsonOf(s))
	}
}

// TestShutdownDrainsRuns: Shutdown cancels running runs, waits for their
// final records (status interrupted), and refuses new runs; the store can
// then be closed.
func TestShutdownDrainsRuns(t *testing.T) {
	store := openTestStore(t)
	e := newEnv(t, ExecutorOptions{Records: store, SaveInterval: -1})
	started := make(chan struct{})
	h, err := e.x.Start(context.Background(), mustParse(t, `{"steps":[{"id":"w","tool":"t__sleep","args":{"ms":60000}},{"id":"after","tool":"t__noop","depends_on":["w"]}]}`), nil,
		RunOptions{OnEvent: func(ev Event) {
			if ev.Type == EventStepStarted && ev.Step == "w" {
				close(started)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.x.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Shutdown returned before the run finished")
	}
	rec, err := store.Get(context.Background(), h.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != RunInterrupted || !strings.Contains(rec.Error, "shut down") || rec.Step("after").Status != StepCanceled {
		t.Errorf("record after shutdown: %s %q %s", rec.Status, rec.Error, jsonOf(rec.Steps))
	}
	if _, err := e.x.Start(context.Background(), mustParse(t, `{"steps":[{"id":"a","tool":"t__noop"}]}`), nil, RunOptions{}); !errors.Is(err, ErrShutdown) {
		t.Errorf("start after shutdown: %v", err)
	}
}

// secretTools is the test catalog plus a tool whose input schema marks a
// secret argument.
func secretTools() *catalog.Snapshot {
	tools := append(testCatalogTools(), catalog.Tool{Server: "t", Original: "echo_secret",
		InputSchema: []byte(`{"type":"object","properties":{"message":{"type":"string"},"dsn":{"type":"string","writeOnly":true}}}`)})
	return catalog.NewSnapshot(tools)
}

// TestRecordsAreRedacted: inputs by the plan's schema hints, literal
// arguments by the tool's schema and by name, results and errors by
// secret names, shapes and the run's known secrets — while the tools get
// the real values.
func TestRecordsAreRedacted(t *testing.T) {
	store := openTestStore(t)
	tools := newTestTools()
	snap := secretTools()
	up := engine.UpstreamsFunc(func(server string) (engine.Upstream, bool) {
		if server != "t" {
			return nil, false
		}
		return echoSecret{tools}, true
	})
	eng := engine.New(engine.Options{Catalog: fixedCatalog{snap}, Upstreams: up})
	x := NewExecutor(ExecutorOptions{Caller: eng, Records: store})
	p := mustParse(t, `{
		"inputs":{"type":"object","properties":{"user":{"type":"string"},"pw":{"type":"string","format":"password"},"api_key":{"type":"string"}}},
		"steps":[
			{"id":"a","tool":"t__echo","args":{"message":"login {{inputs.user}} with {{inputs.pw}}"}},
			{"id":"b","tool":"t__echo_secret","args":{"message":"hi","dsn":"postgres://u:hunter2@db/x"}},
			{"id":"c","tool":"t__echo","args":{"message":"PGPASS=s3cr3t-pg Authorization: Bearer abcdefgh key=k-123456"},"depends_on":["a"]},
			{"id":"d","tool":"t__fail","args":{"why":"token=tok-987654 rejected for {{inputs.api_key}}"}}
		],
		"outputs":{"a":"{{steps.a.result}}"}}`)
	r, err := x.Run(context.Background(), p, map[string]any{"user": "ann", "pw": "hunter22pw", "api_key": "ak-555555"}, RunOptions{Catalog: snap.View(nil)})
	if err != nil {
		t.Fatal(err)
	}
	// The tools got the real values.
	if got := tools.lastArgs("echo"); !strings.Contains(got, "PGPASS=s3cr3t-pg") {
		t.Errorf("the tool got %s", got)
	}
	stored, err := store.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, rec := range map[string]*Run{"returned": r, "stored": stored} {
		text := jsonOf(rec)
		for _, secret := range []string{"hunter22pw", "hunter2@", "ak-555555", "s3cr3t-pg", "abcdefgh", "k-123456", "tok-987654"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s record contains %q: %s", name, secret, text)
			}
		}
		for _, want := range []string{`"user":"ann"`, `"pw":"[redacted]"`, `"dsn":"[redacted]"`, `login ann with [redacted]`, `PGPASS=[redacted] Authorization: Bearer [redacted] key=[redacted]`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s record lacks %s: %s", name, want, text)
			}
		}
	}
}

// echoSecret is the test upstream plus echo_secret.
type echoSecret struct{ *testTools }

func (u echoSecret) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	if tool == "echo_secret" {
		return source.TextResult("ok", false), nil
	}
	return u.testTools.Call(ctx, tool, args)
}
