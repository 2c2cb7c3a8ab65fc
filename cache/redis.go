package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisTimeout bounds one Redis operation: a Redis that does not
// answer within it counts as unreachable instead of holding the request.
const DefaultRedisTimeout = time.Second

// RedisOptions configure a Redis store.
type RedisOptions struct {
	// Timeout bounds each operation. Default DefaultRedisTimeout.
	Timeout time.Duration
	// Metrics counts invalid values (nil: not counted).
	Metrics *Metrics
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Redis is a Store in Redis, shared by every replica. Values are sealed in
// the envelope described in the package comment; a value that does not
// open (foreign, corrupt, of another kind, expired) is a miss and is
// counted in weft_cache_invalid_total.
type Redis struct {
	c    redis.UniversalClient
	opts RedisOptions
}

// NewRedis returns a store over c (which the caller owns and closes).
func NewRedis(c redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Redis{c: c, opts: opts}
}

// Client returns the Redis client.
func (r *Redis) Client() redis.UniversalClient { return r.c }

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, _, ok, err := r.get(ctx, key)
	return v, ok, err
}

// get returns the payload and its expiry.
func (r *Redis) get(ctx context.Context, key string) ([]byte, time.Time, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	b, err := r.c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("cache: redis GET: %w", err)
	}
	v, exp, ok := r.open(key, b, true)
	return v, exp, ok, nil
}

// open unwraps b, stored under key; false (and counted, when count is set)
// when it is not a live value of key's kind.
func (r *Redis) open(key string, b []byte, count bool) ([]byte, time.Time, bool) {
	v, exp, err := open(KindOf(key), b)
	switch {
	case errors.Is(err, ErrForeign):
		if count {
			r.opts.Metrics.invalid(key, "foreign")
		}
		return nil, time.Time{}, false
	case err != nil:
		if count {
			r.opts.Metrics.invalid(key, "corrupt")
		}
		return nil, time.Time{}, false
	case !exp.IsZero() && !r.opts.Now().Before(exp):
		return nil, time.Time{}, false // Redis expires it by itself; clocks differ a little
	}
	return v, exp, true
}

// GetMany returns the values of keys (nil where missing or invalid), in
// one round trip (MGET).
func (r *Redis) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	out, _, err := r.getMany(ctx, keys, true)
	return out, err
}

// getMany is GetMany with each value's expiry; count says whether invalid
// values are counted (a request's lookup) or not (re-reads of keys it
// already missed: lease waits and the check after a claim).
func (r *Redis) getMany(ctx context.Context, keys []string, count bool) ([][]byte, []time.Time, error) {
	out := make([][]byte, len(keys))
	exps := make([]time.Time, len(keys))
	if len(keys) == 0 {
		return out, exps, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	vals, err := r.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("cache: redis MGET: %w", err)
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if p, exp, ok := r.open(keys[i], []byte(s), count); ok {
			out[i], exps[i] = p, exp
		}
	}
	return out, exps, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	var expires time.Time
	if ttl > 0 {
		expires = r.opts.Now().Add(ttl)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if err := r.c.Set(ctx, key, seal(KindOf(key), value, expires), ttl).Err(); err != nil {
		return fmt.Errorf("cache: redis SET: %w", err)
	}
	return nil
}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: redis PING: %w", err)
	}
	return nil
}
