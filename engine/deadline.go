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
// A deadlineCtx is not pooled: a context retained past its call (a
// goroutine of an upstream, a function tool) keeps seeing its own call —
// its values, its client identity, Canceled after the call ended — never
// another caller's.
type deadlineCtx struct {
	parent   context.Context
	deadline time.Time
	watch    bool // the parent can be canceled: the wheel polls it

	mu     sync.Mutex
	done   chan struct{} // made on first Done; closed when the call ends
	err    error         // non-nil once ended
	afters []*afterReg   // AfterFunc registrations still pending

	idx int // position in wheel.heap; -1 when not there
}

// parentPoll is how often the wheel checks in-flight calls whose parent
// can be canceled. Err sees the parent's cancellation at once; a call
// blocked on Done sees it within this bound.
const parentPoll = 2 * time.Millisecond

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// withDeadline returns ctx bounded by deadline (now is the current time) and the deadlineCtx whose
// release ends it (the equivalent of a CancelFunc). When ctx already ends
// no later than deadline it is returned as is, with a nil deadlineCtx
// (release on nil does nothing).
func withDeadline(ctx context.Context, now, deadline time.Time) (context.Context, *deadlineCtx) {
	if pd, ok := ctx.Deadline(); ok && !pd.After(deadline) {
		return ctx, nil
	}
	c := &deadlineCtx{parent: ctx, deadline: deadline, watch: ctx.Done() != nil, idx: -1}
	theWheel.add(c, now)
	return c, c
}

// release ends the call's context (Canceled, as a CancelFunc would) and
// takes it off the wheel. Safe on nil.
func (c *deadlineCtx) release() {
	if c == nil {
		return
	}
	theWheel.remove(c)
	c.end(context.Canceled)
}

// end closes Done with err unless the context already ended, and starts
// the AfterFunc callbacks still registered.
func (c *deadlineCtx) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, a := range afters {
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
	if c.done == nil {
		c.done = make(chan struct{})
	}
	d := c.done
	c.mu.Unlock()
	return d
}

// Err is nil until Done is closed; then context.DeadlineExceeded, the
// parent's error, or context.Canceled once the call ended.
func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil || !c.watch {
		return err
	}
	if perr := c.parent.Err(); perr != nil {
		c.end(perr)
		c.mu.Lock()
		err = c.err
		c.mu.Unlock()
	}
	return err
}

// Value is the parent's.
func (c *deadlineCtx) Value(key any) any { return c.parent.Value(key) }

// String names the context for debugging, as the context package's do.
func (c *deadlineCtx) String() string {
	return "engine.deadlineCtx(" + c.deadline.String() + ")"
}

// AfterFunc lets context.AfterFunc and the children the context package
// derives from c hook c's end directly, instead of spawning a goroutine
// per child to wait on Done.
func (c *deadlineCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	r := &afterReg{c: c, f: f}
	c.afters = append(c.afters, r)
	c.mu.Unlock()
	return r.stop
}

type afterReg struct {
	c *deadlineCtx
	f func()
}

// stop unregisters r; true if f had not been started.
func (r *afterReg) stop() bool {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range c.afters {
		if a == r {
			c.afters = append(c.afters[:i], c.afters[i+1:]...)
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
	fire    []*deadlineCtx // scratch for the goroutine
	errs    []error
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
	c.idx = len(w.heap)
	w.heap = append(w.heap, c)
	w.up(c.idx)
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
		w.removeAt(i)
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
		w.fire, w.errs = w.fire[:0], w.errs[:0]
		for len(w.heap) > 0 && !w.heap[0].deadline.After(now) {
			c := w.heap[0]
			w.removeAt(0)
			w.fire = append(w.fire, c)
			w.errs = append(w.errs, context.DeadlineExceeded)
		}
		if w.watched > 0 {
			for i := 0; i < len(w.heap); {
				c := w.heap[i]
				if c.watch {
					if err := c.parent.Err(); err != nil {
						w.removeAt(i)
						w.fire = append(w.fire, c)
						w.errs = append(w.errs, err)
						continue
					}
				}
				i++
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
		fire, errs := w.fire, w.errs
		w.mu.Unlock()
		for i, c := range fire {
			c.end(errs[i])
		}
		clear(fire)
	}
}

func (w *wheel) swap(i, j int) {
	w.heap[i], w.heap[j] = w.heap[j], w.heap[i]
	w.heap[i].idx = i
	w.heap[j].idx = j
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
