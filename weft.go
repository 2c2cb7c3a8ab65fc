// Package weft is the Go API of weft, a tool orchestrator for LLM agents.
//
// An Orchestrator puts every tool of many MCP servers (and Go functions)
// into one catalog, and runs calls through one engine with validation,
// limits and timeouts. The CLI, the REST API and the MCP endpoint are thin
// surfaces over it.
//
//	cfg, _ := config.Load(config.LoadOptions{Path: "weft.yaml"})
//	o, _ := weft.New(weft.Options{Config: cfg})
//	defer o.Close()
//	o.Start(ctx)
//	res, err := o.Call(ctx, "everything__echo", json.RawMessage(`{"message":"hi"}`), weft.CallerAPI)
package weft

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weft-dev/weft/analytics"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/limit"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/mcp"
)

// Callers name the surface a call came from (engine events carry it).
const (
	CallerAPI  = "api"
	CallerCLI  = "cli"
	CallerREST = "rest"
	CallerMCP  = "mcp"
)

// Options configure an Orchestrator.
type Options struct {
	// Config is the effective configuration (config.Default() if nil).
	Config *config.Config
	// Logger receives structured logs (discarded if nil).
	Logger *slog.Logger
	// Sources are extra tool sources, e.g. Go functions from source/function.
	Sources []source.Source
	// Servers, when non-empty, restricts the configured upstreams to these
	// names (the CLI uses it to start only what a command needs).
	Servers []string
	// Offline configures no upstream at all: for commands that only read
	// local state (run records) or tests of Go-function sources.
	Offline bool
	// Recorder receives an event per tool call, besides the configured
	// analytics backends (analytics.backends).
	Recorder engine.Recorder
	// Tracer, when set, receives the spans instead of the one
	// telemetry.tracing configures (tests use an in-memory exporter); the
	// caller shuts it down.
	Tracer *tracing.Tracer
}

// Orchestrator wires sources, catalog and engine. It is safe for concurrent use.
type Orchestrator struct {
	cfg        *config.Config
	log        *slog.Logger
	set        *source.Set
	engine     *engine.Engine
	metrics    *analytics.Prometheus
	analytics  *analyticsState
	rate       limit.RateLimiter
	closeRate  func() error
	searchOpts search.Options
	search     searchIndex
	cache      *cacheTier // memory, plus Redis with cache.redis_url

	sandboxOnce sync.Once
	sandbox     *sandbox.Sandbox
	sandboxErr  error

	plans plans

	ask askState // the planner model of Ask, built on first use

	tracer      *tracing.Tracer // nil: tracing off
	tracerGiven bool            // Options.Tracer: the caller shuts it down

	// started is set by Start once the first discovery round is over (or
	// the catalog came from a fresh cache): /readyz answers 200 from then.
	started atomic.Bool
}

