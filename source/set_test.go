package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// stubborn is a source whose Start never returns before its context ends
// and whose Tools fails the first failures times.
type stubborn struct {
	name     string
	hang     bool
	failures int32
	calls    atomic.Int32
	closed   atomic.Bool
	mu       sync.Mutex
	notify   func()
}

func (s *stubborn) Name() string { return s.name }
func (s *stubborn) Start(ctx context.Context) error {
	if s.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}
func (s *stubborn) Tools(ctx context.Context) ([]catalog.Tool, error) {
	if s.calls.Add(1) <= s.failures {
		return nil, errors.New("not yet")
	}
	return []catalog.Tool{{Original: "t"}}, nil
}
func (s *stubborn) Call(context.Context, string, json.RawMessage) (*source.Result, error) {
	return source.TextResult("ok", false), nil
}
func (s *stubborn) Health() source.Health { return source.Health{State: source.StateReady} }
func (s *stubborn) Close() error          { s.closed.Store(true); return nil }
func (s *stubborn) OnToolsChanged(f func()) {
	s.mu.Lock()
	s.notify = f
	s.mu.Unlock()
}

func fn(name string) *function.Source {
	f := function.New(name, "")
	function.Must(function.Add(f, "ping", "", func(ctx context.Context, in struct{}) (string, error) { return "pong", nil }))
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSlowSourceDoesNotBlockOthers(t *testing.T) {
	slow := &stubborn{name: "slow", hang: true}
	set, err := source.NewSet([]source.Source{fn("a"), slow, fn("b")}, source.SetOptions{DiscoveryTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := set.Snapshot()
	if snap.Len() != 2 {
		t.Fatalf("%d tools, want a__ping and b__ping", snap.Len())
	}
	h := set.Health()["slow"]
	if h.State != source.StateUnhealthy || h.Reason != "start: context deadline exceeded" {
		t.Fatalf("slow health %+v", h)
	}
}

func TestFailedDiscoveryRetriedWithBackoff(t *testing.T) {
	flaky := &stubborn{name: "flaky", failures: 2}
	set, _ := source.NewSet([]source.Source{flaky}, source.SetOptions{RetryInterval: 10 * time.Millisecond})
	defer set.Close()
	set.Start(context.Background())
	if set.Snapshot().Len() != 0 || set.Health()["flaky"].State != source.StateUnhealthy {
		t.Fatalf("after the first failure: %d tools, %+v", set.Snapshot().Len(), set.Health()["flaky"])
	}
	waitFor(t, "flaky to be discovered", func() bool { return set.Snapshot().Len() == 1 })
	if set.Health()["flaky"].State != source.StateReady {
		t.Fatalf("health %+v", set.Health()["flaky"])
	}
	if n := flaky.calls.Load(); n != 3 {
		t.Fatalf("%d discovery attempts, want 3", n)
	}
}

func TestNotifierTriggersRediscoveryAndSubscribers(t *testing.T) {
	f := fn("a")
	set, _ := source.NewSet([]source.Source{f}, source.SetOptions{})
	defer set.Close()
	got := make(chan *catalog.Snapshot, 4)
	set.Subscribe(func(s *catalog.Snapshot) { got <- s })
	set.Start(context.Background())
	<-got // the first snapshot
	function.Must(function.Add(f, "pong", "", func(ctx context.Context, in struct{}) (string, error) { return "ping", nil }))
	select {
	case s := <-got:
		if _, ok := s.Get("a__pong"); !ok {
			t.Fatalf("new tool missing: %v", s.Tools())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no new snapshot after list change")
	}
}

func TestCachePersistence(t *testing.T) {
	dir := t.TempDir()
	opts := source.SetOptions{CachePath: filepath.Join(dir, "catalog.json"), CacheTTL: time.Hour, Fingerprint: "v1"}
	set, _ := source.NewSet([]source.Source{fn("a")}, opts)
	set.Start(context.Background())
	version := set.Snapshot().Version()
	set.Close()

	// Same fingerprint: served from the cache at once, even while the source hangs.
	slow := &stubborn{name: "a", hang: true}
	set2, _ := source.NewSet([]source.Source{slow}, opts)
	set2.Start(context.Background())
	if !set2.FromCache() || set2.Snapshot().Version() != version {
		t.Fatalf("from cache %v, version %s want %s", set2.FromCache(), set2.Snapshot().Version(), version)
	}
	set2.Close()
	if !slow.closed.Load() {
		t.Fatal("Close did not close the source")
	}

	// Another fingerprint or an expired TTL: not used.
	for _, o := range []source.SetOptions{
		{CachePath: opts.CachePath, CacheTTL: time.Hour, Fingerprint: "v2", DiscoveryTimeout: 50 * time.Millisecond},
		{CachePath: opts.CachePath, CacheTTL: time.Nanosecond, Fingerprint: "v1", DiscoveryTimeout: 50 * time.Millisecond},
	} {
		s, _ := source.NewSet([]source.Source{&stubborn{name: "a", hang: true}}, o)
		s.Start(context.Background())
		if s.FromCache() || s.Snapshot().Len() != 0 {
			t.Fatalf("cache used with %+v", o)
		}
		s.Close()
	}
}

func TestDuplicateSourceNames(t *testing.T) {
	if _, err := source.NewSet([]source.Source{fn("a"), fn("a")}, source.SetOptions{}); err == nil {
		t.Fatal("duplicate names accepted")
	}
}

// gated is a source whose Tools waits until release is closed.
type gated struct {
	name    string
	release chan struct{}
}

func (g *gated) Name() string                    { return g.name }
func (g *gated) Start(ctx context.Context) error { return nil }
func (g *gated) Tools(ctx context.Context) ([]catalog.Tool, error) {
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []catalog.Tool{{Original: "t"}}, nil
}
func (g *gated) Call(context.Context, string, json.RawMessage) (*source.Result, error) {
	return source.TextResult("ok", false), nil
}
func (g *gated) Health() source.Health { return source.Health{State: source.StateReady} }
func (g *gated) Close() error          { return nil }

// recorder collects the snapshots a subscriber receives.
type recorder struct {
	mu   sync.Mutex
	got  []*catalog.Snapshot
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1000)} }

func (r *recorder) add(s *catalog.Snapshot) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
	r.more <- struct{}{}
}

func (r *recorder) last() *catalog.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

// TestPublishDeliversInOrder forces the interleaving that delivered a stale
// snapshot last: a second publish happening while the first one is still
// persisting its (older) snapshot.
func TestPublishDeliversInOrder(t *testing.T) {
	b := &gated{name: "b", release: make(chan struct{})}
	cache := filepath.Join(t.TempDir(), "catalog.json")
	set, _ := source.NewSet([]source.Source{fn("a"), b}, source.SetOptions{CachePath: cache, CacheTTL: time.Hour})
	defer set.Close()
	rec := newRecorder()
	set.Subscribe(rec.add)
	var saves atomic.Int32
	source.SetBeforeSave(set, func(saving *catalog.Snapshot) {
		if saves.Add(1) != 1 {
			return
		}
		// The first save (a's tools only) lets b's discovery finish and
		// waits until b's snapshot has been stored — which the ordered
		// publish prevents, so the wait ends after its bound.
		close(b.release)
		deadline := time.Now().Add(time.Second)
		for set.Snapshot() == saving && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	})
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-rec.more:
		case <-time.After(10 * time.Second):
			t.Fatal("fewer than two snapshots delivered")
		}
	}
	final := set.Snapshot()
	if final.Len() != 2 || rec.last() != final {
		t.Fatalf("last delivered snapshot has %d tools (version %s); current has %d (version %s)",
			rec.last().Len(), rec.last().Version(), final.Len(), final.Version())
	}
	set.Close()
	// The persisted snapshot is the current one, not the one saved first.
	set2, _ := source.NewSet([]source.Source{&stubborn{name: "a", hang: true}, &stubborn{name: "b", hang: true}},
		source.SetOptions{CachePath: cache, CacheTTL: time.Hour})
	defer set2.Close()
	set2.Start(context.Background())
	if v := set2.Snapshot().Version(); v != final.Version() {
		t.Fatalf("persisted version %s, want %s", v, final.Version())
	}
}

