// Package cache is weft's cache tier: a Store interface (bytes by key,
// with a TTL), Memory (an in-process LRU bounded by bytes and entries),
// Redis (a second tier shared by every replica) and Tiered (memory in front
// of Redis, with singleflight loads, a fallback to memory alone while
// Redis is unreachable and automatic recovery).
//
// Keys are namespaced and versioned: Key(kind, parts...) is
// "weft:v1:<kind>:<sha256 of the parts>". Values in Redis are wrapped in a
// small self-describing envelope (magic, format version, kind, expiry,
// length and CRC-32C): a value that is corrupt, of another kind or written
// by something else is ignored and counted, never trusted.
//
// The package depends on no other weft package; its metrics are a
// prometheus.Collector (Metrics) that the caller registers.
package cache

import (
	"context"
	"time"
)

// Store is a cache of byte values by key with per-entry expiry. Memory,
// Redis and Tiered implement it. Implementations are safe for concurrent
// use; a returned value must not be modified by the caller.
type Store interface {
	// Get returns the value stored under key, if present and not expired.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value under key for ttl (0: until evicted).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}
