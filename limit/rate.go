package limit

import (
	"context"
	"math"
	"sync"
	"time"
)

// RateLimiter decides whether a request of a client may proceed.
// Implementations: Memory (one process); a Redis-backed one shares the
// budget across replicas behind the same interface.
type RateLimiter interface {
	// Allow takes one token from key's bucket, whose capacity and refill
	// rate are perMinute tokens per minute. When the bucket is empty it
	// returns false and how long until a token is available.
	Allow(ctx context.Context, key string, perMinute int) (ok bool, retryAfter time.Duration, err error)
}

// Memory is an in-process token-bucket RateLimiter. Buckets of idle keys
// are dropped, so memory stays bounded by the number of active clients.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
	lastGC  time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewMemory returns an empty in-memory limiter.
func NewMemory() *Memory {
	return &Memory{buckets: map[string]*bucket{}, now: time.Now}
}

// Allow implements RateLimiter. perMinute <= 0 means unlimited.
func (m *Memory) Allow(_ context.Context, key string, perMinute int) (bool, time.Duration, error) {
	if perMinute <= 0 {
		return true, 0, nil
	}
	now := m.now()
	capacity := float64(perMinute)
	rate := capacity / 60 // tokens per second
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gcLocked(now)
	b := m.buckets[key]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		m.buckets[key] = b
	}
	b.tokens = math.Min(capacity, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, nil
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait, nil
}

// gcLocked drops buckets idle for over two minutes (they would be full
// again anyway), at most once a minute.
func (m *Memory) gcLocked(now time.Time) {
	if now.Sub(m.lastGC) < time.Minute {
		return
	}
	m.lastGC = now
	for k, b := range m.buckets {
		if now.Sub(b.last) > 2*time.Minute {
			delete(m.buckets, k)
		}
	}
}
