package sandbox

import (
	"context"
	"sync"
)

// runSlots bounds the runs executing at once, and gives every client a fair
// share: one client holds at most perClient slots, and a freed slot goes to
// the waiting client that holds the fewest (ties in turn, round robin), so
// a client that keeps submitting cannot starve one that waits. The empty client (the local
// operator, or a server without API keys: one tenant) is bounded only by
// the total.
type runSlots struct {
	mu        sync.Mutex
	free      int
	perClient int
	inUse     map[string]int
	queues    map[string][]*slotWaiter // FIFO per client
	turn      []string                 // clients with waiters, in round-robin order
}

type slotWaiter struct {
	client  string
	granted chan struct{}
}

func newRunSlots(total, perClient int) *runSlots {
	return &runSlots{free: total, perClient: perClient, inUse: map[string]int{}, queues: map[string][]*slotWaiter{}}
}

// acquire waits for a slot for client as long as ctx allows.
func (s *runSlots) acquire(ctx context.Context, client string) error {
	w := &slotWaiter{client: client, granted: make(chan struct{})}
	s.mu.Lock()
	if len(s.queues[client]) == 0 {
		s.turn = append(s.turn, client)
	}
	s.queues[client] = append(s.queues[client], w)
	s.dispatch()
	s.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.granted: // granted meanwhile: give it back
		s.releaseLocked(client)
	default:
		s.remove(w)
	}
	return ctx.Err()
}

// release returns client's slot.
func (s *runSlots) release(client string) {
	s.mu.Lock()
	s.releaseLocked(client)
	s.mu.Unlock()
}

func (s *runSlots) releaseLocked(client string) {
	s.free++
	if s.inUse[client]--; s.inUse[client] <= 0 {
		delete(s.inUse, client)
	}
	s.dispatch()
}

// eligible reports whether client may take one more slot.
func (s *runSlots) eligible(client string) bool {
	return client == "" || s.inUse[client] < s.perClient
}

// dispatch grants free slots to waiters: each to the eligible waiting
// client holding the fewest slots, the earliest in turn among equals.
func (s *runSlots) dispatch() {
	for s.free > 0 {
		pick := -1
		for i, c := range s.turn {
			if s.eligible(c) && (pick < 0 || s.inUse[c] < s.inUse[s.turn[pick]]) {
				pick = i
			}
		}
		if pick < 0 {
			return
		}
		c := s.turn[pick]
		q := s.queues[c]
		w := q[0]
		s.queues[c] = q[1:]
		s.free--
		s.inUse[c]++
		close(w.granted)
		// The client goes to the back of the line (or leaves it).
		s.turn = append(s.turn[:pick:pick], s.turn[pick+1:]...)
		if len(s.queues[c]) > 0 {
			s.turn = append(s.turn, c)
		} else {
			delete(s.queues, c)
		}
	}
}

// remove drops a waiter that gave up.
func (s *runSlots) remove(w *slotWaiter) {
	q := s.queues[w.client]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) > 0 {
		s.queues[w.client] = q
		return
	}
	delete(s.queues, w.client)
	for i, c := range s.turn {
		if c == w.client {
			s.turn = append(s.turn[:i:i], s.turn[i+1:]...)
			break
		}
	}
}
