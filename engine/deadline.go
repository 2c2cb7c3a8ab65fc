package engine

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is the per-call context with the call's deadline: the
// engine's replacement for context.WithTimeout, which costs a timer, a
// channel, a cancelCtx and (for a cancelable parent) a children-map entry
// on every call. Here one shared goroutine (the wheel below) ends every
// call at its deadline from a min-heap under one timer; the Done channel is
// made only when someone asks for it; the parent's cancellation reaches
// the call through the wheel's poll of in-flight calls (every
// parentPoll) and at once through Err. The call path allocates the
// context itself and nothing else.
//
// A call goes on the wheel only once its end can be waited for (the first
// Done or AfterFunc): until then nothing can block on it, and Err finds a
// passed deadline or a canceled parent by itself. A call whose upstream
// never waits on its context (a function tool that does not select on
// Done) costs no wheel lock at all.
//
// A deadlineCtx is not pooled, although pooling it would make the call
// path allocation-free: a context retained past its call (a goroutine of
// an upstream or a function tool, the AfterFunc callbacks end starts, a
// child context the upstream derived) would then see the next call's
// deadline, values and client identity instead of its own ended call, and
// nothing in Go tells the engine when the last reference is gone. Each
// call's context is its own object, so a retained one keeps seeing its own
// call — its values, its client identity, Canceled after the call ended —
// never another caller's.
type deadlineCtx struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	idx      int32         // position in wheel.heap; -1 when not there (wheel's lock)
	afterSeq uint32        // id of the last AfterFunc registration
	watch    bool          // the parent can be canceled: Err and the wheel check it
	armed    bool          // put on the wheel (by the first Done or AfterFunc)
	done     chan struct{} // made on first Done; closed when the call ends
	err      error         // non-nil once ended
	// first is a pending AfterFunc registration (f nil: none), kept in c
	// so that the usual single one (source/mcp's bind, a derived context)
	// costs no slice; more holds any others.
	first afterReg
	more  *[]afterReg
}

// parentPoll is how often the wheel checks in-flight calls whose parent
// can be canceled. Err sees the parent's cancellation at once; a call
// blocked on Done sees it within this bound.
const parentPoll = 2 * time.Millisecond

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// withDeadline returns ctx bounded by deadline and the deadlineCtx whose
// release ends it (the equivalent of a CancelFunc). When ctx already ends
// no later than deadline it is returned as is, with a nil deadlineCtx
// (release on nil does nothing).
func withDeadline(ctx context.Context, deadline time.Time) (context.Context, *deadlineCtx) {
	if pd, ok := ctx.Deadline(); ok && !pd.After(deadline) {
		return ctx, nil
	}
	c := &deadlineCtx{parent: ctx, deadline: deadline, watch: ctx.Done() != nil, idx: -1}
	return c, c
}

// release ends the call's context (Canceled, as a CancelFunc would) and
// takes it off the wheel. Safe on nil.
func (c *deadlineCtx) release() {
	if c == nil {
		return
	}
	c.end(context.Canceled)
}

// armLocked puts c on the wheel, once: from now on someone may wait for
// its end. c.mu held, c not ended.
//
// Lock order: c.mu, then the wheel's lock. The wheel calls no context
// method under its lock (it checks parents after releasing it), so a
// parent that is itself a deadlineCtx cannot turn the order around.
func (c *deadlineCtx) armLocked(now time.Time) {
	if !c.armed {
		c.armed = true
		theWheel.add(c, now)
	}
}

// end closes Done with err unless the context already ended, takes c off
// the wheel (before Done closes: whoever sees Done closed sees c off the
// wheel) and starts the AfterFunc callbacks still registered.
func (c *deadlineCtx) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if c.armed {
		theWheel.remove(c)
	}
	c.err = err
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	first := c.first
	c.first = afterReg{}
	var more []afterReg
	if c.more != nil {
		more = *c.more
		c.more = nil
	}
	c.mu.Unlock()
	// With err set, registrations run at once and stops find nothing.
	if first.f != nil {
		go first.f()
	}
	for _, a := range more {
		go a.f()
	}
}

// Deadline is the earlier of the call's deadline and the parent's (the
// parent's is later, or withDeadline would not have made c).
func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done is closed when the call's deadline passes, the parent is canceled
// or the call ends.
func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	d := c.done
	c.mu.Unlock()
	if d != nil {
		return d
	}
	// The first Done: a deadline that passed or a parent canceled before
	// it ends c here, so the channel is closed at once rather than when
	// the wheel gets to it.
	now := time.Now()
	if err := c.expired(now); err != nil {
		c.end(err)
	}
	c.mu.Lock()
	if c.done == nil {
		c.done = make(chan struct{})
		c.armLocked(now)
	}
	d = c.done
	c.mu.Unlock()
	return d
}

// Err is nil until Done is closed; then context.DeadlineExceeded, the
// parent's error, or context.Canceled once the call ended. A passed
// deadline or a canceled parent ends the context here at once (closing
// Done), whether or not the wheel got to it yet.
func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err = c.expired(time.Now()); err == nil {
		return nil
	}
	c.end(err)
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	return err
}

