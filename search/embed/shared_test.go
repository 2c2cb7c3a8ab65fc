package embed

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/cache"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/search/embed/embedtest"
)

// TestSharedVectors: two replicas (own memory, own cache dir, own
// connections) share vectors through one real Redis: a text one of them
// embedded is never sent to the embedder by the other.
func TestSharedVectors(t *testing.T) {
	srv := embedtest.NewServer(8)
	defer srv.Close()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	model := "m-" + t.Name() + time.Now().Format(time.RFC3339Nano) // fresh keys per run
	replica := func() *Cache {
		rc := redis.NewClient(opts)
		t.Cleanup(func() { rc.Close() })
		tier := cache.NewTiered(cache.TieredOptions{Redis: cache.NewRedis(rc, cache.RedisOptions{Timeout: 10 * time.Second})})
		t.Cleanup(func() { tier.Close() })
		client, err := New(Config{BaseURL: srv.URL, Model: model})
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewCache(client, CacheOptions{Dir: t.TempDir(), TTL: time.Hour, Shared: tier})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := replica(), replica()
	ctx := context.Background()
	va, err := a.Embed(ctx, []string{"list files", "read file"})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.Embed(ctx, []string{"read file", "list files", "delete file"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || !slices.Equal(reqs[1].Input, []string{"delete file"}) {
		t.Fatalf("embedder requests %v, want b to send only the text a had not embedded", reqs)
	}
	if !slices.Equal(va[0], vb[1]) || !slices.Equal(va[1], vb[0]) {
		t.Fatal("b's shared vectors differ from a's")
	}
	if b.SharedHits() != 2 {
		t.Fatalf("b: %d shared hits, want 2", b.SharedHits())
	}
	// a now finds b's vector too.
	if _, err := a.Embed(ctx, []string{"delete file"}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Fatalf("%d embedder requests, want still 2", n)
	}
}

func TestVectorEncoding(t *testing.T) {
	v := []float32{1.5, -2, 0, 3.25}
	got, ok := decodeVector(encodeVector(v), 4)
	if !ok || !slices.Equal(got, v) {
		t.Fatalf("round trip %v %v", got, ok)
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, encodeVector(v)} {
		if _, ok := decodeVector(b, 3); ok {
			t.Fatalf("%v decoded as a 3-vector", b)
		}
	}
}
