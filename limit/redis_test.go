package limit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/internal/testenv"
)

// TestRedisSharedBudget: two limiters (two replicas of weft) over one real
// Redis server draw from the same bucket per client.
func TestRedisSharedBudget(t *testing.T) {
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	prefix := "weft-test:" + t.Name() + ":" + time.Now().Format(time.RFC3339Nano) + ":"
	a, b := NewRedis(c, prefix), NewRedis(c, prefix)

	allowed := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		ok, _, err := l.Allow(ctx, "client-1", 6)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		}
	}
	if allowed != 6 {
		t.Fatalf("%d of 10 allowed across both replicas, want the shared budget of 6", allowed)
	}
	ok, wait, _ := b.Allow(ctx, "client-1", 6)
	if ok || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("empty bucket: ok=%v wait=%s (want refused, ~10s for 6/min)", ok, wait)
	}
	// Another client has its own bucket; unlimited is never refused.
	if ok, _, _ := a.Allow(ctx, "client-2", 6); !ok {
		t.Fatal("client-2 refused")
	}
	if ok, _, _ := a.Allow(ctx, "client-1", 0); !ok {
		t.Fatal("unlimited refused")
	}
	// Buckets expire when idle.
	ttl, err := c.PTTL(ctx, prefix+"client-1").Result()
	if err != nil || ttl <= 0 || ttl > 61*time.Second+time.Second {
		t.Fatalf("bucket TTL %s (%v), want about a minute", ttl, err)
	}
}

func TestRedisUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	if _, _, err := NewRedis(c, "").Allow(context.Background(), "k", 10); err == nil {
		t.Fatal("no error from an unreachable Redis")
	}
}
