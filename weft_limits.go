package weft

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/limit"
)

// rateLimiter builds the per-client request limiter: in memory, or in
// Redis (shared by every replica) when limits.redis_url is set. The
// returned close func releases the Redis connections.
func rateLimiter(cfg *config.Config) (limit.RateLimiter, func() error, error) {
	if cfg.Limits.RedisURL == "" {
		return limit.NewMemory(), func() error { return nil }, nil
	}
	opts, err := redis.ParseURL(cfg.Limits.RedisURL)
	if err != nil {
		// The URL was validated by config; this only guards library changes.
		return nil, nil, fmt.Errorf("weft: limits.redis_url: %w", err)
	}
	// One retry at most: a rate decision is bounded by
	// limit.DecisionTimeout, and a Redis that is down must be noticed (and
	// limits.redis_fail_mode applied) quickly rather than after the
	// client's default three retries.
	opts.MaxRetries = 1
	c := redis.NewClient(opts)
	return limit.NewRedis(c, "weft:rate:"), c.Close, nil
}

// RateLimiter is the per-client request limiter surfaces enforce
// REQUESTS_PER_MINUTE with (memory, or Redis with limits.redis_url).
func (o *Orchestrator) RateLimiter() limit.RateLimiter { return o.rate }
