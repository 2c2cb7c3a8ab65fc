package weft

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/weft-dev/weft/plan"
)

// plans holds the plan executor and its run-record store. Start opens
// them; a facade method called before Start (or after a failed open)
// opens them on first use. A failed open is not remembered: the next call
// tries again, and no request's context is involved.
type plans struct {
	mu        sync.Mutex
	exec      *plan.Executor
	store     plan.RunStore
	shared    plan.SharedRunStore // store, when several replicas share it (PostgreSQL)
	closed    bool
	stopPrune func() // stops the periodic pruning

	replicaOnce sync.Once
	replica     string
}

// planPruneEvery is how often a long-running process applies the run
// retention (plans.retention, plans.max_runs) and drops expired
// idempotency results; it also happens when the store opens.
const planPruneEvery = time.Hour

// PlanStorePath is the SQLite file run records are kept in when runs.store
// is not a PostgreSQL URL: runs.store, or the cache directory's runs.db.
func (o *Orchestrator) PlanStorePath() string {
	if s := o.cfg.Runs.Store; s != "" && !o.cfg.Runs.IsPostgres() {
		return s
	}
	return filepath.Join(o.cfg.Cache.Dir, "runs.db")
}

// planStoreLocation is what the run store opens: runs.store's PostgreSQL
// URL, or PlanStorePath.
func (o *Orchestrator) planStoreLocation() string {
	if o.cfg.Runs.IsPostgres() {
		return o.cfg.Runs.Store
	}
	return o.PlanStorePath()
}

// ReplicaID names this process in shared run records: server.replica_id
// (WEFT_REPLICA_ID), else hostname-pid-random, fixed for the process.
func (o *Orchestrator) ReplicaID() string {
	o.plans.replicaOnce.Do(func() {
		o.plans.replica = o.cfg.Server.ReplicaID
		if o.plans.replica == "" {
			o.plans.replica = plan.DefaultReplicaID()
		}
	})
	return o.plans.replica
}

// planStoreOpenTimeout bounds opening the run store (SQLite waits up to its
// busy timeout for a file another process holds).
const planStoreOpenTimeout = 30 * time.Second

// errClosed is returned by plan methods after Close.
var errClosed = errors.New("weft: plans: the orchestrator is closed")

// planLimits are the plan limits of the configuration.
func (o *Orchestrator) planLimits() plan.Limits {
	pc := o.cfg.Plans
	return plan.Limits{
		MaxSteps: pc.MaxSteps, MaxDepth: pc.MaxDepth, MaxForeachItems: pc.MaxForeachItems,
		MaxResultBytes: pc.MaxResultBytes, MaxRecordBytes: pc.MaxRecordBytes, MaxRunBytes: int64(pc.MaxRunBytes),
		MaxConditionCost: uint64(max(pc.MaxConditionCost, 0)), MaxRunConditionCost: uint64(max(pc.MaxRunConditionCost, 0)),
	}
}

// openPlans opens the run store and builds the executor if that has not
// happened yet. It uses no caller's context: a canceled request cannot
// leave plans unusable.
func (o *Orchestrator) openPlans() (*plan.Executor, plan.RunStore, error) {
	o.plans.mu.Lock()
	defer o.plans.mu.Unlock()
	if o.plans.closed {
		return nil, nil, errClosed
	}
	if o.plans.exec != nil {
		return o.plans.exec, o.plans.store, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), planStoreOpenTimeout)
	defer cancel()
	st, err := plan.OpenRunStore(ctx, o.planStoreLocation(), plan.StoreOptions{Replica: o.ReplicaID(), Lease: o.cfg.Runs.Lease.D()})
	if err != nil {
		return nil, nil, fmt.Errorf("weft: plans: %w", err)
	}
	pc := o.cfg.Plans
	o.plans.store = st
	o.plans.exec = plan.NewExecutor(plan.ExecutorOptions{
		Caller:         o.engine,
		Code:           codeRunner{o},
		LLM:            llmRunner{o},
		Records:        st,
		Cache:          o.planResults(st),
		MaxConcurrency: pc.MaxConcurrency,
		IdempotencyTTL: pc.IdempotencyTTL.D(),
		Limits:         o.planLimits(),
		Tracer:         o.tracer,
	})
	if ss, ok := st.(plan.SharedRunStore); ok {
		// Another replica asks to cancel a run: cancel it if it runs here.
		x := o.plans.exec
		ss.OnCancel(func(id string) {
			if h, ok := x.Lookup(context.Background(), id); ok {
				h.Cancel()
			}
		})
		o.plans.shared = ss
	}
	// Keep the store bounded, now and every planPruneEvery.
	o.prunePlans(ctx, st)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(planPruneEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				pctx, cancel := context.WithTimeout(context.Background(), planStoreOpenTimeout)
				o.prunePlans(pctx, st)
				cancel()
			}
		}
	}()
	o.plans.stopPrune = func() { close(quit); <-done }
	return o.plans.exec, o.plans.store, nil
}

