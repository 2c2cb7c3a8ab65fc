package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replicas that miss the same key at the same time (three replicas
// starting together and embedding one catalog, say) would each compute
// it. A lease prevents that: before computing a missing value, a replica
// claims the key in Redis (SET NX with a TTL); the replicas that find it
// claimed wait for the value to appear instead, and claim it themselves
// when the lease ends without one (its holder failed, or died and the
// lease expired). Leases are an optimisation, never a correctness
// condition: a holder slower than the lease's TTL only lets another
// replica compute the same value too, and without Redis (or while it is
// unreachable) every key counts as claimed.

// DefaultLeaseTTL is how long a claim on computing a value lasts unless
// released first: the longest another replica waits for a holder that
// died.
const DefaultLeaseTTL = 30 * time.Second

// Lease waiting: the first poll for a value another replica computes
// comes after leasePollMin, then at doubling intervals up to leasePollMax.
const (
	leasePollMin = 10 * time.Millisecond
	leasePollMax = 250 * time.Millisecond
)

// leaseKey is where key's lease lives: beside it in the namespace, under
// the "lease" kind, so that no value is ever read as a lease.
func leaseKey(key string) string {
	return Prefix + "lease:" + strings.TrimPrefix(key, Prefix)
}

// releaseScript deletes a lease only if it is still the caller's (its
// TTL may have passed and another replica may hold it now).
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// claim sets a lease on each key nobody holds, in one round trip; held[i]
// reports whether this caller now holds keys[i].
func (r *Redis) claim(ctx context.Context, keys []string, token string, ttl time.Duration) ([]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	pipe := r.c.Pipeline()
	cmds := make([]*redis.BoolCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.SetNX(ctx, leaseKey(k), token, ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cache: redis SET NX (lease): %w", err)
	}
	held := make([]bool, len(keys))
	for i, c := range cmds {
		held[i] = c.Val()
	}
	return held, nil
}

// release ends the caller's leases on keys.
func (r *Redis) release(ctx context.Context, keys []string, token string) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	pipe := r.c.Pipeline()
	for _, k := range keys {
		releaseScript.Eval(ctx, pipe, []string{leaseKey(k)}, token) // EVALSHA cannot fall back to EVAL inside a pipeline
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return fmt.Errorf("cache: redis release lease: %w", err)
	}
	return nil
}

// Claim takes, for each of keys, the right to compute its value: held[i]
// is true when this caller should compute keys[i] (nobody else is) and
// false when another replica is computing it now — wait for it with
// AwaitMany. release ends the caller's leases; call it once the values it
// computed are stored (or their computation failed). Without Redis, or
// while it is unreachable, every key is held. The error is the caller's
// context's, or ErrUnavailable without the fallback.
func (t *Tiered) Claim(ctx context.Context, keys []string) (held []bool, release func(), err error) {
	return t.claim(ctx, keys, true)
}

// claim is Claim; count says whether keys found held are counted as
// waits (a first claim) or not (AwaitMany's claims while it waits).
func (t *Tiered) claim(ctx context.Context, keys []string, count bool) (held []bool, release func(), err error) {
	held = make([]bool, len(keys))
	release = func() {}
	if !t.useL2() || len(keys) == 0 {
		for i := range held {
			held[i] = true
		}
		return held, release, nil
	}
	token := newToken()
	got, err := t.l2.claim(ctx, keys, token, t.opts.LeaseTTL)
	if err != nil {
		if err := t.l2Failed(ctx, "lease", err); err != nil {
			return nil, nil, err
		}
		for i := range held {
			held[i] = true
		}
		return held, release, nil
	}
	var mine []string
	for i, ok := range got {
		held[i] = ok
		if ok {
			mine = append(mine, keys[i])
		} else if count {
			t.m.leaseWait(keys[i])
		}
	}
	if len(mine) == 0 {
		return held, release, nil
	}
	// The caller missed these keys before claiming them; another holder
	// may have stored a value and released its lease in between. Such a
	// key is not held (the caller reads its value, AwaitMany at once)
	// rather than computed a second time.
	if vals, err := t.poll(ctx, mine); err == nil {
		var stored, still []string
		j := 0
		for i, ok := range got {
			if !ok {
				continue
			}
			if vals[j] != nil {
				held[i] = false
				stored = append(stored, keys[i])
			} else {
				still = append(still, keys[i])
			}
			j++
		}
		if len(stored) > 0 {
			if err := t.l2.release(context.WithoutCancel(ctx), stored, token); err != nil {
				t.m.l2Error("lease")
			}
		}
		if mine = still; len(mine) == 0 {
			return held, release, nil
		}
	}
	return held, func() {
		// Released even when the caller's context ended: the lease
		// must not make the others wait for its TTL.
		if err := t.l2.release(context.WithoutCancel(ctx), mine, token); err != nil {
			t.m.l2Error("lease")
		}
	}, nil
}

// AwaitMany waits for the values of keys that other replicas hold leases
// on (Claim said false). It returns the values found (nil where still
// missing) and, for the missing ones, held[i] true when this caller has
// now claimed keys[i] because its lease ended without a value; release
// ends those leases. It returns when every key has a value or is held by
// this caller, or with the context's error.
func (t *Tiered) AwaitMany(ctx context.Context, keys []string) (vals [][]byte, held []bool, release func(), err error) {
	vals = make([][]byte, len(keys))
	held = make([]bool, len(keys))
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	pending := make([]int, len(keys))
	for i := range pending {
		pending[i] = i
	}
	wait := leasePollMin
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			release()
			return nil, nil, func() {}, ctx.Err()
		case <-timer.C:
		}
		pk := make([]string, len(pending))
		for j, i := range pending {
			pk[j] = keys[i]
		}
		got, err := t.poll(ctx, pk)
		if err != nil {
			release()
			return nil, nil, func() {}, err
		}
		var missing []int
		for j, i := range pending {
			if got[j] != nil {
				vals[i] = got[j]
			} else {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			break
		}
		mk := make([]string, len(missing))
		for j, i := range missing {
			mk[j] = keys[i]
		}
		h, rel, err := t.claim(ctx, mk, false)
		if err != nil {
			release()
			return nil, nil, func() {}, err
		}
		releases = append(releases, rel)
		pending = pending[:0]
		for j, i := range missing {
			if h[j] {
				held[i] = true
			} else {
				pending = append(pending, i)
			}
		}
		wait = min(2*wait, leasePollMax)
		timer.Reset(wait)
	}
	return vals, held, release, nil
}

// poll reads keys from Redis while waiting on leases, copying what it
// finds into memory. Unlike GetMany it counts no lookups: one wait would
// otherwise count a miss per poll in weft_cache_requests_total. While
// Redis is unreachable it finds nothing (and the claims that follow hold
// every key).
func (t *Tiered) poll(ctx context.Context, keys []string) ([][]byte, error) {
	if !t.useL2() {
		return make([][]byte, len(keys)), nil
	}
	vals, exps, err := t.l2.getMany(ctx, keys, false)
	if err != nil {
		if err := t.l2Failed(ctx, "get", err); err != nil {
			return nil, err
		}
		return make([][]byte, len(keys)), nil
	}
	for i, v := range vals {
		if v != nil {
			t.l1.setUntil(keys[i], v, exps[i])
		}
	}
	return vals, nil
}

// newToken returns a random lease token: a lease is released only by the
// claim that took it.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
