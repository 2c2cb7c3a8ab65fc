package embed

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// gatedEmbedder holds every Embed call until its gate opens, and fails
// when fail is set.
type gatedEmbedder struct {
	Embedder
	entered chan struct{} // receives once per call, when it starts
	gate    chan struct{}
	fail    bool
}

func (g *gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	g.entered <- struct{}{}
	<-g.gate
	if g.fail {
		return nil, errors.New("embedder down")
	}
	return g.Embedder.Embed(ctx, texts)
}

// TestConcurrentReplicasEmbedOnce: replicas starting together miss the
// same texts at the same time; each text is still embedded once. While
// replica a embeds, b waits for a's vectors (a holds the texts' leases);
// texts only b misses b embeds itself. When a's embedder fails, b embeds
// them after all.
func TestConcurrentReplicasEmbedOnce(t *testing.T) {
	for _, aFails := range []bool{false, true} {
		srv := embedtest.NewServer(8)
		defer srv.Close()
		opts, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		model := "m-" + t.Name() + time.Now().Format(time.RFC3339Nano)
		replica := func(wrap func(Embedder) Embedder) (*Cache, *cache.Metrics) {
			rc := redis.NewClient(opts)
			t.Cleanup(func() { rc.Close() })
			m := cache.NewMetrics()
			tier := cache.NewTiered(cache.TieredOptions{Redis: cache.NewRedis(rc, cache.RedisOptions{Timeout: 10 * time.Second}), Metrics: m})
			t.Cleanup(func() { tier.Close() })
			client, err := New(Config{BaseURL: srv.URL, Model: model})
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewCache(wrap(client), CacheOptions{TTL: time.Hour, Shared: tier})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c, m
		}
		g := &gatedEmbedder{entered: make(chan struct{}, 1), gate: make(chan struct{}), fail: aFails}
		a, _ := replica(func(e Embedder) Embedder { g.Embedder = e; return g })
		b, mb := replica(func(e Embedder) Embedder { return e })
		ctx := context.Background()
		aDone := make(chan error, 1)
		go func() {
			_, err := a.Embed(ctx, []string{"list files", "read file"})
			aDone <- err
		}()
		<-g.entered // a holds both texts' leases and is embedding them
		bDone := make(chan error, 1)
		var vb [][]float32
		go func() {
			var err error
			vb, err = b.Embed(ctx, []string{"read file", "delete file", "list files"})
			bDone <- err
		}()
		deadline := time.Now().Add(20 * time.Second)
		for leaseWaits(t, mb) < 2 {
			if time.Now().After(deadline) {
				t.Fatal("b never waited on a's leases")
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(g.gate)
		aErr := <-aDone
		if err := <-bDone; err != nil {
			t.Fatalf("b: %v", err)
		}
		var sent []string
		for _, r := range srv.Requests() {
			sent = append(sent, r.Input...)
		}
		slices.Sort(sent)
		want := []string{"delete file", "list files", "read file"} // a's failed call never reached the server
		if aFails {
			if aErr == nil {
				t.Fatal("a's embedder failed but a.Embed did not")
			}
		} else if aErr != nil {
			t.Fatal(aErr)
		}
		if !slices.Equal(sent, want) {
			t.Fatalf("a fails %v: texts sent to the embedder %q, want each once: %q", aFails, sent, want)
		}
		direct, err := New(Config{BaseURL: srv.URL, Model: model})
		if err != nil {
			t.Fatal(err)
		}
		wantVecs, err := direct.Embed(ctx, []string{"read file", "delete file", "list files"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range wantVecs {
			if !slices.Equal(vb[i], wantVecs[i]) {
				t.Fatalf("b's vector %d differs from the embedder's", i)
			}
		}
	}
}

// leaseWaits is weft_cache_lease_waits_total{kind="embedding"} of m.
func leaseWaits(t *testing.T, m *cache.Metrics) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "weft_cache_lease_waits_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "embedding" {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
