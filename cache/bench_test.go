package cache

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkGet measures what a lookup costs in each case a caller meets:
// a hit in memory (L1), a hit in Redis (L2; the value then lands in
// memory, which the benchmark removes before each lookup), a miss in both
// tiers, and the memory tier alone without Redis; and, as the baseline,
// a plain go-redis GET of the same value. Values are 1 KiB (a
// search answer of a few results). Redis is the suite's
// (WEFT_TEST_REDIS_URL), on this machine over loopback.
//
//	go test ./cache/ -run '^$' -bench Get -count 6
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 1024)
	newTiered := func(b *testing.B) *Tiered {
		tc := NewTiered(TieredOptions{Redis: NewRedis(testRedis(b), RedisOptions{})})
		b.Cleanup(func() { tc.Close() })
		return tc
	}
	b.Run("l1-hit", func(b *testing.B) {
		tc := newTiered(b)
		key := Key(KindSearch, b.Name(), time.Now().String())
		tc.Set(ctx, key, val, time.Hour)
		b.ResetTimer()
		for b.Loop() {
			if _, ok, _ := tc.Get(ctx, key); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("l2-hit", func(b *testing.B) {
		tc := newTiered(b)
		key := Key(KindSearch, b.Name(), time.Now().String())
		tc.Set(ctx, key, val, time.Hour)
		b.ResetTimer()
		for b.Loop() {
			tc.Memory().Delete(key)
			if _, ok, _ := tc.Get(ctx, key); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("redis-get-baseline", func(b *testing.B) {
		// The same GET with go-redis alone: the round trip the L2 tier adds to.
		c := testRedis(b)
		key := Key(KindSearch, b.Name(), time.Now().String())
		c.Set(ctx, key, val, time.Hour)
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Get(ctx, key).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		tc := newTiered(b)
		prefix := b.Name() + time.Now().String()
		i := 0
		b.ResetTimer()
		for b.Loop() {
			i++
			if _, ok, _ := tc.Get(ctx, Key(KindSearch, prefix, strconv.Itoa(i))); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("memory-only-hit", func(b *testing.B) {
		tc := NewTiered(TieredOptions{})
		key := Key(KindSearch, "x")
		tc.Set(ctx, key, val, time.Hour)
		b.ResetTimer()
		for b.Loop() {
			if _, ok, _ := tc.Get(ctx, key); !ok {
				b.Fatal("miss")
			}
		}
	})
}
