package limit

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestMemoryTokenBucket(t *testing.T) {
	m := NewMemory()
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	// A full bucket allows a burst of perMinute requests.
	for i := range 60 {
		if ok, _, _ := m.Allow(ctx, "a", 60); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, wait, _ := m.Allow(ctx, "a", 60)
	if ok || wait != time.Second {
		t.Fatalf("61st: ok=%v wait=%s, want refused with 1s", ok, wait)
	}
	// Other keys have their own bucket.
	if ok, _, _ := m.Allow(ctx, "b", 60); !ok {
		t.Fatal("key b refused")
	}
	// Refill at perMinute/60 tokens a second.
	now = now.Add(500 * time.Millisecond)
	if ok, wait, _ := m.Allow(ctx, "a", 60); ok || wait != 500*time.Millisecond {
		t.Fatalf("after 0.5s: ok=%v wait=%s", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _, _ := m.Allow(ctx, "a", 60); !ok {
		t.Fatal("after 1s: refused")
	}
	// Unlimited.
	for range 1000 {
		if ok, _, _ := m.Allow(ctx, "u", 0); !ok {
			t.Fatal("unlimited refused")
		}
	}
	// Idle buckets are collected.
	now = now.Add(10 * time.Minute)
	m.Allow(ctx, "c", 60)
	if len(m.buckets) != 1 {
		t.Fatalf("%d buckets after GC, want 1", len(m.buckets))
	}
}

func TestKeyed(t *testing.T) {
	k := NewKeyed(2)
	if !k.TryAcquire("a") || !k.TryAcquire("a") || k.TryAcquire("a") {
		t.Fatal("want exactly 2 slots for a")
	}
	if !k.TryAcquire("b") {
		t.Fatal("b refused")
	}
	k.Release("a")
	if !k.TryAcquire("a") {
		t.Fatal("released slot not reusable")
	}
	k.Release("a")
	k.Release("a")
	k.Release("b")
	if len(k.sems) != 0 {
		t.Fatalf("idle keys kept: %v", k.sems)
	}
}

func TestSemaphore(t *testing.T) {
	s := NewSemaphore(3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	in, max := 0, 0
	for range 20 {
		wg.Go(func() {
			if err := s.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			in++
			max = maxInt(max, in)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			in--
			mu.Unlock()
			s.Release()
		})
	}
	wg.Wait()
	if max != 3 {
		t.Fatalf("max concurrency %d, want 3", max)
	}
	// Acquire honours ctx.
	for range 3 {
		s.Acquire(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("full semaphore: %v", err)
	}
	var nilSem *Semaphore
	if nilSem.Acquire(ctx) != nil || nilSem.Cap() != 0 {
		t.Fatal("nil semaphore must be unlimited")
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
