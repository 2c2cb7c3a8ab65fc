package weft

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/weft-dev/weft/plan"
)

// plans holds the plan executor and its run-record store, opened on first use.
type plans struct {
	once  sync.Once
	exec  *plan.Executor
	store *plan.Store
	err   error
}

// PlanStorePath is where run records are kept: the cache directory's runs.db.
func (o *Orchestrator) PlanStorePath() string { return filepath.Join(o.cfg.Cache.Dir, "runs.db") }

func (o *Orchestrator) planExecutor(ctx context.Context) (*plan.Executor, *plan.Store, error) {
	o.plans.once.Do(func() {
		o.plans.store, o.plans.err = plan.OpenStore(ctx, o.PlanStorePath())
		if o.plans.err != nil {
			return
		}
		pc := o.cfg.Plans
		o.plans.exec = plan.NewExecutor(plan.ExecutorOptions{
			Caller:         o.engine,
			Code:           codeRunner{o},
			Records:        o.plans.store,
			MaxConcurrency: pc.MaxConcurrency,
			IdempotencyTTL: pc.IdempotencyTTL.D(),
		})
		// Keep the store bounded.
		if _, err := o.plans.store.Prune(ctx, plan.Retention{MaxAge: pc.Retention.D(), MaxCount: pc.MaxRuns}); err != nil {
			o.log.Warn("pruning run records", "err", err)
		}
	})
	if o.plans.err != nil {
		return nil, nil, fmt.Errorf("weft: plans: %w", o.plans.err)
	}
	return o.plans.exec, o.plans.store, nil
}

// ParsePlan parses a plan document (weft's format or the legacy format,
// detected automatically). Syntax errors carry line and column.
func (o *Orchestrator) ParsePlan(data []byte) (*plan.Plan, error) { return plan.Parse(data) }

// CheckPlan validates a plan against the catalog as the caller on ctx sees
// it and returns every problem found (none: the plan can run). A step
// naming a tool outside the caller's policy is reported as an unknown tool.
func (o *Orchestrator) CheckPlan(ctx context.Context, p *plan.Plan) []plan.Problem {
	return plan.Check(o.View(ctx), p)
}

// RunPlan validates and runs a plan and waits for it. It fails with
// *plan.ProblemsError when the plan or inputs are invalid; otherwise the
// run's outcome is in the returned Run.
func (o *Orchestrator) RunPlan(ctx context.Context, p *plan.Plan, inputs map[string]any, opts plan.RunOptions) (*plan.Run, error) {
	x, _, err := o.planExecutor(ctx)
	if err != nil {
		return nil, err
	}
	opts.Catalog = o.View(ctx)
	return x.Run(ctx, p, inputs, opts)
}

// StartPlan validates a plan and starts it in the background; the run is
// independent of ctx (cancel it with Handle.Cancel or CancelRun).
func (o *Orchestrator) StartPlan(ctx context.Context, p *plan.Plan, inputs map[string]any, opts plan.RunOptions) (*plan.Handle, error) {
	x, _, err := o.planExecutor(ctx)
	if err != nil {
		return nil, err
	}
	opts.Catalog = o.View(ctx)
	return x.Start(context.WithoutCancel(ctx), p, inputs, opts)
}

// ActiveRun returns a run still executing in this process.
func (o *Orchestrator) ActiveRun(ctx context.Context, id string) (*plan.Handle, bool) {
	x, _, err := o.planExecutor(ctx)
	if err != nil {
		return nil, false
	}
	return x.Lookup(id)
}

// GetRun returns a run: the live state of an active run, else its record.
func (o *Orchestrator) GetRun(ctx context.Context, id string) (*plan.Run, error) {
	if h, ok := o.ActiveRun(ctx, id); ok {
		return h.Snapshot(), nil
	}
	_, st, err := o.planExecutor(ctx)
	if err != nil {
		return nil, err
	}
	return st.Get(ctx, id)
}

// ListRuns lists run records, newest first.
func (o *Orchestrator) ListRuns(ctx context.Context, opts plan.ListOptions) ([]plan.RunSummary, error) {
	_, st, err := o.planExecutor(ctx)
	if err != nil {
		return nil, err
	}
	return st.List(ctx, opts)
}
