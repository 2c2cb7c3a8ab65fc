package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weft-dev/weft/catalog"
)

// SetOptions configure a Set.
type SetOptions struct {
	// DiscoveryTimeout bounds each source's start + tools/list. Default 10s.
	DiscoveryTimeout time.Duration
	// RetryInterval is the first delay before rediscovering a failed source;
	// it doubles up to MaxRetryInterval. Defaults 1s and 1m.
	RetryInterval, MaxRetryInterval time.Duration
	// CachePath is the file the catalog snapshot is persisted to ("" disables).
	CachePath string
	// CacheTTL is how old a persisted snapshot may be to be used at start-up.
	CacheTTL time.Duration
	// ReadOnlyCache loads the persisted snapshot but never writes it (for
	// processes that run only some of the configured sources).
	ReadOnlyCache bool
	// Fingerprint identifies the configured sources; a persisted snapshot
	// saved under another fingerprint is ignored.
	Fingerprint string
	// Shared, when set, also persists the snapshot under SharedKey in a
	// store every replica reads (the Redis cache tier): a replica with an
	// empty CachePath serves the catalog another replica discovered, at
	// once, and still starts and rediscovers its sources. The fresher of
	// the file and the shared copy is used.
	Shared SharedStore
	// SharedKey is the snapshot's key in Shared (derived from Fingerprint).
	SharedKey string
	Logger    *slog.Logger
}

// SharedStore is the cache a Set persists its snapshot to besides its
// file (cache.Tiered satisfies it).
type SharedStore interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// sharedTimeout bounds reading or writing the shared snapshot.
const sharedTimeout = 2 * time.Second

// Set runs many sources: it starts and discovers them in parallel, each with
// its own timeout, so a slow, dead or broken upstream never blocks the
// others; retries failed ones in the background; rebuilds the catalog
// snapshot when any tool list changes; and persists the snapshot so the next
// start-up can serve from it at once.
//
// Set implements engine.Catalog.
type Set struct {
	opts    SetOptions
	log     *slog.Logger
	sources map[string]Source

	mu        sync.Mutex
	tools     map[string][]catalog.Tool // by server; last known
	complete  map[string]bool           // servers whose tools came from a finished discovery (live or cached)
	discErr   map[string]error          // by server; last discovery error
	fromCache bool
	snap      atomic.Pointer[catalog.Snapshot]
	subs      []func(*catalog.Snapshot)

	// pubMu serialises publish from building a snapshot to notifying the
	// subscribers, so that snapshots are stored, persisted and delivered in
	// one order and the last one delivered is always the current one.
	pubMu sync.Mutex
	// beforeSave, when set (tests), runs before a snapshot is persisted.
	beforeSave func(*catalog.Snapshot)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   map[string]chan struct{}
	closed atomic.Bool
}