// expired reports why c should have ended already at now (its parent's
// error or its deadline passed), or nil. c.mu not held.
func (c *deadlineCtx) expired(now time.Time) error {
	if c.watch {
		if err := c.parent.Err(); err != nil {
			return err
		}
	}
	if !now.Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value is the parent's. context.Cause finds the parent's cancelCtx
// through it: the caller's cause when the caller canceled, and, when the
// parent was not canceled, c's own Err (DeadlineExceeded, Canceled).
func (c *deadlineCtx) Value(key any) any { return c.parent.Value(key) }

// String names the context for debugging, as the context package's do.
func (c *deadlineCtx) String() string {
	return "engine.deadlineCtx(" + c.deadline.String() + ")"
}

// AfterFunc lets context.AfterFunc and the children the context package
// derives from c hook c's end directly, instead of spawning a goroutine
// per child to wait on Done. A registration costs one allocation (the
// returned stop function); the first one is kept in c itself.
func (c *deadlineCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if !c.armed {
		c.armLocked(time.Now())
	}
	c.afterSeq++
	id := c.afterSeq
	if c.first.f == nil {
		c.first = afterReg{id: id, f: f}
	} else {
		if c.more == nil {
			c.more = new([]afterReg)
		}
		*c.more = append(*c.more, afterReg{id: id, f: f})
	}
	c.mu.Unlock()
	return func() bool { return c.stopAfter(id) }
}

// afterReg is one pending AfterFunc registration.
type afterReg struct {
	id uint32
	f  func()
}

// stopAfter unregisters the AfterFunc registration id; true if its
// function had not been started.
func (c *deadlineCtx) stopAfter(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first.f != nil && c.first.id == id {
		c.first = afterReg{}
		return true
	}
	if c.more == nil {
		return false
	}
	m := *c.more
	for i, a := range m {
		if a.id == id {
			n := len(m) - 1
			copy(m[i:], m[i+1:])
			m[n] = afterReg{}
			*c.more = m[:n]
			return true
		}
	}
	return false
}

// wheel ends in-flight calls at their deadlines: a min-heap by deadline
// under one timer, run by one goroutine started on first use.
type wheel struct {
	mu      sync.Mutex
	heap    []*deadlineCtx
	watched int       // calls in heap whose parent can be canceled
	next    time.Time // when the timer fires; zero when stopped
	timer   *time.Timer
	fire    []*deadlineCtx // scratch for the goroutine: calls past their deadline
	poll    []*deadlineCtx // scratch for the goroutine: calls whose parent to check
	start   sync.Once
}

var theWheel wheel

func (w *wheel) add(c *deadlineCtx, now time.Time) {
	w.start.Do(func() {
		w.timer = time.NewTimer(time.Hour)
		w.timer.Stop()
		go w.run()
	})
	w.mu.Lock()
	c.idx = int32(len(w.heap))
	w.heap = append(w.heap, c)
	w.up(int(c.idx))
	at := c.deadline
	if c.watch {
		w.watched++
		if p := now.Add(parentPoll); p.Before(at) {
			at = p
		}
	}
	if w.next.IsZero() || at.Before(w.next) {
		w.next = at
		w.timer.Reset(at.Sub(now))
	}
	w.mu.Unlock()
}

func (w *wheel) remove(c *deadlineCtx) {
	w.mu.Lock()
	if i := c.idx; i >= 0 {
		w.removeAt(int(i))
	}
	w.mu.Unlock()
}

// removeAt takes heap[i] out; w.mu held.
func (w *wheel) removeAt(i int) {
	c := w.heap[i]
	last := len(w.heap) - 1
	if i != last {
		w.swap(i, last)
	}
	w.heap[last] = nil
	w.heap = w.heap[:last]
	if i != last {
		w.down(i)
		w.up(i)
	}
	c.idx = -1
	if c.watch {
		w.watched--
	}
}

func (w *wheel) run() {
	for range w.timer.C {
		now := time.Now()
		w.mu.Lock()
		w.fire, w.poll = w.fire[:0], w.poll[:0]
		for len(w.heap) > 0 && !w.heap[0].deadline.After(now) {
			c := w.heap[0]
			w.removeAt(0)
			w.fire = append(w.fire, c)
		}
		if w.watched > 0 {
			for _, c := range w.heap {
				if c.watch {
					w.poll = append(w.poll, c)
				}
			}
		}
		w.next = time.Time{}
		if len(w.heap) > 0 {
			at := w.heap[0].deadline
			if w.watched > 0 {
				if p := now.Add(parentPoll); p.Before(at) {
					at = p
				}
			}
			w.next = at
			w.timer.Reset(at.Sub(now))
		}
		fire, poll := w.fire, w.poll
		w.mu.Unlock()
		// Outside the lock: a parent may itself be a deadlineCtx (a call
		// made from inside a call), whose Err may end it and take it off
		// the wheel.
		for _, c := range fire {
			c.end(context.DeadlineExceeded)
		}
		for _, c := range poll {
			if err := c.parent.Err(); err != nil {
				c.end(err) // takes c off the wheel
			}
		}
		clear(fire)
		clear(poll)
	}
}

func (w *wheel) swap(i, j int) {
	w.heap[i], w.heap[j] = w.heap[j], w.heap[i]
	w.heap[i].idx = int32(i)
	w.heap[j].idx = int32(j)
}

func (w *wheel) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !w.heap[i].deadline.Before(w.heap[p].deadline) {
			return
		}
		w.swap(i, p)
		i = p
	}
}

func (w *wheel) down(i int) {
	n := len(w.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && w.heap[r].deadline.Before(w.heap[l].deadline) {
			m = r
		}
		if !w.heap[m].deadline.Before(w.heap[i].deadline) {
			return
		}
		w.swap(i, m)
		i = m
	}
}
