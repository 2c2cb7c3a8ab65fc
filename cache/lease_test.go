package cache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// replicaTier is one replica's tiered cache over the suite's Redis.
func replicaTier(t *testing.T, opts TieredOptions) (*Tiered, *Metrics) {
	t.Helper()
	m := NewMetrics()
	opts.Redis = NewRedis(testRedis(t), RedisOptions{Metrics: m, Timeout: loadedMachine})
	opts.Metrics = m
	tc := NewTiered(opts)
	t.Cleanup(func() { tc.Close() })
	return tc, m
}

// TestGetOrLoadAcrossReplicas: while replica a computes a value, replica
// b missing the same key waits for a's value instead of computing it too;
// when a's load fails, b computes it itself (a's lease was released).
func TestGetOrLoadAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	a, _ := replicaTier(t, TieredOptions{})
	b, mb := replicaTier(t, TieredOptions{})

	for _, fail := range []bool{false, true} {
		key := uniq(t, KindSearch, map[bool]string{false: "ok", true: "fails"}[fail])
		entered, finish := make(chan struct{}), make(chan struct{})
		aDone := make(chan error, 1)
		go func() {
			_, err := a.GetOrLoad(ctx, key, time.Minute, func(context.Context) ([]byte, error) {
				close(entered)
				<-finish
				if fail {
					return nil, errors.New("a failed")
				}
				return []byte("from a"), nil
			})
			aDone <- err
		}()
		<-entered // a holds the lease now
		var bLoads atomic.Int32
		bDone := make(chan string, 1)
		go func() {
			v, err := b.GetOrLoad(ctx, key, time.Minute, func(context.Context) ([]byte, error) {
				bLoads.Add(1)
				return []byte("from b"), nil
			})
			if err != nil {
				v = []byte(err.Error())
			}
			bDone <- string(v)
		}()
		wantWaits := map[bool]float64{false: 1, true: 2}[fail]
		waitFor(t, "b waiting on a's lease", func() bool {
			return testutil.ToFloat64(mb.waits.WithLabelValues("search")) == wantWaits
		})
		close(finish)
		aErr := <-aDone
		got := <-bDone
		if !fail {
			if aErr != nil || got != "from a" || bLoads.Load() != 0 {
				t.Fatalf("a: %v; b got %q with %d loads of its own, want a's value and none", aErr, got, bLoads.Load())
			}
			// The wait's polls are not lookups: b missed once.
			if n := testutil.ToFloat64(mb.requests.WithLabelValues("l2", "search", "miss")); n != 1 {
				t.Fatalf("b: %v l2 misses, want 1", n)
			}
			continue
		}
		if aErr == nil || got != "from b" || bLoads.Load() != 1 {
			t.Fatalf("a failed (%v): b got %q with %d loads, want its own value, one load", aErr, got, bLoads.Load())
		}
	}
}

// TestLeaseExpiresWhenTheHolderDies: a lease whose holder never releases
// it (the replica died) ends with its TTL; the waiter then holds it.
func TestLeaseExpiresWhenTheHolderDies(t *testing.T) {
	ctx := context.Background()
	a, _ := replicaTier(t, TieredOptions{LeaseTTL: 300 * time.Millisecond})
	b, _ := replicaTier(t, TieredOptions{})
	k1, k2, k3 := uniq(t, KindEmbedding, "1"), uniq(t, KindEmbedding, "2"), uniq(t, KindEmbedding, "3")
	held, _, err := a.Claim(ctx, []string{k1, k2}) // never released
	if err != nil || !held[0] || !held[1] {
		t.Fatalf("a's claim: %v %v", held, err)
	}
	held, releaseB, err := b.Claim(ctx, []string{k1, k2, k3})
	if err != nil || held[0] || held[1] || !held[2] {
		t.Fatalf("b's claim: %v %v, want only k3", held, err)
	}
	defer releaseB()
	// k1's value arrives; k2's holder is gone.
	if err := a.Set(ctx, k1, []byte("v1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	vals, held, release, err := b.AwaitMany(ctx, []string{k1, k2})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if string(vals[0]) != "v1" || held[0] || vals[1] != nil || !held[1] {
		t.Fatalf("AwaitMany = %q held %v, want k1's value and k2 held", vals, held)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("waited %s for a 300 ms lease", waited)
	}
	// A released lease can be claimed at once; a lease is only released
	// by its holder.
	release()
	held, rel, err := a.Claim(ctx, []string{k2, k3})
	if err != nil || !held[0] || held[1] {
		t.Fatalf("after b released k2: %v %v, want k2 free and k3 still b's", held, err)
	}
	rel()
	if n := testutil.ToFloat64(b.m.l2Errors.WithLabelValues("lease")); n != 0 {
		t.Fatalf("%v failed lease operations", n)
	}
}

// TestClaimWithoutRedis: without a shared tier every key is the caller's.
func TestClaimWithoutRedis(t *testing.T) {
	tc := NewTiered(TieredOptions{})
	defer tc.Close()
	held, release, err := tc.Claim(context.Background(), []string{"a", "b"})
	if err != nil || !held[0] || !held[1] {
		t.Fatalf("%v %v", held, err)
	}
	release()
}

// TestAwaitManyEndsWithTheContext: a waiter whose caller gives up returns
// the context's error.
func TestAwaitManyEndsWithTheContext(t *testing.T) {
	a, _ := replicaTier(t, TieredOptions{})
	b, _ := replicaTier(t, TieredOptions{})
	k := uniq(t, KindEmbedding, "never")
	_, release, err := a.Claim(context.Background(), []string{k})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, _, err := b.AwaitMany(ctx, []string{k}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline", err)
	}
}

// TestClaimAfterAnotherStored: a replica that missed a key, then claims it
// after another replica stored its value and released the lease (the race
// bench/replicas hit: two replicas embedded the same texts), does not hold
// it: it reads the stored value instead of computing it again, and the
// lease it took is released at once.
func TestClaimAfterAnotherStored(t *testing.T) {
	ctx := context.Background()
	a, _ := replicaTier(t, TieredOptions{})
	b, _ := replicaTier(t, TieredOptions{})
	stored, missing := uniq(t, KindEmbedding, "stored"), uniq(t, KindEmbedding, "missing")
	if vals, err := a.GetMany(ctx, []string{stored, missing}); err != nil || vals[0] != nil || vals[1] != nil {
		t.Fatalf("a's miss: %q %v", vals, err)
	}
	// b computes and stores the value, its lease already released.
	if err := b.Set(ctx, stored, []byte("from b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	held, release, err := a.Claim(ctx, []string{stored, missing})
	if err != nil {
		t.Fatal(err)
	}
	if held[0] || !held[1] {
		t.Fatalf("held %v: want the stored key left to its value and the missing one held", held)
	}
	vals, _, rel, err := a.AwaitMany(ctx, []string{stored})
	if err != nil || string(vals[0]) != "from b" {
		t.Fatalf("a read %q %v", vals, err)
	}
	rel()
	release()
	// The stored key's lease was released: b can claim it.
	bh, brel, err := b.Claim(ctx, []string{missing, stored})
	if err != nil {
		t.Fatal(err)
	}
	defer brel()
	if !bh[0] || bh[1] {
		t.Fatalf("b's claim after a released: %v (want missing held again, stored left to its value)", bh)
	}
}
