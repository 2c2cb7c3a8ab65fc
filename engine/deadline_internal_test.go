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

	// AfterFunc puts it on the wheel.
	ctx, c = withDeadline(context.Background(), far)
	context.AfterFunc(ctx, func() {})
	if !onWheel(t, c) {
		t.Fatal("AfterFunc did not put the call on the wheel")
	}
	c.release()
	if onWheel(t, c) {
		t.Fatal("released call still on the wheel")
	}

	// The deadline fires a waiting call and takes it off the wheel.
	ctx, c = withDeadline(context.Background(), time.Now().Add(20*time.Millisecond))
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
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
// in any order, one more after the inline one was stopped; the ones left
// run when the call ends, each once.
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
	stops = append(stops, context.AfterFunc(ctx, func() { ran <- 5 }))
	c.release()
	got := map[int]bool{}
	for range 4 {
		got[<-ran] = true
	}
	if !got[1] || !got[2] || !got[4] || !got[5] {
		t.Fatalf("ran %v, want 1, 2, 4, 5", got)
	}
	for _, i := range []int{1, 2, 4, 5} {
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

// TestDeadlineDoneAfterExpiry: the first Done after the deadline passed,
// or after the parent was canceled, is closed at once (before the wheel
// could get to the call).
func TestDeadlineDoneAfterExpiry(t *testing.T) {
	dl := time.Now().Add(5 * time.Millisecond)
	ctx, c := withDeadline(context.Background(), dl)
	defer c.release()
	<-time.After(time.Until(dl)) // the deadline itself is the event under test
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done after the deadline is open")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || onWheel(t, c) {
		t.Fatalf("err %v, on wheel %v", ctx.Err(), onWheel(t, c))
	}

	parent, cancel := context.WithCancel(context.Background())
	ctx, c = withDeadline(parent, time.Now().Add(time.Hour))
	defer c.release()
	cancel()
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done after the parent's cancel is open")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("err %v", ctx.Err())
	}
}

// TestDeadlineCause: context.Cause of a call's context is what it is for
// context.WithTimeout: DeadlineExceeded at the deadline, the caller's
// cause when the caller canceled, Canceled once the call ended — whether
// the context was waited on (on the wheel) or not.
func TestDeadlineCause(t *testing.T) {
	errMine := errors.New("caller's cause")
	for _, wait := range []bool{false, true} {
		parent, cancel := context.WithCancelCause(context.Background())
		dl := time.Now().Add(5 * time.Millisecond)
		ctx, c := withDeadline(parent, dl)
		if wait {
			<-ctx.Done()
		} else {
			<-time.After(time.Until(dl)) // the deadline itself is the event under test
		}
		if err, cause := ctx.Err(), context.Cause(ctx); err != context.DeadlineExceeded || cause != context.DeadlineExceeded {
			t.Errorf("wait=%v, deadline: err %v, cause %v", wait, err, cause)
		}
		c.release()

		ctx, c = withDeadline(parent, time.Now().Add(time.Hour))
		if wait {
			ctx.Done()
		}
		c.release()
		if err, cause := ctx.Err(), context.Cause(ctx); err != context.Canceled || cause != context.Canceled {
			t.Errorf("wait=%v, released: err %v, cause %v", wait, err, cause)
		}

		ctx, c = withDeadline(parent, time.Now().Add(time.Hour))
		var done <-chan struct{}
		if wait {
			done = ctx.Done()
		}
		cancel(errMine)
		if wait {
			<-done
		}
		if err, cause := ctx.Err(), context.Cause(ctx); err != context.Canceled || cause != errMine {
			t.Errorf("wait=%v, caller canceled: err %v, cause %v", wait, err, cause)
		}
		c.release()
		if err, cause := ctx.Err(), context.Cause(ctx); err != context.Canceled || cause != errMine {
			t.Errorf("wait=%v, caller canceled, then released: err %v, cause %v", wait, err, cause)
		}
	}
}
