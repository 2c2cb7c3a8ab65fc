package weft

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weft-dev/weft/cache"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed"
	"github.com/weft-dev/weft/source"
)

// cacheTier is the orchestrator's cache tier: the tiered cache (memory,
// plus Redis with cache.redis_url), its metrics, and the Redis clients —
// one per distinct URL, so limits.redis_url and cache.redis_url naming
// the same server share one client (one connection pool).
type cacheTier struct {
	clients map[string]*redis.Client // by URL and password
	tiered  *cache.Tiered
	metrics *cache.Metrics
}

// newCacheTier builds the cache tier of cfg. It connects to nothing yet:
// Redis clients dial on first use.
func newCacheTier(cfg *config.Config, log *slog.Logger) (*cacheTier, error) {
	t := &cacheTier{clients: map[string]*redis.Client{}, metrics: cache.NewMetrics()}
	var l2 *cache.Redis
	if cfg.Cache.RedisURL != "" {
		c, err := t.client(cfg.Cache.RedisURL, cfg.Cache.RedisPassword, "cache.redis_url")
		if err != nil {
			return nil, err
		}
		l2 = cache.NewRedis(c, cache.RedisOptions{Metrics: t.metrics, Timeout: redisOpTimeout})
	}
	t.tiered = cache.NewTiered(cache.TieredOptions{
		Memory:     cache.NewMemory(cache.MemoryOptions{MaxBytes: cfg.Cache.MemoryMaxBytes}),
		Redis:      l2,
		NoFallback: !cfg.Cache.Fallback,
		Metrics:    t.metrics,
		Logger:     log,
	})
	return t, nil
}

// client returns the Redis client of url, creating it on first use. A
// password set apart (cache.redis_password) applies when the URL has none;
// rediss:// URLs use TLS with certificate verification.
func (t *cacheTier) client(url, password, field string) (*redis.Client, error) {
	key := url + "\x00" + password
	if c, ok := t.clients[key]; ok {
		return c, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		// The URL was validated by config; this only guards library changes.
		return nil, fmt.Errorf("weft: %s: %w", field, err)
	}
	if opts.Password == "" {
		opts.Password = password
	}
	// One retry at most: every Redis operation of weft is bounded (a rate
	// decision by limit.DecisionTimeout, a cache operation by
	// cache.DefaultRedisTimeout), and a Redis that is down must be noticed
	// quickly (limits.redis_fail_mode, the cache's fallback) rather than
	// after the client's default three retries.
	opts.MaxRetries = 1
	c := redis.NewClient(opts)
	t.clients[key] = c
	return c, nil
}

// limitsClient is the client of limits.redis_url: the cache's own client
// when both name the same Redis.
func (t *cacheTier) limitsClient(cfg *config.Config) (*redis.Client, error) {
	password := ""
	if cfg.Limits.RedisURL == cfg.Cache.RedisURL {
		password = cfg.Cache.RedisPassword
	}
	return t.client(cfg.Limits.RedisURL, password, "limits.redis_url")
}

// shared returns the tiered cache when it has a Redis tier, else nil:
// what only makes sense across replicas is not kept in memory twice.
func (t *cacheTier) shared() *cache.Tiered {
	if t.tiered.Shared() {
		return t.tiered
	}
	return nil
}

// close stops the tier's background work and closes the Redis clients.
func (t *cacheTier) close() error {
	err := t.tiered.Close()
	for _, c := range t.clients {
		if cerr := c.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("weft: close Redis client: %w", cerr)
		}
	}
	return err
}

// catalogStore is where the catalog snapshot is shared (nil without Redis).
func (t *cacheTier) catalogStore() source.SharedStore {
	if s := t.shared(); s != nil {
		return s
	}
	return nil
}

// catalogKey is the shared snapshot's key for the sources' fingerprint.
func catalogKey(fingerprint string) string { return cache.Key(cache.KindCatalog, fingerprint) }

// redisOpTimeout bounds each Redis operation of the cache tier (tests
// on a loaded machine raise it).
var redisOpTimeout = cache.DefaultRedisTimeout

// searchCacheFormat changes when what a cached search answer means
// changes (ranking, response shape); old entries are then never read.
const searchCacheFormat = "1"

// cachedSearch answers q from the cache tier when an answer for the same
// catalog version, normalised query and visible tools is there, else
// searches and stores the answer (search.cache_ttl). Degraded answers
// (the embedder was down) are not stored. q.Visible is already the
// caller's policy.
func (o *Orchestrator) cachedSearch(ctx context.Context, ix *search.Index, q search.Query) (*search.Response, error) {
	ttl := o.cfg.Search.CacheTTL.D()
	if ttl <= 0 {
		return ix.Search(ctx, q)
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// An answer is valid for a catalog version whoever computed it: the
	// version is a hash of the catalog's content. Concurrent identical
	// searches (same key) are answered by one search.
	snap := o.Snapshot()
	key := o.searchKey(snap, &q)
	b, err := o.cache.tiered.GetOrLoad(ctx, key, ttl, func(ctx context.Context) ([]byte, error) {
		before := ix.Snapshot()
		resp, err := ix.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		// Store only a full answer of the index generation the key names.
		after := ix.Snapshot()
		if resp.Degraded != "" || after == nil || after.Version() != snap.Version() || (before != nil && before.Version() != snap.Version()) {
			return nil, &unstoredAnswer{resp}
		}
		return json.Marshal(resp)
	})
	var u *unstoredAnswer
	switch {
	case errors.As(err, &u):
		resp := *u.resp // shared by the callers the search answered: each gets its own copy
		resp.Results = slices.Clone(resp.Results)
		return &resp, nil
	case errors.Is(err, cache.ErrUnavailable):
		return nil, fmt.Errorf("weft: search cache: %w", err)
	case err != nil:
		return nil, err
	}
	var resp search.Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return ix.Search(ctx, q) // not an answer this version of weft reads
	}
	return &resp, nil
}