// prunePlans applies the run retention to st.
func (o *Orchestrator) prunePlans(ctx context.Context, st plan.RunStore) {
	pc := o.cfg.Plans
	if _, err := st.Prune(ctx, plan.Retention{MaxAge: pc.Retention.D(), MaxCount: pc.MaxRuns}); err != nil {
		o.log.Warn("pruning run records", "err", err)
	}
}

// closePlans shuts the executor down — running runs are canceled and their
// records saved as interrupted — and then closes the run store.
func (o *Orchestrator) closePlans(timeout time.Duration) error {
	o.plans.mu.Lock()
	defer o.plans.mu.Unlock()
	if o.plans.closed {
		return nil // Close is idempotent
	}
	o.plans.closed = true
	if o.plans.exec == nil {
		return nil
	}
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := o.plans.exec.Shutdown(ctx)
	o.plans.stopPrune()
	if cerr := o.plans.store.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("weft: plans: close run store: %w", cerr)
	}
	return err
}

// ParsePlan parses a plan document (weft's format or the legacy format,
// detected automatically). Syntax errors carry line and column.
func (o *Orchestrator) ParsePlan(data []byte) (*plan.Plan, error) { return plan.Parse(data) }

// CheckPlan validates a plan against the catalog as the caller on ctx sees
// it, and against the plan limits, and returns every problem found (none:
// the plan can run). A step naming a tool outside the caller's policy is
// reported as an unknown tool, and nothing of that tool is revealed.
func (o *Orchestrator) CheckPlan(ctx context.Context, p *plan.Plan) []plan.Problem {
	return plan.CheckWithin(o.View(ctx), p, o.planLimits())
}

// RunPlan validates and runs a plan and waits for it. It fails with
// *plan.ProblemsError when the plan or inputs are invalid; otherwise the
// run's outcome is in the returned Run (its record). The run belongs to
// the client on ctx and runs with its policy.
func (o *Orchestrator) RunPlan(ctx context.Context, p *plan.Plan, inputs map[string]any, opts plan.RunOptions) (*plan.Run, error) {
	x, _, err := o.openPlans()
	if err != nil {
		return nil, err
	}
	opts.Catalog = o.View(ctx)
	o.observePlan(&opts)
	h, err := o.startRelayed(ctx, x, p, inputs, opts)
	if err != nil {
		return nil, err
	}
	<-h.Done()
	return h.Wait(context.Background())
}

// startRelayed starts a run; with a shared run store its events are
// relayed to the other replicas (for FollowRun there).
func (o *Orchestrator) startRelayed(ctx context.Context, x *plan.Executor, p *plan.Plan, inputs map[string]any, opts plan.RunOptions) (*plan.Handle, error) {
	o.plans.mu.Lock()
	ss := o.plans.shared
	o.plans.mu.Unlock()
	if ss == nil {
		return x.Start(ctx, p, inputs, opts)
	}
	if opts.ID == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("weft: run id: %w", err)
		}
		opts.ID = u.String()
	}
	done := make(chan struct{})
	relay := ss.Relay(opts.ID, done)
	if next := opts.OnEvent; next != nil {
		opts.OnEvent = func(e plan.Event) { relay(e); next(e) }
	} else {
		opts.OnEvent = relay
	}
	h, err := x.Start(ctx, p, inputs, opts)
	if err != nil {
		close(done)
		return nil, err
	}
	go func() { <-h.Done(); close(done) }()
	return h, nil
}