// NewSet builds a set over sources (names must be unique).
func NewSet(sources []Source, opts SetOptions) (*Set, error) {
	if opts.DiscoveryTimeout <= 0 {
		opts.DiscoveryTimeout = 10 * time.Second
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.MaxRetryInterval <= 0 {
		opts.MaxRetryInterval = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Set{opts: opts, log: opts.Logger, sources: map[string]Source{}, tools: map[string][]catalog.Tool{},
		complete: map[string]bool{}, discErr: map[string]error{}, kick: map[string]chan struct{}{}}
	for _, src := range sources {
		if _, dup := s.sources[src.Name()]; dup {
			return nil, fmt.Errorf("source: duplicate source name %q", src.Name())
		}
		s.sources[src.Name()] = src
		s.kick[src.Name()] = make(chan struct{}, 1)
	}
	s.snap.Store(catalog.NewSnapshot(nil))
	return s, nil
}

// Snapshot returns the current catalog snapshot (never nil).
func (s *Set) Snapshot() *catalog.Snapshot { return s.snap.Load() }

// Source returns the named source.
func (s *Set) Source(server string) (Source, bool) {
	src, ok := s.sources[server]
	return src, ok
}

// Names returns the source names, sorted.
func (s *Set) Names() []string { return slices.Sorted(maps.Keys(s.sources)) }

// Subscribe registers fn to be called with every new snapshot (after it is
// published). fn must not block for long.
func (s *Set) Subscribe(fn func(*catalog.Snapshot)) {
	s.mu.Lock()
	s.subs = append(s.subs, fn)
	s.mu.Unlock()
}

// FromCache reports whether the current snapshot was loaded from the
// persisted cache and not every source has been rediscovered since.
func (s *Set) FromCache() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fromCache
}

// Start loads the persisted snapshot if fresh, then starts and discovers all
// sources in parallel. Start returns when every source that the persisted
// snapshot does not fully cover has been discovered or has failed or timed
// out: with a fresh cache that covers every source it returns at once and
// discovery continues in the background. A cache entry written while a
// source was unreachable does not cover that source, so a source that was
// merely slow once is rediscovered instead of hidden until the cache
// expires. Start never fails because of an upstream: failures are reported
// by Health and retried.
func (s *Set) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	covered := s.loadCache()
	for name, src := range s.sources {
		if n, ok := src.(Notifier); ok {
			n.OnToolsChanged(func() { s.Refresh(name) })
		}
	}
	var first sync.WaitGroup
	for name, src := range s.sources {
		done := func() {}
		if !covered[name] {
			first.Add(1)
			done = first.Done
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run(name, src, done)
		}()
	}
	done := make(chan struct{})
	go func() { first.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// run starts one source and keeps its tool list current: it discovers at
// start, on every Refresh and, after a failure, with exponential backoff.
func (s *Set) run(name string, src Source, firstDone func()) {
	once := sync.OnceFunc(firstDone)
	defer once()
	backoff := s.opts.RetryInterval
	started := false
	for {
		var err error
		if !started {
			// Start is called once: a source that fails to start keeps
			// reconnecting by itself; later rounds only rediscover.
			started = true
			sctx, cancel := context.WithTimeout(s.ctx, s.opts.DiscoveryTimeout)
			err = src.Start(sctx)
			cancel()
			if err != nil {
				err = fmt.Errorf("start: %w", err)
				s.setError(name, err)
			}
		}
		if err == nil {
			err = s.discover(name, src)
		}
		if s.ctx.Err() != nil {
			once()
			return
		}
		wait := backoff
		if err == nil {
			backoff = s.opts.RetryInterval
			wait = 0 // wait for a kick only
		} else {
			// Logged before Start may return (once), so that its caller
			// finds the explanation already in the log.
			if src.Health().State == StateStarting {
				s.log.Info("upstream still starting; discovery goes on in the background", "server", name, "err", err,
					"retry_in", backoff, "hint", "start-up waits limits.discovery_timeout ("+s.opts.DiscoveryTimeout.String()+
						") for an upstream; limits.start_timeout bounds starting its process (e.g. a first npx or uvx install)")
			} else {
				s.log.Warn("upstream discovery failed", "server", name, "err", err, "retry_in", backoff)
			}
			backoff = min(backoff*2, s.opts.MaxRetryInterval)
		}
		once()
		if !s.sleep(name, wait) {
			return
		}
	}
}

// sleep waits for d (0: forever) or a kick; false when the set is closing.
func (s *Set) sleep(name string, d time.Duration) bool {
	var timer <-chan time.Time
	if d > 0 {
		d += time.Duration(rand.Int64N(int64(d)/5 + 1))
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-s.ctx.Done():
		return false
	case <-s.kick[name]:
		return true
	case <-timer:
		return true
	}
}

// Refresh asks for the named source's tools to be listed again.
func (s *Set) Refresh(server string) {
	if ch, ok := s.kick[server]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Set) discover(name string, src Source) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.DiscoveryTimeout)
	defer cancel()
	tools, err := src.Tools(ctx)
	if err != nil {
		err = fmt.Errorf("list tools: %w", err)
		s.setError(name, err)
		return err
	}
	for i := range tools {
		tools[i].Server = name
	}
	s.mu.Lock()
	s.tools[name] = tools
	s.complete[name] = true
	delete(s.discErr, name)
	s.mu.Unlock()
	s.publish()
	return nil
}

func (s *Set) setError(name string, err error) {
	s.mu.Lock()
	s.discErr[name] = err
	s.mu.Unlock()
}

// publish rebuilds the snapshot from every source's last known tools and,
// if it changed, stores it, persists it and notifies subscribers. Concurrent
// publishes run one after the other (pubMu), so subscribers see snapshots
// in the order they were stored, the last one being the current snapshot,
// and the persisted file is never older than the current snapshot.
func (s *Set) publish() {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.mu.Lock()
	var all []catalog.Tool
	for _, name := range slices.Sorted(maps.Keys(s.tools)) {
		all = append(all, s.tools[name]...)
	}
	next := catalog.NewSnapshot(all)
	if s.fromCache && len(s.discErr) == 0 && s.allDiscoveredLocked() {
		s.fromCache = false
	}
	prev := s.snap.Load()
	if prev.Version() == next.Version() {
		s.mu.Unlock()
		return
	}
	s.snap.Store(next)
	subs := slices.Clone(s.subs)
	complete := slices.Sorted(maps.Keys(s.complete))
	s.mu.Unlock()
	s.log.Info("catalog updated", "tools", next.Len(), "version", next.Version())
	s.saveCache(next, complete)
	for _, fn := range subs {
		fn(next)
	}
}

func (s *Set) allDiscoveredLocked() bool {
	for name := range s.sources {
		if _, ok := s.tools[name]; !ok {
			return false
		}
	}
	return true
}

// Health reports each source's state. A source whose last discovery failed
// is reported unhealthy with that reason even if its connection is up.
func (s *Set) Health() map[string]Health {
	out := make(map[string]Health, len(s.sources))
	s.mu.Lock()
	errs := maps.Clone(s.discErr)
	s.mu.Unlock()
	for name, src := range s.sources {
		h := src.Health()
		if err := errs[name]; err != nil && h.State == StateReady {
			h.State, h.Reason = StateUnhealthy, err.Error()
		}
		out[name] = h
	}
	return out
}

