package limit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a RateLimiter whose buckets live in Redis, so every replica of
// weft behind a load balancer draws from the same budget per client. Each
// decision is one atomic script call; the bucket refills by the Redis
// server's clock, so replicas' clock skew does not matter. Idle buckets
// expire by themselves.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis returns a limiter over c; keys are prefix + client key.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "weft:rate:"
	}
	return &Redis{c: c, prefix: prefix}
}

// tokenBucket takes one token from the bucket KEYS[1] (capacity ARGV[1],
// refill ARGV[2] tokens per millisecond) and returns {allowed, wait_ms}.
var tokenBucket = redis.NewScript(`
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then
  tokens = cap
  ts = now
end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate) + 1000)
return {allowed, wait}
`)

// DecisionTimeout bounds one decision: a Redis that does not answer within
// it counts as unreachable (the caller applies its failure mode) instead
// of holding the request through the client's dial retries.
const DecisionTimeout = time.Second

// Allow implements RateLimiter. perMinute <= 0 means unlimited. It fails
// (with an error, never silently) when Redis does not answer within
// DecisionTimeout.
func (r *Redis) Allow(ctx context.Context, key string, perMinute int) (bool, time.Duration, error) {
	if perMinute <= 0 {
		return true, 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, DecisionTimeout)
	defer cancel()
	rate := float64(perMinute) / 60000 // tokens per millisecond
	res, err := tokenBucket.Run(ctx, r.c, []string{r.prefix + key}, perMinute, rate).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("limit: redis rate limiter: %w", err)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
