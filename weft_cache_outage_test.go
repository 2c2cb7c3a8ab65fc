package weft_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// syncLog is a log sink safe for concurrent handlers.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eventually polls cond, failing after a correctness bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSearchThroughARedisOutage: the orchestrator's Redis is stopped and
// started again while searches run. Every search succeeds; one warning
// is logged for the outage; weft_cache_fallback_active shows it on
// /metrics and goes back to 0 once Redis answers; searches then fill Redis again.
func TestSearchThroughARedisOutage(t *testing.T) {
	srv := testenv.StartRedis(t)
	cfg := baseConfig(t)
	cfg.Cache.RedisURL = srv.URL()
	src := function.New("docs", "document tools")
	for _, name := range []string{"read_file", "write_file", "list_directory", "search_files", "move_file"} {
		function.Must(function.Add(src, name, "Works on files: "+strings.ReplaceAll(name, "_", " "),
			func(context.Context, struct{}) (string, error) { return "ok", nil }))
	}
	var logs syncLog
	o, err := weft.New(weft.Options{Config: cfg, Offline: true, Sources: []source.Source{src},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	queries := []string{"read a file", "write a file", "list a directory", "find files", "rename a file", "open document"}
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Value
	)
	for w := range 3 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := o.Search(context.Background(), search.Query{Text: queries[i%len(queries)], K: 3})
				if err == nil && len(r.Results) == 0 {
					err = fmt.Errorf("no results for %q", queries[i%len(queries)])
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				done.Add(1)
			}
		})
	}
	fallback := func() float64 { return metricValue(t, o, "weft_cache_fallback_active") }
	eventually(t, "searches before the outage", func() bool { return done.Load() > 100 })
	before := metricValue(t, o, `weft_cache_requests_total{kind="search",result="miss",tier="l2"}`)
	if before == 0 {
		t.Fatal("searches did not reach Redis before the outage")
	}

	srv.Stop()
	// Searches answered from memory do not touch Redis; a new query does.
	if _, err := o.Search(context.Background(), search.Query{Text: "delete a file now", K: 3}); err != nil {
		t.Fatalf("a search during the outage failed: %v", err)
	}
	eventually(t, "fallback on /metrics", func() bool { return fallback() == 1 })
	n := done.Load()
	eventually(t, "searches during the outage", func() bool { return done.Load() > n+100 })

	srv.Start()
	eventually(t, "recovery on /metrics", func() bool { return fallback() == 0 })
	if got := metricValue(t, o, "weft_cache_recoveries_total"); got < 1 {
		t.Fatalf("weft_cache_recoveries_total %v after recovery", got)
	}
	// Redis is used again: a new query's answer is stored there.
	after := metricValue(t, o, `weft_cache_requests_total{kind="search",result="miss",tier="l2"}`)
	eventually(t, "searches reaching Redis again", func() bool {
		o.Search(context.Background(), search.Query{Text: fmt.Sprintf("query %d", time.Now().UnixNano()), K: 3})
		return metricValue(t, o, `weft_cache_requests_total{kind="search",result="miss",tier="l2"}`) > after
	})
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d searches failed; first: %v", f, done.Load(), firstErr.Load())
	}
	outages := metricValue(t, o, "weft_cache_fallback_total")
	if w := strings.Count(logs.String(), "Redis is unreachable"); outages < 1 || float64(w) != outages {
		t.Fatalf("%d warnings for %v outages (one per outage):\n%s", w, outages, logs.String())
	}
}
