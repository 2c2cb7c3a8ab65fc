package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
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
