package source_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weft-dev/weft/cache"
	"github.com/weft-dev/weft/source"
)

// TestSharedSnapshot: a second replica with an empty cache directory
// serves the catalog the first one discovered, from the shared store, at
// once — while its own source still hangs — and keeps discovering.
func TestSharedSnapshot(t *testing.T) {
	shared := cache.NewMemory(cache.MemoryOptions{}) // stands in for the Redis tier
	key := cache.Key(cache.KindCatalog, "v1")
	a, _ := source.NewSet([]source.Source{fn("a")}, source.SetOptions{
		CachePath: filepath.Join(t.TempDir(), "catalog.json"), CacheTTL: time.Hour, Fingerprint: "v1",
		Shared: shared, SharedKey: key,
	})
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	version := a.Snapshot().Version()
	a.Close()
	if _, ok, _ := shared.Get(context.Background(), key); !ok {
		t.Fatal("the snapshot was not written to the shared store")
	}

	slow := &stubborn{name: "a", hang: true}
	b, _ := source.NewSet([]source.Source{slow}, source.SetOptions{
		CachePath: filepath.Join(t.TempDir(), "catalog.json"), CacheTTL: time.Hour, Fingerprint: "v1",
		Shared: shared, SharedKey: key, DiscoveryTimeout: time.Minute,
	})
	defer b.Close()
	started := make(chan error, 1)
	go func() { started <- b.Start(context.Background()) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a correctness bound: the source hangs for a minute
		t.Fatal("Start waited for the hanging source instead of serving the shared snapshot")
	}
	if !b.FromCache() || b.Snapshot().Version() != version {
		t.Fatalf("from cache %v, version %s, want %s", b.FromCache(), b.Snapshot().Version(), version)
	}
	if _, ok := b.Snapshot().Get("a__ping"); !ok {
		t.Fatalf("tools %v", b.Snapshot().Tools())
	}

	// Another fingerprint does not use it.
	c, _ := source.NewSet([]source.Source{&stubborn{name: "a", hang: true}}, source.SetOptions{
		CacheTTL: time.Hour, Fingerprint: "v2", Shared: shared, SharedKey: key, DiscoveryTimeout: 50 * time.Millisecond,
	})
	defer c.Close()
	c.Start(context.Background())
	if c.FromCache() || c.Snapshot().Len() != 0 {
		t.Fatal("a snapshot of other sources was used")
	}
}
