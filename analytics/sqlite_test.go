package analytics

import (
	"context"
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
