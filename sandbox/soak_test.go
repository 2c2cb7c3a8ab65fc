package sandbox

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssBytes reads the resident set size of the process (Linux).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatalf("read statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoak runs a few thousand programs (tool calls, timers, failures,
// memory bombs) from 8 goroutines and checks that goroutines return to
// their baseline and that neither the Go heap nor the process RSS keeps
// growing between the first and the last thousand runs.
func TestSoak(t *testing.T) {
	f := newFixture(t, Options{MaxConcurrentRuns: 8})
	programs := []string{
		`return (await Promise.all([1, 2, 3].map((i) => tools.util.echo({ i })))).length`,
		`await new Promise((r) => setTimeout(r, 1)); return [1, 2, 3].map(x => x * 2)`,
		`try { await tools.util.fail({}) } catch (e) { return e.code }`,
		`const a = []; while (true) a.push({ x: 1 })`,
		`throw new Error("x")`,
		`setTimeout(() => {}, 100000); return "left a timer"`,
		`tools.util.sleep({ ms: 10000 }); return "left a call"`,
	}
	batch := func(n int) {
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range jobs {
					req := Request{Code: programs[i%len(programs)], Language: JavaScript, Limits: Limits{MemoryBytes: 8 << 20}}
					res, err := f.sb.Run(context.Background(), req)
					if err != nil {
						t.Error(err)
						return
					}
					if i%len(programs) == 0 && (res.Error != nil || string(res.Result) != "3") {
						t.Errorf("run %d: %+v %s", i, res.Error, res.Result)
					}
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}

	first, second := 1000, 2000
	if raceEnabled {
		first, second = 100, 200 // the same checks, on fewer runs: -race is ~20× slower
	}
	batch(50) // warm up
	baseG := runtime.NumGoroutine()
	batch(first)
	heap1, rss1 := heapBytes(), rssBytes(t)
	batch(second)
	heap2, rss2 := heapBytes(), rssBytes(t)

	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > baseG && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > baseG {
		t.Errorf("goroutines: %d after the soak, %d before", g, baseG)
	}
	t.Logf("heap %d -> %d KiB, rss %d -> %d MiB, goroutines %d", heap1>>10, heap2>>10, rss1>>20, rss2>>20, runtime.NumGoroutine())
	if heap2 > heap1+8<<20 {
		t.Errorf("Go heap grew from %d to %d bytes over %d runs", heap1, heap2, second)
	}
	if rss2 > rss1+96<<20 {
		t.Errorf("RSS grew from %d to %d bytes over %d runs", rss1, rss2, second)
	}
}