// Close stops background work and closes every source in parallel.
func (s *Set) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.cancel != nil {
		s.cancel()
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for name, src := range s.sources {
		wg.Go(func() {
			if err := src.Close(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("close %s: %w", name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.wg.Wait()
	return errors.Join(errs...)
}

// cacheFile is the persisted form of a snapshot.
type cacheFile struct {
	Fingerprint string    `json:"fingerprint"`
	SavedAt     time.Time `json:"saved_at"`
	Version     string    `json:"version"`
	// Complete names the servers whose tool lists in Tools are the result
	// of a finished discovery. A server missing here (it failed or timed
	// out before the file was written) is rediscovered at start-up rather
	// than served as having no tools.
	Complete []string       `json:"complete"`
	Tools    []catalog.Tool `json:"tools"`
}

// loadCache loads the persisted snapshot if it is fresh and was saved for
// the same sources, and returns the sources it fully covers. Tools of
// sources it does not cover are not loaded.
func (s *Set) loadCache() (covered map[string]bool) {
	if s.opts.CacheTTL <= 0 {
		return nil
	}
	cf, from := s.readCacheFile(), "file"
	if shared := s.readShared(); shared != nil && (cf == nil || shared.SavedAt.After(cf.SavedAt)) {
		cf, from = shared, "shared cache"
	}
	if cf == nil {
		return nil
	}
	covered = map[string]bool{}
	for _, name := range cf.Complete {
		if _, ok := s.sources[name]; ok {
			covered[name] = true
		}
	}
	if len(covered) == 0 {
		return nil
	}
	byServer := map[string][]catalog.Tool{}
	for name := range covered {
		byServer[name] = []catalog.Tool{} // a server may have no tools
	}
	var all []catalog.Tool
	for _, t := range cf.Tools {
		if covered[t.Server] {
			byServer[t.Server] = append(byServer[t.Server], t)
			all = append(all, t)
		}
	}
	var missing []string
	for name := range s.sources {
		if !covered[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	s.mu.Lock()
	s.tools = byServer
	for name := range covered {
		s.complete[name] = true
	}
	s.fromCache = true
	next := catalog.NewSnapshot(all)
	s.snap.Store(next)
	s.mu.Unlock()
	s.log.Info("catalog loaded from cache", "from", from, "tools", next.Len(), "age", time.Since(cf.SavedAt).Round(time.Second),
		"not_cached", missing)
	return covered
}

// readCacheFile returns the persisted file's snapshot if it is fresh and
// was saved for the same sources.
func (s *Set) readCacheFile() *cacheFile {
	if s.opts.CachePath == "" {
		return nil
	}
	b, err := os.ReadFile(s.opts.CachePath)
	if err != nil {
		return nil
	}
	var cf cacheFile
	if err := json.Unmarshal(b, &cf); err != nil {
		s.log.Warn("ignoring unreadable catalog cache", "path", s.opts.CachePath, "err", err)
		return nil
	}
	if !s.usable(&cf) {
		return nil
	}
	return &cf
}

// readShared returns the shared store's snapshot if it is fresh and was
// saved for the same sources.
func (s *Set) readShared() *cacheFile {
	if s.opts.Shared == nil || s.opts.SharedKey == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	b, ok, err := s.opts.Shared.Get(ctx, s.opts.SharedKey)
	if err != nil {
		s.log.Warn("could not read the shared catalog cache", "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	var cf cacheFile
	if err := json.Unmarshal(b, &cf); err != nil {
		s.log.Warn("ignoring unreadable shared catalog cache", "err", err)
		return nil
	}
	if !s.usable(&cf) {
		return nil
	}
	return &cf
}

func (s *Set) usable(cf *cacheFile) bool {
	return cf.Fingerprint == s.opts.Fingerprint && time.Since(cf.SavedAt) <= s.opts.CacheTTL
}

// saveCache persists snap; complete names the servers it fully covers.
func (s *Set) saveCache(snap *catalog.Snapshot, complete []string) {
	if s.beforeSave != nil {
		s.beforeSave(snap)
	}
	if s.opts.ReadOnlyCache || (s.opts.CachePath == "" && s.opts.Shared == nil) {
		return
	}
	b, err := json.Marshal(cacheFile{Fingerprint: s.opts.Fingerprint, SavedAt: time.Now().UTC(), Version: snap.Version(),
		Complete: complete, Tools: snap.Tools()})
	if err != nil {
		s.log.Warn("could not persist catalog cache", "err", err)
		return
	}
	if s.opts.CachePath != "" {
		if err := writeFileAtomic(s.opts.CachePath, b); err != nil {
			s.log.Warn("could not persist catalog cache", "path", s.opts.CachePath, "err", err)
		}
	}
	if s.opts.Shared != nil && s.opts.SharedKey != "" && s.opts.CacheTTL > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := s.opts.Shared.Set(ctx, s.opts.SharedKey, b, s.opts.CacheTTL); err != nil {
			s.log.Warn("could not persist catalog cache to the shared cache", "err", err)
		}
	}
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".catalog-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
