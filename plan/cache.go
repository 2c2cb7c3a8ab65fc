package plan

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Cache stores the results of steps with an idempotency key. It is the
// plan package's view of weft's cache; the facade may pass a shared
// (Redis-backed) implementation. Implementations must be safe for
// concurrent use.
type Cache interface {
	// Get returns the value stored under key, if present and not expired.
	Get(ctx context.Context, key string) (json.RawMessage, bool, error)
	// Set stores value under key for ttl (0: no expiry).
	Set(ctx context.Context, key string, value json.RawMessage, ttl time.Duration) error
}

// MemoryCache is an in-memory Cache with per-entry expiry and a bound on
// the number of entries (the entries closest to expiry are evicted first).
type MemoryCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]memEntry
	now     func() time.Time
}

type memEntry struct {
	value   json.RawMessage
	expires time.Time // zero: never
}

// NewMemoryCache returns a cache holding at most max entries (max <= 0: 10,000).
func NewMemoryCache(max int) *MemoryCache {
	if max <= 0 {
		max = 10000
	}
	return &MemoryCache{max: max, entries: map[string]memEntry{}, now: time.Now}
}

// Get implements Cache.
func (m *MemoryCache) Get(_ context.Context, key string) (json.RawMessage, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	if !e.expires.IsZero() && !m.now().Before(e.expires) {
		delete(m.entries, key)
		return nil, false, nil
	}
	return e.value, true, nil
}

// Set implements Cache.
func (m *MemoryCache) Set(_ context.Context, key string, value json.RawMessage, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := memEntry{value: append(json.RawMessage(nil), value...)}
	if ttl > 0 {
		e.expires = now.Add(ttl)
	}
	if _, exists := m.entries[key]; !exists && len(m.entries) >= m.max {
		m.evict(now)
	}
	m.entries[key] = e
	return nil
}

// evict drops expired entries, or else the one expiring soonest.
func (m *MemoryCache) evict(now time.Time) {
	victim, first := "", true
	var soonest time.Time
	for k, e := range m.entries {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			delete(m.entries, k)
			continue
		}
		if e.expires.IsZero() {
			continue
		}
		if first || e.expires.Before(soonest) {
			victim, soonest, first = k, e.expires, false
		}
	}
	if len(m.entries) < m.max {
		return
	}
	if victim == "" {
		for k := range m.entries {
			victim = k
			break
		}
	}
	delete(m.entries, victim)
}

// Len is the number of entries (including expired ones not yet dropped).
func (m *MemoryCache) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// flight collapses concurrent calls with the same key into one.
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  json.RawMessage
	err  error
}

// do runs fn once per key among concurrent callers; shared reports
// whether this caller received another caller's result.
func (f *flight) do(ctx context.Context, key string, fn func() (json.RawMessage, error)) (val json.RawMessage, err error, shared bool) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*flightCall{}
	}
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err, true
		case <-ctx.Done():
			return nil, ctx.Err(), true
		}
	}
	c := &flightCall{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
	return c.val, c.err, false
}
