package search

import (
	"sync"
	"time"
)

// denseHealth remembers failures of the dense side at query time (the
// embedder or the vector store), so that during an outage searches do not
// each wait for the embedder: after a failure the next search tries again,
// after more failures in a row searches skip the dense side for
// denseRetryAfter(failures) and answer lexically (Response.Degraded repeats
// the last error). A success clears it.
type denseHealth struct {
	now func() time.Time // time.Now; tests replace it

	mu       sync.Mutex
	failures int
	err      error
	since    time.Time // of the last failure
}

// down returns the last error while searches should skip the dense side,
// nil when they should try it.
func (h *denseHealth) down() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil || h.now().Sub(h.since) >= denseRetryAfter(h.failures) {
		return nil
	}
	return h.err
}

// fail records a failure of the dense side.
func (h *denseHealth) fail(err error) {
	h.mu.Lock()
	h.failures++
	h.err, h.since = err, h.now()
	h.mu.Unlock()
}

// ok records a success.
func (h *denseHealth) ok() {
	h.mu.Lock()
	h.failures, h.err = 0, nil
	h.mu.Unlock()
}
