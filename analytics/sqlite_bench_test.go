package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

// benchEvents are n call events shaped like a gateway's: a handful of
// tools of one server, one caller, mostly ok.
func benchEvents(n int) []engine.Event {
	now := time.Now()
	out := make([]engine.Event, n)
	for i := range out {
		e := engine.Event{Tool: fmt.Sprintf("everything__tool_%d", i%5), Server: "everything", Caller: "mcp",
			Start: now.Add(time.Duration(i) * time.Microsecond), Duration: time.Duration(300+i%700) * time.Microsecond,
			Outcome: engine.OutcomeOK, Bytes: 120 + i%64}
		if i%50 == 0 {
			e.Outcome, e.Code = engine.OutcomeError, engine.CodeTimeout
		}
		out[i] = e
	}
	return out
}

// benchHistory is the number of calls already in the database when a
// benchmark starts: a few days of a busy gateway, so that writes land in
// tables and indexes of a realistic size.
const benchHistory = 200_000

func openBenchDB(b *testing.B) *SQLite {
	b.Helper()
	ctx := context.Background()
	db, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "analytics.db"), SQLiteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	// Earlier calls, oldest first, 1 s apart, durations spread over 0.3-1 ms.
	if _, err := db.db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		INSERT INTO calls SELECT ? - (? - i) * 1000, 'everything__tool_' || (i % 5), 'everything', 'mcp', 'ok', '',
		300 + abs(random()) % 700, 100 + i % 64 FROM n`, benchHistory, time.Now().UnixMilli(), benchHistory); err != nil {
		b.Fatal(err)
	}
	return db
}

// cpuTime is the CPU time the process used so far (user + system): the
// writer works on its own goroutine, so wall time per event says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSQLiteInsert writes one batch of events in one transaction, as
// the writer does: per batch size, ns/event is the writer's cost per call.
func BenchmarkSQLiteInsert(b *testing.B) {
	for _, n := range []int{1, 16, 128, sqliteBatch} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db := openBenchDB(b)
			batch := benchEvents(n)
			b.ReportAllocs()
			for b.Loop() {
				if err := db.insert(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}

// BenchmarkSQLiteRecord is the whole path of one event: Record, the
// writer's queue and batches (flushed every 200 events, as the 250 ms tick
// does at 800 calls/s), the inserts. cpu-ns/event is the process's CPU
// time per event, the writer's included.
func BenchmarkSQLiteRecord(b *testing.B) {
	db := openBenchDB(b)
	events := benchEvents(1000)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		db.Record(events[i%len(events)])
		if i++; i%200 == 0 {
			if err := db.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
	if d := db.Dropped(); d != 0 {
		b.Fatalf("%d events dropped", d)
	}
}

// BenchmarkSQLiteStats reads the per-tool figures over benchHistory calls.
func BenchmarkSQLiteStats(b *testing.B) {
	db := openBenchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		st, err := db.Stats(ctx, time.Time{})
		if err != nil || len(st) != 5 {
			b.Fatal(st, err)
		}
	}
}
