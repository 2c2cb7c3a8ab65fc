package limit

import (
	"context"
	"sync"
)

// Keyed bounds concurrency per key (per client): each key has n slots of
// its own, created on first use. Idle keys (no holder, no waiter) are kept
// for reuse up to keepIdle of them and dropped beyond, so memory stays
// bounded by the keys in use plus keepIdle. A key at its bound
// waits on (or is refused by) its own slots only; other keys are not
// affected. It is safe for concurrent use.
type Keyed struct {
	n    int
	mu   sync.Mutex
	sems map[string]*keyedSem
}

type keyedSem struct {
	slots chan struct{}
	refs  int // holders plus waiters; 0: idle
}

// keepIdle is how many idle keys a Keyed keeps (so that the usual few
// clients do not allocate on every acquire).
const keepIdle = 256

// NewKeyed bounds each key to n concurrent holders (n <= 0: unlimited).
func NewKeyed(n int) *Keyed { return &Keyed{n: n, sems: map[string]*keyedSem{}} }

// Cap reports the slots per key (0: unlimited).
func (k *Keyed) Cap() int {
	if k == nil || k.n <= 0 {
		return 0
	}
	return k.n
}

// ref returns key's semaphore with one more reference.
func (k *Keyed) ref(key string) *keyedSem {
	k.mu.Lock()
	s := k.sems[key]
	if s == nil {
		s = &keyedSem{slots: make(chan struct{}, k.n)}
		k.sems[key] = s
	}
	s.refs++
	k.mu.Unlock()
	return s
}

// unref drops one reference to key's semaphore (and the entry at zero).
func (k *Keyed) unref(key string, s *keyedSem) {
	k.mu.Lock()
	s.refs--
	k.dropIdleLocked(key, s)
	k.mu.Unlock()
}

// dropIdleLocked drops key's entry when it is idle and more than keepIdle
// keys are held.
func (k *Keyed) dropIdleLocked(key string, s *keyedSem) {
	if s.refs == 0 && len(k.sems) > keepIdle {
		delete(k.sems, key)
	}
}

// TryAcquire takes a slot for key without waiting; false when key already
// holds n slots.
func (k *Keyed) TryAcquire(key string) bool {
	if k == nil || k.n <= 0 {
		return true
	}
	s := k.ref(key)
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		k.unref(key, s)
		return false
	}
}

// Acquire takes a slot for key, waiting until one of key's slots is free
// or ctx is done (then ctx's error is returned as is).
func (k *Keyed) Acquire(ctx context.Context, key string) error {
	if k == nil || k.n <= 0 {
		return nil
	}
	s := k.ref(key)
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		k.unref(key, s)
		return ctx.Err()
	}
}

// Release frees a slot of key taken by TryAcquire or Acquire.
func (k *Keyed) Release(key string) {
	if k == nil || k.n <= 0 {
		return
	}
	k.mu.Lock()
	if s := k.sems[key]; s != nil {
		select {
		case <-s.slots:
			s.refs--
			k.dropIdleLocked(key, s)
		default: // not held: a Release without its acquire changes nothing
		}
	}
	k.mu.Unlock()
}

// InUse reports the slots key holds now.
func (k *Keyed) InUse(key string) int {
	if k == nil || k.n <= 0 {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.sems[key]; s != nil {
		return len(s.slots)
	}
	return 0
}
