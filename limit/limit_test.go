package limit

import (
	"context"
	"strconv"
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
	// A waiter of a is not served by b's release, only by a's.
	got := make(chan error, 1)
	go func() { got <- k.Acquire(context.Background(), "a") }()
	k.Release("b")
	select {
	case err := <-got:
		t.Fatalf("a acquired (%v) while holding both its slots", err)
	default:
	}
	k.Release("a")
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if k.InUse("a") != 2 || k.InUse("b") != 0 {
		t.Fatalf("in use a=%d b=%d", k.InUse("a"), k.InUse("b"))
	}
	// Acquire honours ctx; a waiter that gave up leaves nothing behind.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := k.Acquire(ctx, "a"); err != context.Canceled {
		t.Fatalf("full key, canceled ctx: %v", err)
	}
	k.Release("a")
	k.Release("a")
	if k.InUse("a") != 0 {
		t.Fatalf("a holds %d after releasing all", k.InUse("a"))
	}
	// Idle keys are kept for reuse only up to keepIdle: memory does not
	// grow with the number of keys ever seen.
	for i := range 10 * keepIdle {
		key := strconv.Itoa(i)
		if !k.TryAcquire(key) {
			t.Fatal(key)
		}
		k.Release(key)
	}
	if len(k.sems) > keepIdle+1 {
		t.Fatalf("%d idle keys kept, want at most %d", len(k.sems), keepIdle+1)
	}
	var unlimited *Keyed
	if !unlimited.TryAcquire("x") || unlimited.Acquire(ctx, "x") != nil || NewKeyed(0).Cap() != 0 {
		t.Fatal("nil or zero Keyed must be unlimited")
	}
}

// TestSemaphore: 20 holders on 3 slots: 3 hold, the others wait until a
// slot is released.
func TestSemaphore(t *testing.T) {
	s := NewSemaphore(3)
	var wg sync.WaitGroup
	held := make(chan struct{}, 20)
	release := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			if err := s.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			held <- struct{}{}
			<-release
			s.Release()
		})
	}
	for i := range 20 {
		<-held // a slot is held...
		if i >= 2 {
			if s.TryAcquire() { // ...and the third one fills the semaphore
				t.Fatalf("a 4th slot was free with %d holders", 3)
			}
			release <- struct{}{} // free one: exactly one waiter proceeds
		}
	}
	release <- struct{}{}
	release <- struct{}{}
	wg.Wait()
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
