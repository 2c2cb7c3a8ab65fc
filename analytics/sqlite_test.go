package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

func openTestDB(t *testing.T, o SQLiteOptions) *SQLite {
	t.Helper()
	db, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "a", "analytics.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSQLiteStats: calls recorded through Record are written in the
// background; Stats gives per-tool calls, failure rate, nearest-rank
// p50/p95 and the ratings (one per client, replaced by a new one).
func TestSQLiteStats(t *testing.T) {
	db := openTestDB(t, SQLiteOptions{})
	ctx := context.Background()
	now := time.Now()
	for i := 1; i <= 20; i++ {
		out := engine.OutcomeOK
		if i%4 == 0 {
			out = engine.OutcomeToolError
		}
		db.Record(engine.Event{Tool: "s__a", Server: "s", Start: now, Duration: time.Duration(i) * time.Millisecond, Outcome: out})
	}
	db.Record(engine.Event{Tool: "s__b", Server: "s", Start: now, Duration: 7 * time.Millisecond, Outcome: engine.OutcomeError, Code: engine.CodeTimeout})
	db.Record(engine.Event{Start: now, Outcome: engine.OutcomeError, Code: engine.CodeUnknownTool}) // no tool: left out
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Rating{{Tool: "s__a", Client: "x", Rating: 1}, {Tool: "s__a", Client: "x", Rating: 4}, {Tool: "s__a", Client: "y", Rating: 5, Comment: "great"},
		{Tool: "s__c", Client: "x", Rating: 2}} {
		if _, err := db.Rate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Rate(ctx, Rating{Tool: "s__a", Client: "x", Rating: 6}); err == nil {
		t.Fatal("rating 6 accepted")
	}
	got, err := db.Stats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolStats{
		{Tool: "s__a", Server: "s", Calls: 20, Failures: 5, FailureRate: 0.25, P50MS: 10, P95MS: 19, Ratings: 2, RatingMean: 4.5},
		{Tool: "s__b", Server: "s", Calls: 1, Failures: 1, FailureRate: 1, P50MS: 7, P95MS: 7},
		{Tool: "s__c", Ratings: 1, RatingMean: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stats[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Since: only later calls.
	if got, _ := db.Stats(ctx, now.Add(time.Minute)); len(got) != 2 || got[0].Calls != 0 {
		t.Errorf("stats since later: %+v, want only the rated tools without calls", got)
	}
}

// TestSQLiteRetention: records past the retention are deleted when the
// database opens; ratings stay.
func TestSQLiteRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "analytics.db")
	ctx := context.Background()
	db, err := OpenSQLite(ctx, path, SQLiteOptions{Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	db.Record(engine.Event{Tool: "s__old", Start: time.Now().Add(-48 * time.Hour), Outcome: engine.OutcomeOK})
	db.Record(engine.Event{Tool: "s__new", Start: time.Now(), Outcome: engine.OutcomeOK})
	if _, err := db.Rate(ctx, Rating{Tool: "s__old", Client: "c", Rating: 3}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // Close writes what is queued
		t.Fatal(err)
	}
	db, err = OpenSQLite(ctx, path, SQLiteOptions{Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Stats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Tool != "s__new" || got[0].Calls != 1 || got[1].Tool != "s__old" || got[1].Calls != 0 || got[1].Ratings != 1 {
		t.Fatalf("after retention: %+v", got)
	}
}

// TestSQLiteRecordNeverBlocks: with the writer held up (the database
// locked by another connection), Record returns at once; events beyond the
// queue are dropped and counted, the others are written once the lock
// goes: written + dropped = recorded.
func TestSQLiteRecordNeverBlocks(t *testing.T) {
	db := openTestDB(t, SQLiteOptions{})
	ctx := context.Background()
	conn, err := db.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	n := sqliteQueue + sqliteBatch + 1000
	done := make(chan struct{})
	go func() {
		for range n {
			db.Record(engine.Event{Tool: "s__t", Start: time.Now(), Outcome: engine.OutcomeOK})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Record blocked while the database was locked")
	}
	if db.Dropped() == 0 {
		t.Fatal("no event dropped with the writer held up")
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Stats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var calls int64
	if len(got) == 1 {
		calls = got[0].Calls
	}
	if calls+db.Dropped() != int64(n) || calls == 0 {
		t.Fatalf("%d written + %d dropped of %d recorded", calls, db.Dropped(), n)
	}
}

// TestSQLiteWritesEveryField: a batch whose size needs every statement
// size (2×64 + 8 + 5×1 rows) is written whole, each call with all its
// fields; a call without a start time is stamped with the writer's clock.
func TestSQLiteWritesEveryField(t *testing.T) {
	db := openTestDB(t, SQLiteOptions{})
	ctx := context.Background()
	stamp := time.UnixMilli(time.Now().UnixMilli() + 60_000)
	db.now = func() time.Time { return stamp }
	base := time.UnixMilli(time.Now().UnixMilli() - 3_600_000)
	var want []engine.Event
	for i := range 2*64 + 8 + 5 {
		e := engine.Event{Tool: fmt.Sprintf("s%d__t%d", i%3, i%7), Server: fmt.Sprintf("s%d", i%3), Caller: []string{"mcp", "rest", "plan"}[i%3],
			Start: base.Add(time.Duration(i) * time.Millisecond), Duration: time.Duration(1000+i) * time.Microsecond,
			Outcome: engine.OutcomeOK, Bytes: 10 * i}
		switch i % 5 {
		case 1:
			e.Outcome = engine.OutcomeToolError
		case 2:
			e.Outcome, e.Code = engine.OutcomeError, engine.CodeTimeout
		case 3:
			e.Tool, e.Server, e.Code, e.Outcome = "", "", engine.CodeUnknownTool, engine.OutcomeError
		}
		want = append(want, e)
	}
	unstamped := engine.Event{Tool: "s0__late", Server: "s0", Caller: "cli", Duration: time.Millisecond, Outcome: engine.OutcomeOK, Bytes: 3}
	if err := db.insert(append(want, unstamped)); err != nil {
		t.Fatal(err)
	}
	unstamped.Start = stamp
	want = append(want, unstamped)
	var got []engine.Event
	if err := db.Replay(ctx, time.Time{}, func(e engine.Event) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d calls read back, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) {
			t.Errorf("call %d: start %v, want %v", i, got[i].Start, want[i].Start)
		}
		got[i].Start = want[i].Start
		if got[i] != want[i] {
			t.Errorf("call %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestSQLiteRefusedBatch: a batch the database refuses (here a trigger
// rejects one of its calls, after a first statement of 64 went in) is not
// written at all; through Record, its events are counted as dropped, and
// the batches after it are written.
func TestSQLiteRefusedBatch(t *testing.T) {
	db := openTestDB(t, SQLiteOptions{})
	ctx := context.Background()
	if _, err := db.db.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON calls WHEN NEW.tool = 's__refused'
		BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	batch := make([]engine.Event, 100)
	for i := range batch {
		batch[i] = engine.Event{Tool: "s__a", Server: "s", Start: now, Outcome: engine.OutcomeOK}
	}
	batch[70].Tool = "s__refused"
	if err := db.insert(batch); err == nil {
		t.Fatal("refused batch written")
	}
	calls := func() int64 {
		t.Helper()
		var n int64
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM calls`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := calls(); n != 0 {
		t.Fatalf("%d calls of a refused batch written", n)
	}
	for _, e := range batch {
		db.Record(e)
	}
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	written := calls()
	if db.Dropped() == 0 || written+db.Dropped() != 100 {
		t.Fatalf("%d written + %d dropped of 100 recorded, one refused", written, db.Dropped())
	}
	for _, e := range batch[:73] {
		e.Tool = "s__b"
		db.Record(e)
	}
	if err := db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := calls(); n != written+73 {
		t.Fatalf("%d calls after a good batch of 73, want %d", n, written+73)
	}
}

// TestSQLiteDropsToolIndex: a database of an earlier version, with the
// calls index by (tool, duration), loses that index when it opens (every
// insert paid a random page write for it); its calls stay.
func TestSQLiteDropsToolIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "analytics.db")
	ctx := context.Background()
	db, err := OpenSQLite(ctx, path, SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `CREATE INDEX calls_tool ON calls(tool, duration_us)`); err != nil {
		t.Fatal(err)
	}
	db.Record(engine.Event{Tool: "s__a", Server: "s", Start: time.Now(), Outcome: engine.OutcomeOK})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenSQLite(ctx, path, SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexes []string
	rows, err := db.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(indexes) != 1 || indexes[0] != "calls_ts" {
		t.Fatalf("indexes of calls: %v, want [calls_ts]", indexes)
	}
	if got, err := db.Stats(ctx, time.Time{}); err != nil || len(got) != 1 || got[0].Calls != 1 {
		t.Fatalf("stats %+v, %v", got, err)
	}
}