// TestPublishManySources starts many sources whose discoveries publish
// concurrently while every cache write yields: the last delivered
// snapshot must be the current one, holding every source's tool.
func TestPublishManySources(t *testing.T) {
	for round := range 20 {
		var srcs []source.Source
		for i := range 12 {
			srcs = append(srcs, fn(string(rune('a'+i))))
		}
		set, _ := source.NewSet(srcs, source.SetOptions{CachePath: filepath.Join(t.TempDir(), "catalog.json"), CacheTTL: time.Hour})
		rec := newRecorder()
		set.Subscribe(rec.add)
		source.SetBeforeSave(set, func(*catalog.Snapshot) { runtime.Gosched() })
		if err := set.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		final := set.Snapshot()
		set.Close() // waits for the discovery goroutines, hence for their publishes
		if final.Len() != 12 || rec.last() != final {
			t.Fatalf("round %d: last delivered snapshot has %d tools, current %d", round, rec.last().Len(), final.Len())
		}
	}
}

// TestPartialCacheDoesNotHideSlowSource: a cache written while a source
// timed out must not serve that source as having no tools.
func TestPartialCacheDoesNotHideSlowSource(t *testing.T) {
	opts := source.SetOptions{CachePath: filepath.Join(t.TempDir(), "catalog.json"), CacheTTL: time.Hour,
		Fingerprint: "v1", DiscoveryTimeout: 50 * time.Millisecond}
	set, _ := source.NewSet([]source.Source{fn("a"), &stubborn{name: "b", hang: true}}, opts)
	set.Start(context.Background())
	if n := set.Snapshot().Len(); n != 1 {
		t.Fatalf("first run: %d tools, want a's only", n)
	}
	set.Close()

	// b answers now: Start must wait for it instead of serving the
	// partial entry, while a is still served from the cache.
	set2, _ := source.NewSet([]source.Source{&stubborn{name: "a", hang: true}, fn("b")}, opts)
	defer set2.Close()
	if err := set2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := set2.Snapshot()
	if _, ok := snap.Get("b__ping"); !ok {
		t.Fatalf("b's tool missing after Start: %v", snap.Tools())
	}
	if _, ok := snap.Get("a__ping"); !ok {
		t.Fatalf("a's cached tool missing: %v", snap.Tools())
	}
}
