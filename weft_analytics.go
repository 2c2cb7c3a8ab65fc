package weft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weft-dev/weft/analytics"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/source"
)

// analyticsState holds the analytics backends of an orchestrator.
type analyticsState struct {
	health *analytics.Health
	sqlite *analytics.SQLite // nil without the sqlite backend
	otlp   *analytics.OTLP   // nil without the otlp backend
	runs   analytics.Observers
}

// healthReplay is how far back the health scores are seeded from the
// analytics database at start (six half-lives: older calls weigh < 2%).
const healthReplay = 6 * analytics.HealthHalfLife

// analyticsOpenTimeout bounds opening the analytics database.
const analyticsOpenTimeout = 30 * time.Second

// ErrRatingsUnavailable is returned by RateTool when the sqlite analytics
// backend (where ratings are kept) is not configured.
var ErrRatingsUnavailable = errors.New("ratings are kept in the analytics database: add sqlite to analytics.backends (ANALYTICS_BACKEND)")

// openAnalytics builds the configured backends. The Prometheus metrics
// always exist (served at /metrics); with the prometheus backend they
// include the tool, run and sandbox series.
func openAnalytics(cfg *config.Config, metrics *analytics.Prometheus, log *slog.Logger) (*analyticsState, analytics.Tee, error) {
	a := &analyticsState{health: analytics.NewHealth()}
	recs := analytics.Tee{a.health}
	if cfg.Analytics.Has(config.BackendPrometheus) {
		recs = append(recs, metrics)
		a.runs = append(a.runs, metrics)
	}
	ctx, cancel := context.WithTimeout(context.Background(), analyticsOpenTimeout)
	defer cancel()
	if cfg.Analytics.Has(config.BackendSQLite) {
		path := cfg.Analytics.DatabasePath(cfg.Cache.Dir)
		db, err := analytics.OpenSQLite(ctx, path, analytics.SQLiteOptions{
			Retention: time.Duration(cfg.Analytics.RetentionDays) * 24 * time.Hour,
			Logger:    log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("weft: analytics.db_path: %w", err)
		}
		a.sqlite = db
		if err := a.seedHealth(ctx); err != nil {
			log.Warn("analytics: health scores start empty", "err", err)
		}
		recs = append(recs, db)
	}
	if cfg.Analytics.Has(config.BackendOTLP) {
		o := cfg.Analytics.OTLP
		x, err := analytics.NewOTLP(ctx, analytics.OTLPOptions{URL: o.MetricsURL(), Headers: o.ExportHeaders(),
			InstanceID: o.InstanceID, Interval: o.PushInterval.D()})
		if err != nil {
			a.close()
			return nil, nil, fmt.Errorf("weft: analytics.otlp: %w", err)
		}
		a.otlp = x
		recs = append(recs, x)
		a.runs = append(a.runs, x)
	}
	return a, recs, nil
}

// seedHealth replays the recent calls and the ratings of the database.
func (a *analyticsState) seedHealth(ctx context.Context) error {
	if err := a.sqlite.Replay(ctx, time.Now().Add(-healthReplay), a.health.Record); err != nil {
		return err
	}
	rs, err := a.sqlite.RatingSummaries(ctx, "")
	if err != nil {
		return err
	}
	for tool, r := range rs {
		a.health.SetRating(tool, r.Count, r.Mean)
	}
	return nil
}

// close flushes and closes the backends.
func (a *analyticsState) close() error {
	var err error
	if a.otlp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = a.otlp.Close(ctx)
		cancel()
	}
	if a.sqlite != nil {
		if cerr := a.sqlite.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("weft: close analytics database: %w", cerr)
		}
	}
	return err
}

// runCodeObserved runs a program and reports it to the run observers.
func (o *Orchestrator) runCodeObserved(res *sandbox.RunResult, err error) (*sandbox.RunResult, error) {
	if err == nil && res != nil && len(o.analytics.runs) > 0 {
		outcome := "ok"
		if res.Error != nil {
			outcome = res.Error.Kind
		}
		o.analytics.runs.SandboxRun(outcome, res.Duration)
	}
	return res, err
}

