package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/internal/testenv"
)

// lockedBuffer is a log sink safe for concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond until it holds, failing after a correctness bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFallbackAndRecoveryUnderLoad: Redis is stopped and started again
// while requests run. Every request succeeds (from memory, or by loading);
// one warning is logged; the fallback and the recovery show in the
// metrics; afterwards the shared tier is used again.
func TestFallbackAndRecoveryUnderLoad(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	m := NewMetrics()
	var logs lockedBuffer
	tc := NewTiered(TieredOptions{
		Redis: NewRedis(c, RedisOptions{Metrics: m, Timeout: 300 * time.Millisecond}), Metrics: m,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
		ProbeInterval: 10 * time.Millisecond, MaxProbeInterval: 100 * time.Millisecond,
	})
	defer tc.Close()

	// Load: 4 workers reading and writing 20 keys until told to stop.
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = Key(KindSearch, t.Name(), strconv.Itoa(i))
	}
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		requests atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[i%len(keys)]
				v, err := tc.GetOrLoad(ctx, k, time.Hour, func(context.Context) ([]byte, error) { return []byte("v:" + k), nil })
				if err == nil && string(v) != "v:"+k {
					err = fmt.Errorf("%s: got %q", k, v)
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				if i%7 == 0 {
					tc.Memory().Delete(k) // keep some requests going to Redis
				}
				requests.Add(1)
			}
		})
	}
	waitFor(t, "requests before the outage", func() bool { return requests.Load() > 200 })

	srv.Stop()
	waitFor(t, "fallback", tc.Degraded)
	if got := testutil.ToFloat64(m.fallback); got != 1 {
		t.Fatalf("weft_cache_fallback_active %v during the outage, want 1", got)
	}
	during := requests.Load()
	waitFor(t, "requests during the outage", func() bool { return requests.Load() > during+500 })

	srv.Start()
	waitFor(t, "recovery", func() bool { return !tc.Degraded() })
	after := requests.Load()
	waitFor(t, "requests after recovery", func() bool { return requests.Load() > after+200 })
	close(stop)
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", n, requests.Load(), firstErr.Load())
	}
	if got := testutil.ToFloat64(m.fallback); got != 0 {
		t.Fatalf("weft_cache_fallback_active %v after recovery, want 0", got)
	}
	if fb, rec := testutil.ToFloat64(m.fallbacks), testutil.ToFloat64(m.recovered); fb < 1 || rec != fb {
		t.Fatalf("fallbacks %v, recoveries %v: want at least one of each, as many recoveries", fb, rec)
	}
	if testutil.ToFloat64(m.l2Errors.WithLabelValues("get"))+testutil.ToFloat64(m.l2Errors.WithLabelValues("set")) < 1 {
		t.Fatal("no Redis error counted")
	}
	if n := strings.Count(logs.String(), "Redis is unreachable"); n != int(testutil.ToFloat64(m.fallbacks)) {
		t.Fatalf("%d warnings for %v fallbacks (one per outage, not per request):\n%s", n, testutil.ToFloat64(m.fallbacks), logs.String())
	}
	if !strings.Contains(logs.String(), "Redis answers again") {
		t.Fatalf("no recovery message:\n%s", logs.String())
	}
	// Redis is in use again: a value set now is in Redis.
	key := Key(KindSearch, t.Name(), "after")
	waitFor(t, "a write reaching the restarted Redis", func() bool {
		_ = tc.Set(ctx, key, []byte("x"), time.Minute)
		return c.Exists(ctx, key).Val() == 1
	})
}

// TestNoFallback: with the fallback off, operations that need Redis fail
// with ErrUnavailable while it is down, and work again when it is back.
func TestNoFallback(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	tc := NewTiered(TieredOptions{Redis: NewRedis(c, RedisOptions{Timeout: 300 * time.Millisecond}), NoFallback: true})
	defer tc.Close()
	key := Key(KindPlan, t.Name())
	if err := tc.Set(ctx, key, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	other := Key(KindPlan, t.Name(), "other")
	if _, _, err := tc.Get(ctx, other); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get with Redis down: %v, want ErrUnavailable", err)
	}
	if err := tc.Set(ctx, other, []byte("v"), time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := tc.GetOrLoad(ctx, other, time.Minute, func(context.Context) ([]byte, error) { return []byte("v"), nil }); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetOrLoad with Redis down: %v, want ErrUnavailable", err)
	}
	if tc.Degraded() {
		t.Fatal("Degraded without a fallback")
	}
	srv.Start()
	waitFor(t, "Redis back", func() bool { _, _, err := tc.Get(ctx, other); return err == nil })
}
