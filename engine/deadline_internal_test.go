package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// onWheel reports whether c is in the wheel's heap, and checks that its
// index agrees.
func onWheel(t *testing.T, c *deadlineCtx) bool {
	t.Helper()
	theWheel.mu.Lock()
	defer theWheel.mu.Unlock()
	for i, h := range theWheel.heap {
		if h == c {
			if int(c.idx) != i {
				t.Errorf("heap[%d] has idx %d", i, c.idx)
			}
			return true
		}
	}
	if c.idx != -1 {
		t.Errorf("off the heap with idx %d", c.idx)
	}
	return false
}

// TestDeadlineLazyWheel: a call's context goes on the wheel only once its
// end can be waited for (Done, AfterFunc), and every way a call ends —
// released, at its deadline, its parent canceled, through Err — leaves
// nothing of it on the wheel.
func TestDeadlineLazyWheel(t *testing.T) {
	far := time.Now().Add(time.Hour)

	// Never waited on: never on the wheel; release ends it.
	ctx, c := withDeadline(context.Background(), far)
	if onWheel(t, c) || ctx.Err() != nil {
		t.Fatal("an untouched call is on the wheel or ended")
	}
	c.release()
	if onWheel(t, c) || !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("released: on wheel %v, err %v", onWheel(t, c), ctx.Err())
	}
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done after release is not closed")
	}

	// Done puts it on the wheel; release takes it off.
	ctx, c = withDeadline(context.Background(), far)
	done := ctx.Done()
	if !onWheel(t, c) {
		t.Fatal("Done did not put the call on the wheel")
	}
	c.release()
	<-done
	if onWheel(t, c) {
		t.Fatal("released call still on the wheel")
	}

	// AfterFunc puts it on the wheel; the deadline fires it and takes it off.
	ctx, c = withDeadline(context.Background(), time.Now().Add(20*time.Millisecond))
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
	if !onWheel(t, c) {
		t.Fatal("AfterFunc did not put the call on the wheel")
	}
	<-ran
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || onWheel(t, c) {
		t.Fatalf("at the deadline: err %v, on wheel %v", ctx.Err(), onWheel(t, c))
	}
	c.release()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("release changed the error to %v", ctx.Err())
	}

	// A canceled parent: the wheel's poll ends a waiting call.
	parent, cancel := context.WithCancel(context.Background())
	ctx, c = withDeadline(parent, far)
	done = ctx.Done()
	cancel()
	<-done
	if !errors.Is(ctx.Err(), context.Canceled) || onWheel(t, c) {
		t.Fatalf("parent canceled: err %v, on wheel %v", ctx.Err(), onWheel(t, c))
	}
	c.release()

	// Err ends a call whose deadline passed, off the wheel or on it.
	for _, wait := range []bool{false, true} {
		dl := time.Now().Add(5 * time.Millisecond)
		ctx, c = withDeadline(context.Background(), dl)
		if wait {
			ctx.Done()
		}
		<-time.After(time.Until(dl)) // the deadline itself is the event under test
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("wait=%v: Err after the deadline = %v", wait, ctx.Err())
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatalf("wait=%v: Err is set but Done is open", wait)
		}
		if onWheel(t, c) {
			t.Fatalf("wait=%v: ended call still on the wheel", wait)
		}
		c.release()
	}
}

// TestDeadlineArmRace: Done and AfterFunc racing the call's end never
// leave the ended call on the wheel (the add that lost the race sees
// ended).
func TestDeadlineArmRace(t *testing.T) {
	far := time.Now().Add(time.Hour)
	cs := make([]*deadlineCtx, 500)
	for i := range cs {
		ctx, c := withDeadline(context.Background(), far)
		cs[i] = c
		var wg sync.WaitGroup
		wg.Go(func() { ctx.Done() })
		wg.Go(func() { context.AfterFunc(ctx, func() {}) })
		wg.Go(c.release)
		wg.Wait()
	}
	for i, c := range cs {
		if onWheel(t, c) {
			t.Fatalf("call %d ended but is on the wheel", i)
		}
	}
}

// TestDeadlineAfterFuncs: registrations beyond the one kept inline, stopped
// in any order; the ones left run when the call ends, each once.
func TestDeadlineAfterFuncs(t *testing.T) {
	ctx, c := withDeadline(context.Background(), time.Now().Add(time.Hour))
	ran := make(chan int, 10)
	var stops []func() bool
	for i := range 5 {
		stops = append(stops, context.AfterFunc(ctx, func() { ran <- i }))
	}
	if !stops[0]() || !stops[3]() {
		t.Fatal("stop of a pending registration reported false")
	}
	if stops[0]() {
		t.Fatal("second stop reported true")
	}
	c.release()
	got := map[int]bool{}
	for range 3 {
		got[<-ran] = true
	}
	if !got[1] || !got[2] || !got[4] {
		t.Fatalf("ran %v, want 1, 2, 4", got)
	}
	for _, i := range []int{1, 2, 4} {
		if stops[i]() {
			t.Fatalf("stop of %d after it ran reported true", i)
		}
	}
	// After the end a registration runs at once.
	late := make(chan struct{})
	context.AfterFunc(ctx, func() { close(late) })
	<-late
	select {
	case i := <-ran:
		t.Fatalf("%d ran twice", i)
	default:
	}
}
