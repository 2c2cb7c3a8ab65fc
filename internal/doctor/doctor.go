// Package doctor runs weft's troubleshooting quick checks — the
// configuration, each upstream, credentials, Redis, the cache directory,
// timeouts and the clock — and reports each as a Finding: ok, warn or
// fail, with the reason and the fix. `weft doctor` renders the report;
// docs/troubleshooting.md explains every finding.
package doctor

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/weft-dev/weft/config"
)

// Status is the verdict of one check.
type Status string

// Statuses, from good to bad.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Finding is the outcome of one check.
type Finding struct {
	// Check names what was checked: "config", "upstream fs",
	// "credentials models.planner", "redis limits.redis_url", "cache dir",
	// "timeouts", "clock".
	Check string `json:"check"`
	// Status is ok, warn or fail.
	Status Status `json:"status"`
	// Reason says what was found.
	Reason string `json:"reason"`
	// Fix says what to do about a warn or fail ("" when ok).
	Fix string `json:"fix,omitempty"`
	// Took is how long the check took (discovery time for an upstream).
	Took time.Duration `json:"-"`
}

// Report is the outcome of every check, in a stable order.
type Report struct {
	// Config is the file checked ("" for defaults only).
	Config string `json:"config,omitempty"`
	// Findings are the checks' outcomes.
	Findings []Finding `json:"findings"`
}

// Failed reports whether any finding failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Status == Fail })
}

// Options configure a run of the checks.
type Options struct {
	// Load loads and validates the configuration (config.Load with the
	// CLI's --config); its error is the config finding.
	Load func() (*config.Config, error)
	// Timeout bounds each network check (Redis, token, clock). Default 10s.
	// Upstream discovery is bounded by limits.discovery_timeout.
	Timeout time.Duration
	// Now is the wall clock (time.Now when nil), for the clock check.
	Now func() time.Time
}

// Run runs every check and returns the report. A configuration that does
// not load is the one finding: the other checks need it.
func Run(ctx context.Context, opts Options) Report {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	begin := time.Now()
	cfg, err := opts.Load()
	if err != nil {
		return Report{Findings: []Finding{{Check: "config", Status: Fail, Reason: err.Error(),
			Fix:  "correct the fields named above (file:line path: problem); `weft config check` shows the effective configuration",
			Took: time.Since(begin)}}}
	}
	r := Report{Config: cfg.Path}
	where := cfg.Path
	if where == "" {
		where = "no weft.yaml found: defaults and environment only"
	}
	r.Findings = append(r.Findings, Finding{Check: "config", Status: OK, Reason: "valid (" + where + ")", Took: time.Since(begin)})
	r.Findings = append(r.Findings, checkTimeouts(cfg)...)
	r.Findings = append(r.Findings, checkCacheDir(cfg))

	// The network checks run in parallel; each appends to its own slot.
	checks := []func(context.Context) []Finding{
		func(ctx context.Context) []Finding { return checkUpstreams(ctx, cfg) },
		func(ctx context.Context) []Finding { return checkCredentials(ctx, cfg, opts.Timeout) },
		func(ctx context.Context) []Finding { return checkServices(ctx, cfg, opts.Timeout) },
		func(ctx context.Context) []Finding { return checkClock(ctx, cfg, opts.Timeout, opts.Now) },
	}
	out := make([][]Finding, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { out[i] = c(ctx) })
	}
	wg.Wait()
	for _, fs := range out {
		r.Findings = append(r.Findings, fs...)
	}
	return r
}
