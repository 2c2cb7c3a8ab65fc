package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// ownRedis is a redis-server of the test's own, which it can stop and
// start again on the same port.
type ownRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func newOwnRedis(t *testing.T) *ownRedis {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &ownRedis{t: t, port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *ownRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start runs redis-server and returns once it accepts connections.
func (r *ownRedis) start() {
	t := r.t
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (required for this test): %v", err)
	}
	r.cmd = cmd
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("redis-server exited before accepting connections")
		}
	case <-time.After(10 * time.Second): // a correctness bound
		t.Fatal("redis-server did not accept connections within 10 s")
	}
}

// stop kills redis-server and waits for it to exit.
func (r *ownRedis) stop() {
	if r.cmd != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

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
	srv := newOwnRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
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

	srv.stop()
	waitFor(t, "fallback", tc.Degraded)
	if got := testutil.ToFloat64(m.fallback); got != 1 {
		t.Fatalf("weft_cache_fallback_active %v during the outage, want 1", got)
	}
	during := requests.Load()
	waitFor(t, "requests during the outage", func() bool { return requests.Load() > during+500 })

	srv.start()
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
	srv := newOwnRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	tc := NewTiered(TieredOptions{Redis: NewRedis(c, RedisOptions{Timeout: 300 * time.Millisecond}), NoFallback: true})
	defer tc.Close()
	key := Key(KindPlan, t.Name())
	if err := tc.Set(ctx, key, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	srv.stop()
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
	srv.start()
	waitFor(t, "Redis back", func() bool { _, _, err := tc.Get(ctx, other); return err == nil })
}
