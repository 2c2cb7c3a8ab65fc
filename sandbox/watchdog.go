package sandbox

import (
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	lib "modernc.org/libquickjs"
	"modernc.org/quickjs"
)

// QuickJS checks for an interrupt (VM.Interrupt, the eval timeout) only
// every 10,000 JavaScript calls or backward jumps, when a per-context
// countdown reaches zero. That is enough when calls are cheap, but a call
// can be made expensive at will: a stack overflow builds a backtrace over
// every frame (about 2 ms at the engine's 5,000-frame stack limit), and
// `function f(){ try { f() } catch (e) { f() } }` overflows on nearly
// every call, so the next check came 15–100 s after the deadline. The
// watchdog closes that gap: once the run must stop, it sets the countdown
// to zero so that the engine checks at its next call or jump, finds the
// interrupt, and unwinds with an exception no catch or finally runs for.
// It repeats every tick until the evaluation returns, because the engine's
// own decrement can race with the store.

// watchdogTick is how often the watchdog re-arms the check while the VM is
// still running after it was interrupted.
const watchdogTick = 2 * time.Millisecond

// interruptCounterOffset is where the countdown lives in a JSContext.
var interruptCounterOffset = unsafe.Offsetof(lib.TJSContext{}.Finterrupt_counter)

// countdownOf returns the address of vm's interrupt countdown, or nil if
// this version of modernc.org/quickjs keeps its JSContext elsewhere
// (TestWatchdogReachesTheVM fails then).
func countdownOf(vm *quickjs.VM) *int32 {
	ctx := contextOf(vm)
	if ctx == nil {
		return nil
	}
	return (*int32)(unsafe.Add(ctx, interruptCounterOffset))
}

// exceptionPending reports whether the engine holds an exception nobody
// received. QuickJS ignores a failure to queue a promise job (it does not
// check JS_EnqueueJob there): when the allocation fails at the memory
// limit, the continuation is lost and the out-of-memory exception stays
// pending. It must be called on the VM's goroutine.
func exceptionPending(vm *quickjs.VM) bool {
	ctx := contextOf(vm)
	return ctx != nil && lib.XJS_HasException(nil, uintptr(ctx)) != 0
}

// contextOf returns vm's JSContext, or nil if this version of
// modernc.org/quickjs keeps it elsewhere.
func contextOf(vm *quickjs.VM) unsafe.Pointer {
	v := reflect.ValueOf(vm).Elem().FieldByName("state")
	if !v.IsValid() {
		return nil
	}
	c := v.FieldByName("cContext")
	if !c.IsValid() || c.Kind() != reflect.Uintptr || !c.CanAddr() {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(c.UnsafeAddr()))
}

// watchdog forces a prompt interrupt check in one VM. Create it with
// newWatchdog; stop it before the VM is closed.
type watchdog struct {
	mu      sync.Mutex
	counter *int32 // the VM's countdown; nil once stopped
	kicked  bool
	stopCh  chan struct{}
}

// newWatchdog returns a watchdog for vm that does nothing until kick.
func newWatchdog(vm *quickjs.VM) *watchdog {
	return &watchdog{counter: countdownOf(vm), stopCh: make(chan struct{})}
}

// available reports whether the watchdog can reach the VM's countdown.
func (w *watchdog) available() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counter != nil
}

// kick makes the VM check for an interrupt at its next call or jump, and
// keeps doing so every watchdogTick until stop. Call it after VM.Interrupt
// (or once the eval timeout passed); later calls do nothing.
func (w *watchdog) kick() {
	w.mu.Lock()
	if w.counter == nil || w.kicked {
		w.mu.Unlock()
		return
	}
	w.kicked = true
	stopCh := w.stopCh
	w.mu.Unlock()
	go func() {
		t := time.NewTicker(watchdogTick)
		defer t.Stop()
		for {
			w.mu.Lock()
			if w.counter == nil {
				w.mu.Unlock()
				return
			}
			// The countdown is C memory (outside the Go heap) that only
			// the VM's goroutine otherwise touches; an int32 store cannot
			// tear, and a store lost to the engine's own decrement is
			// repeated at the next tick.
			atomic.StoreInt32(w.counter, 0)
			w.mu.Unlock()
			select {
			case <-t.C:
			case <-stopCh:
				return
			}
		}
	}()
}

// stop ends the watchdog; once it returns, the VM may be closed.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.counter == nil && w.stopCh == nil {
		return
	}
	w.counter = nil
	close(w.stopCh)
	w.stopCh = nil
}
