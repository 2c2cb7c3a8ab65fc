package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrUnavailable is returned, when the fallback to memory is off, by the
// operations that need Redis while it is unreachable.
var ErrUnavailable = errors.New("cache: Redis is unreachable and the fallback to memory is off (cache.fallback, REDIS_FALLBACK_ENABLED)")

// Probe defaults: after a failure Redis is pinged after ProbeInterval,
// then at doubling intervals up to MaxProbeInterval, until it answers.
const (
	DefaultProbeInterval    = 250 * time.Millisecond
	DefaultMaxProbeInterval = 15 * time.Second
)

// TieredOptions configure a Tiered cache.
type TieredOptions struct {
	// Memory is the first tier (nil: a Memory with default bounds).
	Memory *Memory
	// Redis is the shared second tier (nil: memory only).
	Redis *Redis
	// NoFallback makes operations fail with ErrUnavailable while Redis is
	// unreachable, instead of serving from memory alone (the default).
	NoFallback bool
	// Metrics receives the tier's metrics (nil: none).
	Metrics *Metrics
	// Logger receives one warning when Redis becomes unreachable and one
	// message when it is back (nil: discarded).
	Logger *slog.Logger
	// ProbeInterval and MaxProbeInterval pace the pings that detect Redis
	// coming back. Defaults DefaultProbeInterval and DefaultMaxProbeInterval.
	ProbeInterval, MaxProbeInterval time.Duration
	// LeaseTTL is how long a replica's claim on computing a missing value
	// lasts unless released (see Claim). Default DefaultLeaseTTL.
	LeaseTTL time.Duration
}

// Tiered is a Store with two tiers: memory (per process) in front of
// Redis (shared by every replica). Get looks in memory, then in Redis
// (copying a hit into memory until the value's own expiry); Set writes
// both. GetOrLoad computes a missing value once per key however many
// callers miss it at the same time.
//
// When Redis fails, Tiered falls back to memory alone: one warning is
// logged, weft_cache_fallback_active is 1, and a background probe pings
// Redis with backoff until it answers; then Redis is used again. With
// NoFallback, operations fail with ErrUnavailable instead.
type Tiered struct {
	opts TieredOptions
	l1   *Memory
	l2   *Redis
	m    *Metrics
	log  *slog.Logger
	sf   singleflight.Group

	down atomic.Bool // Redis is unreachable; memory serves alone

	mu      sync.Mutex // guards closed and starting a probe
	closed  bool
	quit    chan struct{}
	probing sync.WaitGroup
}

// NewTiered returns a tiered cache.
func NewTiered(opts TieredOptions) *Tiered {
	if opts.Memory == nil {
		opts.Memory = NewMemory(MemoryOptions{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = DefaultProbeInterval
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.MaxProbeInterval < opts.ProbeInterval {
		opts.MaxProbeInterval = max(DefaultMaxProbeInterval, opts.ProbeInterval)
	}
	return &Tiered{opts: opts, l1: opts.Memory, l2: opts.Redis, m: opts.Metrics, log: opts.Logger, quit: make(chan struct{})}
}

// Shared reports whether the cache has a Redis tier.
func (t *Tiered) Shared() bool { return t.l2 != nil }

// Degraded reports whether Redis is unreachable and memory serves alone.
func (t *Tiered) Degraded() bool { return t.down.Load() }

// Memory returns the first tier.
func (t *Tiered) Memory() *Memory { return t.l1 }

// useL2 reports whether operations go to Redis now.
func (t *Tiered) useL2() bool { return t.l2 != nil && !t.down.Load() }

// Get implements Store.
func (t *Tiered) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if v, _, ok := t.l1.get(key); ok {
		t.m.request("l1", key, true)
		return v, true, nil
	}
	t.m.request("l1", key, false)
	return t.getL2(ctx, key)
}

// getL2 looks key up in Redis, copying a hit into memory.
func (t *Tiered) getL2(ctx context.Context, key string) ([]byte, bool, error) {
	if !t.useL2() {
		return nil, false, nil
	}
	v, exp, ok, err := t.l2.get(ctx, key)
	if err != nil {
		return nil, false, t.l2Failed(ctx, "get", err)
	}
	t.m.request("l2", key, ok)
	if ok {
		t.l1.setUntil(key, v, exp)
	}
	return v, ok, nil
}

// GetMany returns the values of keys (nil where missing), from memory
// where it has them and the rest from Redis in one round trip.
func (t *Tiered) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	var missKeys []string
	var missAt []int
	for i, k := range keys {
		if v, _, ok := t.l1.get(k); ok {
			t.m.request("l1", k, true)
			out[i] = v
			continue
		}
		t.m.request("l1", k, false)
		missKeys, missAt = append(missKeys, k), append(missAt, i)
	}
	if len(missKeys) == 0 || !t.useL2() {
		return out, nil
	}
	vals, exps, err := t.l2.getMany(ctx, missKeys, true)
	if err != nil {
		return out, t.l2Failed(ctx, "get", err)
	}
	for j, v := range vals {
		t.m.request("l2", missKeys[j], v != nil)
		if v != nil {
			out[missAt[j]] = v
			t.l1.setUntil(missKeys[j], v, exps[j])
		}
	}
	return out, nil
}

// Set implements Store: memory, then Redis. When the Redis write fails
// without the fallback, memory does not keep the value either.
func (t *Tiered) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := t.l1.Set(ctx, key, value, ttl); err != nil {
		return err
	}
	if !t.useL2() {
		return nil
	}
	if err := t.l2.Set(ctx, key, value, ttl); err != nil {
		if err := t.l2Failed(ctx, "set", err); err != nil {
			t.l1.Delete(key) // not stored unless both tiers hold it
			return err
		}
	}
	return nil
}