// New builds an orchestrator from configuration. It starts nothing: call Start.
func New(opts Options) (*Orchestrator, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tracer, err := newTracer(cfg, opts.Tracer)
	if err != nil {
		return nil, err
	}
	built := false
	defer func() { stopTracer(tracer, opts.Tracer, built) }()
	var sources []source.Source
	limits := map[string]engine.ServerLimits{}
	for _, sc := range cfg.EnabledServers() {
		if opts.Offline || (len(opts.Servers) > 0 && !slices.Contains(opts.Servers, sc.Name)) {
			continue
		}
		if sc.MCPName != "" {
			log.Info("mcp.json server imported under a valid name", "mcp_name", sc.MCPName, "server", sc.Name, "origin", sc.Origin)
		}
		mc := mcpConfig(sc, cfg)
		mc.Tracer = tracer
		up, err := mcp.New(mc, log)
		if err != nil {
			return nil, fmt.Errorf("weft: server %s: %w", sc.Name, err)
		}
		sources = append(sources, up)
		limits[sc.Name] = engine.ServerLimits{Timeout: sc.Timeout.D(), MaxConcurrency: sc.MaxConcurrency}
	}
	sources = append(sources, opts.Sources...)
	tier, err := newCacheTier(cfg, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !built { // a later step failed: no Redis client or probe outlives New
			tier.close()
		}
	}()
	searchOpts, vectors, err := searchOptions(cfg, tier)
	if err != nil {
		return nil, fmt.Errorf("weft: %w", err)
	}
	set, err := source.NewSet(sources, source.SetOptions{
		DiscoveryTimeout: cfg.Limits.DiscoveryTimeout.D(),
		CachePath:        filepath.Join(cfg.Cache.Dir, "catalog.json"),
		CacheTTL:         cfg.Catalog.CacheTTL.D(),
		Fingerprint:      fingerprint(opts.Sources, cfg),
		Shared:           tier.catalogStore(),
		SharedKey:        catalogKey(fingerprint(opts.Sources, cfg)),
		ReadOnlyCache:    opts.Offline || len(opts.Servers) > 0,
		Logger:           log,
	})
	if err != nil {
		if vectors != nil {
			vectors.Close()
		}
		return nil, fmt.Errorf("weft: %w", err)
	}
	metrics := analytics.NewPrometheus(analytics.PrometheusOptions{Calls: cfg.Analytics.Has(config.BackendPrometheus)})
	if err := metrics.Register(tier.metrics); err != nil {
		return nil, fmt.Errorf("weft: cache metrics: %w", err)
	}
	rate, closeRate, err := rateLimiter(cfg, tier)
	if err != nil {
		// Close what New opened so far: the embedding cache's file, the set.
		if vectors != nil {
			vectors.Close()
		}
		set.Close()
		return nil, err
	}
	an, recs, err := openAnalytics(cfg, metrics, log)
	if err != nil {
		if vectors != nil {
			vectors.Close()
		}
		set.Close()
		closeRate()
		return nil, err
	}
	if opts.Recorder != nil {
		recs = append(recs, opts.Recorder)
	}
	o := &Orchestrator{cfg: cfg, log: log, set: set, metrics: metrics, analytics: an, searchOpts: searchOpts, rate: rate, closeRate: closeRate}
	o.tracer, o.tracerGiven = tracer, opts.Tracer != nil
	o.search.vectors = vectors
	o.cache = tier
	o.engine = engine.New(engine.Options{
		Catalog: set,
		Upstreams: engine.UpstreamsFunc(func(server string) (engine.Upstream, bool) {
			src, ok := set.Source(server)
			if !ok {
				return nil, false
			}
			return src, true
		}),
		Timeout:       cfg.Limits.ToolTimeout.D(),
		MaxConcurrent: cfg.Limits.MaxConcurrentTools,
		// One client cannot take every slot (issue 9 #11).
		MaxConcurrentPerClient: cfg.Limits.ToolsPerClient(),
		QueueTimeout:           cfg.Limits.QueueTimeout.D(),
		Servers:                limits,
		Recorder:               recs,
		Results:                tier.toolResultCache(cfg, log),
		Tracer:                 engineTracer(tracer),
	})
	built = true
	return o, nil
}

func mcpConfig(sc *config.Server, cfg *config.Config) mcp.Config {
	return mcp.Config{
		Name: sc.Name, Transport: string(sc.Transport),
		Command: sc.Command, Args: sc.Args, Env: sc.Env, InheritEnv: sc.InheritEnv, Cwd: sc.Cwd,
		URL: sc.URL, Headers: sc.Headers,
		Description: sc.Description, Tags: sc.Tags,
		ConnectTimeout: cfg.Limits.DiscoveryTimeout.D(),
		StartTimeout:   cfg.Limits.StartTimeout.D(),
	}
}