// observePlan makes opts report the run's steps and end to the run
// observers, besides the caller's OnEvent.
func (o *Orchestrator) observePlan(opts *plan.RunOptions) {
	if len(o.analytics.runs) == 0 {
		return
	}
	next := opts.OnEvent
	var started time.Time
	steps := map[string]time.Time{}
	var mu sync.Mutex
	opts.OnEvent = func(ev plan.Event) {
		mu.Lock()
		switch ev.Type {
		case plan.EventRunStarted:
			started = ev.Time
		case plan.EventStepStarted:
			if _, ok := steps[ev.Step]; !ok {
				steps[ev.Step] = ev.Time
			}
		case plan.EventStepFinished:
			if t, ok := steps[ev.Step]; ok {
				delete(steps, ev.Step)
				o.analytics.runs.PlanStep(ev.Status, ev.Time.Sub(t))
			}
		case plan.EventRunFinished:
			d := time.Duration(0)
			if !started.IsZero() {
				d = ev.Time.Sub(started)
			}
			o.analytics.runs.PlanRun(ev.Status, d)
		}
		mu.Unlock()
		if next != nil {
			next(ev)
		}
	}
}

// upstreamDown reports whether server's upstream is not usable (a server
// weft does not supervise, e.g. Go functions, never is).
func upstreamDown(hs map[string]source.Health, server string) bool {
	h, ok := hs[server]
	return ok && h.State != source.StateReady && h.State != source.StateStarting
}

// ToolHealth returns the health score of a tool (docs/operations.md,
// "Health scores"). It does not check the caller's policy: callers look the
// tool up with Tool first.
func (o *Orchestrator) ToolHealth(name, server string) analytics.ToolHealth {
	return o.analytics.health.Tool(name, upstreamDown(o.set.Health(), server))
}

// ServerHealth returns the health score of an upstream over all its tools' calls.
func (o *Orchestrator) ServerHealth(server string) analytics.ToolHealth {
	return o.analytics.health.Server(server, upstreamDown(o.set.Health(), server))
}

// healthFactor is the search's health hook: the rank factor of each tool.
func (o *Orchestrator) healthFactor() func(name, server string) float64 {
	hs := o.set.Health()
	return func(name, server string) float64 {
		return o.analytics.health.Tool(name, upstreamDown(hs, server)).RankFactor()
	}
}

// RateTool stores the rating (1..5, with an optional comment) the client on
// ctx gives a tool, replacing its earlier one, and returns the tool's
// ratings after it. A tool outside the caller's policy is ErrNotFound, as
// is one no upstream has. Ratings need the sqlite analytics backend
// (ErrRatingsUnavailable otherwise).
func (o *Orchestrator) RateTool(ctx context.Context, name string, rating int, comment string) (analytics.RatingSummary, error) {
	if _, err := o.Tool(ctx, name); err != nil {
		return analytics.RatingSummary{}, err
	}
	if o.analytics.sqlite == nil {
		return analytics.RatingSummary{}, ErrRatingsUnavailable
	}
	client := engine.ClientFrom(ctx)
	if client == "" {
		client = "local"
	}
	sum, err := o.analytics.sqlite.Rate(ctx, analytics.Rating{Tool: name, Client: client, Rating: rating, Comment: comment})
	if err != nil {
		return sum, err
	}
	o.analytics.health.SetRating(name, sum.Count, sum.Mean)
	return sum, nil
}

// ToolStatsRow is one tool's line of `weft stats`.
type ToolStatsRow struct {
	analytics.ToolStats
	// Health is the tool's health score now.
	Health float64 `json:"health"`
}

// ToolStats returns per-tool figures from the analytics database over the
// calls since since (zero: all kept), with each tool's health score.
func (o *Orchestrator) ToolStats(ctx context.Context, since time.Time) ([]ToolStatsRow, error) {
	if o.analytics.sqlite == nil {
		return nil, errors.New("weft stats reads the analytics database: add sqlite to analytics.backends (ANALYTICS_BACKEND)")
	}
	if err := o.analytics.sqlite.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := o.analytics.sqlite.Stats(ctx, since)
	if err != nil {
		return nil, err
	}
	hs := o.set.Health()
	out := make([]ToolStatsRow, len(rows))
	for i, r := range rows {
		out[i] = ToolStatsRow{ToolStats: r, Health: o.analytics.health.Tool(r.Tool, upstreamDown(hs, r.Server)).Score}
	}
	return out, nil
}

// AnalyticsDatabase is the path of the analytics database ("" without the
// sqlite backend).
func (o *Orchestrator) AnalyticsDatabase() string {
	if o.analytics.sqlite == nil {
		return ""
	}
	return o.analytics.sqlite.Path()
}

// FlushAnalytics writes queued call records to the database and pushes the
// OTLP metrics now (tests and `weft stats` use it).
func (o *Orchestrator) FlushAnalytics(ctx context.Context) error {
	if o.analytics.sqlite != nil {
		if err := o.analytics.sqlite.Flush(ctx); err != nil {
			return err
		}
	}
	if o.analytics.otlp != nil {
		return o.analytics.otlp.Flush(ctx)
	}
	return nil
}
