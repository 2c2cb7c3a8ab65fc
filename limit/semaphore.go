// Package limit owns weft's limiters: concurrency semaphores and request
// rate limiters (in memory; shared Redis-backed ones plug in behind the same
// interfaces).
package limit

import (
	"context"
	"errors"
)

// ErrBusy is returned by Acquire when no slot became free in time.
var ErrBusy = errors.New("concurrency limit reached")

// Semaphore bounds concurrency. The zero value and a nil *Semaphore are
// unlimited. It is safe for concurrent use.
type Semaphore struct {
	slots chan struct{}
}

// NewSemaphore returns a semaphore with n slots; n <= 0 means unlimited.
func NewSemaphore(n int) *Semaphore {
	if n <= 0 {
		return nil
	}
	return &Semaphore{slots: make(chan struct{}, n)}
}

// Acquire takes a slot, waiting until one is free or ctx is done. A ctx
// error is returned as is; callers distinguish a queue timeout themselves.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryAcquire takes a slot if one is free at once.
func (s *Semaphore) TryAcquire() bool {
	if s == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees a slot taken by Acquire.
func (s *Semaphore) Release() {
	if s == nil {
		return
	}
	<-s.slots
}

// Cap reports the number of slots (0: unlimited).
func (s *Semaphore) Cap() int {
	if s == nil {
		return 0
	}
	return cap(s.slots)
}
