package weft

import (
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/limit"
)

// rateLimiter builds the per-client request limiter: in memory, or in
// Redis (shared by every replica) when limits.redis_url is set. The
// Redis client belongs to the cache tier, which closes it.
func rateLimiter(cfg *config.Config, tier *cacheTier) (limit.RateLimiter, func() error, error) {
	noop := func() error { return nil }
	if cfg.Limits.RedisURL == "" {
		return limit.NewMemory(), noop, nil
	}
	// The tier owns (and closes) the client, shared with the cache when
	// cache.redis_url names the same Redis.
	c, err := tier.limitsClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	return limit.NewRedis(c, "weft:rate:"), noop, nil
}

// RateLimiter is the per-client request limiter surfaces enforce
// REQUESTS_PER_MINUTE with (memory, or Redis with limits.redis_url).
func (o *Orchestrator) RateLimiter() limit.RateLimiter { return o.rate }