// GetOrLoad returns the value of key, computing it with load (and storing
// it for ttl) when neither tier has it. Concurrent callers missing the
// same key wait for one load; each returns when its own ctx ends. Across
// replicas, a key another replica is computing (it holds the key's lease,
// see Claim) is waited for instead of computed again.
func (t *Tiered) GetOrLoad(ctx context.Context, key string, ttl time.Duration, load func(context.Context) ([]byte, error)) ([]byte, error) {
	if v, _, ok := t.l1.get(key); ok {
		t.m.request("l1", key, true)
		return v, nil
	}
	t.m.request("l1", key, false)
	for {
		ch := t.sf.DoChan(key, func() (any, error) {
			if v, _, ok := t.l1.get(key); ok { // stored by a load that just ended
				return v, nil
			}
			v, ok, err := t.getL2(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				return v, nil
			}
			// Another replica may be computing it: wait for its value
			// rather than compute it a second time.
			held, release, err := t.Claim(ctx, []string{key})
			if err != nil {
				return nil, err
			}
			if !held[0] {
				vals, _, rel, err := t.AwaitMany(ctx, []string{key})
				if err != nil {
					return nil, err
				}
				if vals[0] != nil {
					return vals[0], nil
				}
				release = rel // the lease ended without a value: this caller holds it now
			}
			defer release()
			t.m.load(key)
			v, err = load(ctx)
			if err != nil {
				return nil, err
			}
			if err := t.Set(ctx, key, v, ttl); err != nil {
				return nil, err
			}
			return v, nil
		})
		select {
		case r := <-ch:
			if r.Err != nil {
				// The load ran with another caller's context, which ended:
				// this caller, still waiting, loads again.
				if r.Shared && ctx.Err() == nil && (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
					continue
				}
				return nil, r.Err
			}
			return r.Val.([]byte), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// l2Failed handles a failed Redis operation: the caller's own end is
// returned as such; otherwise the failure is counted and, with the
// fallback, memory serves alone from now on (nil is returned); without
// it, the error is ErrUnavailable.
func (t *Tiered) l2Failed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	t.m.l2Error(op)
	if t.opts.NoFallback {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if t.down.CompareAndSwap(false, true) {
		t.m.setFallback(true)
		t.log.Warn("cache: Redis is unreachable; serving from the in-memory cache only until it answers again",
			"err", err, "probe_every", t.opts.ProbeInterval.String()+".."+t.opts.MaxProbeInterval.String())
		t.mu.Lock()
		if !t.closed {
			t.probing.Add(1)
			go t.probe()
		}
		t.mu.Unlock()
	}
	return nil
}

// probe pings Redis with backoff until it answers or the cache is closed.
func (t *Tiered) probe() {
	defer t.probing.Done()
	d := t.opts.ProbeInterval
	timer := time.NewTimer(d)
	defer timer.Stop()
	start := time.Now()
	for {
		select {
		case <-t.quit:
			return
		case <-timer.C:
		}
		err := t.l2.Ping(context.Background())
		if err == nil {
			t.down.Store(false)
			t.m.setFallback(false)
			t.log.Info("cache: Redis answers again; the shared cache is back in use", "down_for", time.Since(start).Round(time.Millisecond))
			return
		}
		t.m.l2Error("ping")
		d = min(d*2, t.opts.MaxProbeInterval)
		timer.Reset(d)
	}
}

// Close stops the background probe. It does not close the Redis client
// (its owner does).
func (t *Tiered) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.quit)
	}
	t.mu.Unlock()
	t.probing.Wait()
	return nil
}