// unstoredAnswer carries a search answer that is not cached (degraded, or
// from another index generation than its key names) out of the cache's loader.
type unstoredAnswer struct{ resp *search.Response }

func (*unstoredAnswer) Error() string { return "search answer not cached" }

// searchKey identifies everything that changes a search's answer: the
// catalog version, the retrieval settings, the query (whitespace
// normalised; filter lists as sets; k with its default applied), and the
// exact set of tools the caller may see — so an answer is never served
// to a caller whose policy differs.
func (o *Orchestrator) searchKey(snap *catalog.Snapshot, q *search.Query) string {
	e := o.cfg.Search.Embedder
	k := q.K
	if k == 0 {
		k = search.DefaultK
	}
	set := func(s []string) string {
		c := slices.Clone(s)
		slices.Sort(c)
		return strings.Join(slices.Compact(c), "\x00")
	}
	return cache.Key(cache.KindSearch, searchCacheFormat, snap.Version(),
		e.URL, e.Model, e.AzureDeployment, strconv.FormatFloat(o.cfg.Search.DenseWeight, 'g', -1, 64),
		strings.Join(strings.Fields(q.Text), " "), strconv.Itoa(k),
		set(q.Servers), set(q.Tags), set(q.Allow), set(q.Deny),
		strconv.FormatBool(q.ReadOnly), strconv.FormatBool(q.WithSchema), strconv.FormatBool(q.WithSignature),
		visibleDigest(snap, q.Visible))
}

// visibleDigest names the tools of snap that visible allows ("all"
// without a policy).
func visibleDigest(snap *catalog.Snapshot, visible func(*catalog.Tool) bool) string {
	if visible == nil {
		return "all"
	}
	h := sha256.New()
	tools := snap.Tools()
	for i := range tools {
		if visible(&tools[i]) {
			h.Write([]byte(tools[i].Name))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// planCache is plan.Cache on the cache tier: with Redis, an idempotency
// key's result is reused by every replica.
type planCache struct{ t *cache.Tiered }

func (c planCache) Get(ctx context.Context, key string) (json.RawMessage, bool, error) {
	b, ok, err := c.t.Get(ctx, cache.Key(cache.KindPlan, key))
	return b, ok, err
}

func (c planCache) Set(ctx context.Context, key string, value json.RawMessage, ttl time.Duration) error {
	return c.t.Set(ctx, cache.Key(cache.KindPlan, key), value, ttl)
}

// planResults is where idempotency results live: the shared cache tier
// with Redis, else the run store (which survives restarts of this
// process).
func (o *Orchestrator) planResults(st plan.RunStore) plan.Cache {
	if s := o.cache.shared(); s != nil {
		return planCache{s}
	}
	return st.Results()
}

// toolResults is the engine's result cache over the cache tier, for the
// tools servers.<name>.cache marks cacheable.
type toolResults struct {
	t       *cache.Tiered
	servers map[string]*config.ServerCache
	log     *slog.Logger
}

// toolResultCache returns the engine's result cache, or nil when no
// server marks a tool cacheable (the engine then pays one nil check).
func (t *cacheTier) toolResultCache(cfg *config.Config, log *slog.Logger) engine.ResultCache {
	servers := map[string]*config.ServerCache{}
	for _, s := range cfg.EnabledServers() {
		if s.Cache != nil && len(s.Cache.Tools) > 0 {
			servers[s.Name] = s.Cache
		}
	}
	if len(servers) == 0 {
		return nil
	}
	return &toolResults{t: t.tiered, servers: servers, log: log}
}

// Cacheable implements engine.ResultCache.
func (r *toolResults) Cacheable(t *catalog.Tool) bool {
	sc := r.servers[t.Server]
	return sc != nil && sc.Caches(t.Original)
}

// key is the tool's identity and its arguments in canonical form (object
// keys sorted, insignificant space dropped, numbers as written).
func (r *toolResults) key(t *catalog.Tool, args json.RawMessage) string {
	return cache.Key(cache.KindTool, t.Server, t.Original, canonicalJSON(args))
}

func canonicalJSON(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}"
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return string(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// Get implements engine.ResultCache. A cache that cannot answer (Redis
// down without the fallback) is a miss: the tool itself is still there.
func (r *toolResults) Get(ctx context.Context, t *catalog.Tool, args json.RawMessage) (*source.Result, bool) {
	b, ok, err := r.t.Get(ctx, r.key(t, args))
	if err != nil || !ok {
		return nil, false
	}
	var res source.Result
	if json.Unmarshal(b, &res) != nil {
		return nil, false
	}
	return &res, true
}

// Put implements engine.ResultCache.
func (r *toolResults) Put(ctx context.Context, t *catalog.Tool, args json.RawMessage, res *source.Result) {
	b, err := json.Marshal(res)
	if err != nil {
		return
	}
	if err := r.t.Set(ctx, r.key(t, args), b, r.servers[t.Server].TTL.D()); err != nil {
		r.log.Warn("tool result not cached", "tool", t.Name, "err", err)
	}
}

// embeddingStore is where vectors are shared (nil without Redis).
func (t *cacheTier) embeddingStore() embed.SharedStore {
	if s := t.shared(); s != nil {
		return s
	}
	return nil
}