// fingerprint identifies the configured sources (all enabled servers, even
// when only some are started, plus extra sources) for the catalog cache. It
// hashes names and non-secret settings only.
func fingerprint(sources []source.Source, cfg *config.Config) string {
	h := sha256.New()
	for _, sc := range cfg.EnabledServers() {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%q\x00%s\x00%s\x00%q\n", sc.Name, sc.Transport, sc.Command, sc.Args, sc.URL, sc.Description, sc.Tags)
	}
	for _, s := range sources {
		fmt.Fprintf(h, "source\x00%s\n", s.Name())
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Start loads the cached catalog (if fresh) and starts and discovers every
// upstream in parallel. It returns once the catalog is usable: at once from
// a fresh cache, else when each upstream was discovered or failed. Upstream
// failures never make Start fail; see Readiness. With search.warm, the
// search index (and the tool vectors) is then built in the background.
func (o *Orchestrator) Start(ctx context.Context) error {
	if err := o.set.Start(ctx); err != nil {
		return err
	}
	// Ready now: the first discovery round is over. The run store is not
	// part of readiness (a plan call waits for it, and opens it if this
	// failed), so it opens after, keeping its SQLite or PostgreSQL set-up
	// off the time to ready.
	o.started.Store(true)
	// The run store opens here, with no request's context; if it fails,
	// plan calls try again (and say why).
	if _, _, err := o.openPlans(); err != nil {
		o.log.Warn("plans unavailable until the run store opens", "err", err)
	}
	if o.cfg.Search.Warm {
		o.warmSearch()
	}
	return nil
}

// Close stops every upstream (ending their processes) and background work.
// Runs still in progress are canceled first and their records saved as
// interrupted (waiting at most server.shutdown_timeout); then the run
// store is closed.
func (o *Orchestrator) Close() error {
	err := o.closePlans(o.cfg.Server.ShutdownTimeout.D())
	if cerr := o.closeSearch(); err == nil {
		err = cerr
	}
	if cerr := o.set.Close(); err == nil {
		err = cerr
	}
	if cerr := o.closeRate(); err == nil {
		err = cerr
	}
	if cerr := o.cache.close(); err == nil {
		err = cerr
	}
	if cerr := o.closeTracer(); err == nil {
		err = cerr
	}
	// Last: the calls of the runs and upstreams closed above are recorded.
	if cerr := o.analytics.close(); err == nil {
		err = cerr
	}
	return err
}

// Config returns the effective configuration.
func (o *Orchestrator) Config() *config.Config { return o.cfg }

// Snapshot returns the current catalog snapshot.
func (o *Orchestrator) Snapshot() *catalog.Snapshot { return o.set.Snapshot() }

// Subscribe calls fn with each new catalog snapshot.
func (o *Orchestrator) Subscribe(fn func(*catalog.Snapshot)) { o.set.Subscribe(fn) }

// Metrics returns the Prometheus metrics (tool calls, HTTP requests, Go
// runtime and process), served by weft serve at /metrics.
func (o *Orchestrator) Metrics() *analytics.Prometheus { return o.metrics }

// ErrNotFound is wrapped by lookups of unknown tools.
var ErrNotFound = errors.New("not found")

// Tools lists the tools the caller on ctx may see (in catalog order); a
// non-empty server keeps only that server's.
func (o *Orchestrator) Tools(ctx context.Context, server string) []*catalog.Tool {
	var out []*catalog.Tool
	for _, t := range o.View(ctx).Tools() {
		if server == "" || t.Server == server {
			out = append(out, t)
		}
	}
	return out
}

// Tool returns one tool by catalog name; a tool outside the caller's policy
// is not found, exactly like a tool no upstream has.
func (o *Orchestrator) Tool(ctx context.Context, name string) (*catalog.Tool, error) {
	t, ok := o.View(ctx).Get(name)
	if !ok {
		return nil, fmt.Errorf("tool %q: %w", name, ErrNotFound)
	}
	return t, nil
}

// Call runs a tool through the engine. caller names the surface (CallerREST, ...).
func (o *Orchestrator) Call(ctx context.Context, name string, args json.RawMessage, caller string) (*source.Result, error) {
	return o.engine.CallWith(ctx, name, args, engine.CallOptions{Caller: caller})
}

// Readiness is the state /readyz reports.
type Readiness struct {
	Ready          bool                     `json:"ready"`
	Reason         string                   `json:"reason,omitempty"`
	Tools          int                      `json:"tools"`
	CatalogVersion string                   `json:"catalog_version"`
	FromCache      bool                     `json:"from_cache"`
	Upstreams      map[string]source.Health `json:"upstreams"`
	// Health is each upstream's health score (docs/operations.md).
	Health map[string]analytics.ToolHealth `json:"health"`
}

// Readiness reports whether the orchestrator can serve: the catalog has
// tools and at least one upstream is usable (ready or still starting).
func (o *Orchestrator) Readiness() Readiness {
	snap := o.Snapshot()
	r := Readiness{Tools: snap.Len(), CatalogVersion: snap.Version(), FromCache: o.set.FromCache(), Upstreams: o.set.Health()}
	r.Health = make(map[string]analytics.ToolHealth, len(r.Upstreams))
	for name := range r.Upstreams {
		r.Health[name] = o.analytics.health.Server(name, upstreamDown(r.Upstreams, name))
	}
	usable := 0
	var down []string
	for name, h := range r.Upstreams {
		switch h.State {
		case source.StateReady, source.StateStarting:
			usable++
		default:
			down = append(down, name)
		}
	}
	slices.Sort(down)
	switch {
	case !o.started.Load():
		r.Reason = "starting: discovering upstreams"
	case len(r.Upstreams) == 0:
		r.Reason = "no upstream configured"
	case r.Tools == 0:
		r.Reason = "catalog is empty: no upstream has reported tools yet"
	case usable == 0:
		r.Reason = "no upstream is usable: " + strings.Join(down, ", ")
	default:
		r.Ready = true
	}
	return r
}

// Uptime helpers for surfaces.
var startedAt = time.Now()

// Uptime is how long the process has run.
func Uptime() time.Duration { return time.Since(startedAt) }