// StartPlan validates a plan and starts it in the background; the run is
// independent of ctx's cancellation (cancel it with Handle.Cancel or
// CancelRun) but keeps its values: it belongs to the client on ctx, and
// every tool call, code step and nested plan of it runs with the caller's
// policy.
func (o *Orchestrator) StartPlan(ctx context.Context, p *plan.Plan, inputs map[string]any, opts plan.RunOptions) (*plan.Handle, error) {
	x, _, err := o.openPlans()
	if err != nil {
		return nil, err
	}
	opts.Catalog = o.View(ctx)
	o.observePlan(&opts)
	return o.startRelayed(context.WithoutCancel(ctx), x, p, inputs, opts)
}

// ActiveRun returns a run still executing in this process, if the client
// on ctx may see it (its own runs; every run for the local operator).
func (o *Orchestrator) ActiveRun(ctx context.Context, id string) (*plan.Handle, bool) {
	x, _, err := o.openPlans()
	if err != nil {
		return nil, false
	}
	return x.Lookup(ctx, id)
}

// GetRun returns a run: the live state of an active run, else its record.
// A run of another client than the one on ctx is plan.ErrNotFound, exactly
// like a run that does not exist.
func (o *Orchestrator) GetRun(ctx context.Context, id string) (*plan.Run, error) {
	if h, ok := o.ActiveRun(ctx, id); ok {
		return h.Snapshot(), nil
	}
	_, st, err := o.openPlans()
	if err != nil {
		return nil, err
	}
	return st.Get(ctx, id)
}

// ListRuns lists the records of the runs the client on ctx may see,
// newest first.
func (o *Orchestrator) ListRuns(ctx context.Context, opts plan.ListOptions) ([]plan.RunSummary, error) {
	_, st, err := o.openPlans()
	if err != nil {
		return nil, err
	}
	return st.List(ctx, opts)
}

// ErrRunFinished is returned by CancelRun for a run that is no longer running.
var ErrRunFinished = errors.New("the run is not running")

// CancelRun cancels a running run of the client on ctx — with a shared run
// store (PostgreSQL) also a run another replica runs: that replica is asked
// to cancel it. It fails with plan.ErrNotFound for a run that does not
// exist or belongs to another client, and with ErrRunFinished for a run
// that already finished.
func (o *Orchestrator) CancelRun(ctx context.Context, id string) error {
	h, ok := o.ActiveRun(ctx, id)
	if ok && h.Snapshot().Status != plan.RunRunning {
		ok = false // finished (its record is being saved)
	}
	if !ok {
		run, err := o.GetRun(ctx, id)
		if err != nil {
			return err
		}
		o.plans.mu.Lock()
		ss := o.plans.shared
		o.plans.mu.Unlock()
		if run.Status == plan.RunRunning && ss != nil {
			err := ss.RequestCancel(ctx, id)
			if errors.Is(err, plan.ErrNotFound) {
				return fmt.Errorf("run %q: %w", id, ErrRunFinished) // it finished meanwhile
			}
			return err
		}
		return fmt.Errorf("run %q: %w", id, ErrRunFinished)
	}
	h.Cancel()
	return nil
}

// FollowRun streams the events of a run the client on ctx may see: every
// event so far, then live ones, until run_finished. A run of this process
// is followed in memory; with a shared run store (PostgreSQL), a run of
// another replica through the store. A finished run's stream is one
// run_finished event with its final status. It fails with
// plan.ErrNotFound like GetRun. The channel is closed after run_finished
// or when ctx is done.
func (o *Orchestrator) FollowRun(ctx context.Context, id string) (<-chan plan.Event, error) {
	if h, ok := o.ActiveRun(ctx, id); ok {
		return h.Events(ctx), nil
	}
	run, err := o.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	o.plans.mu.Lock()
	ss := o.plans.shared
	o.plans.mu.Unlock()
	if run.Status == plan.RunRunning && ss != nil {
		return ss.Follow(ctx, id), nil
	}
	ch := make(chan plan.Event, 1)
	ch <- plan.Event{Type: plan.EventRunFinished, RunID: id, Time: run.Finished, Status: string(run.Status), Reason: run.Error}
	close(ch)
	return ch, nil
}
