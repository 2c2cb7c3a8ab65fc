package weft_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/plan"
)

// TestRunStoreLocations: runs.store names the SQLite file, or a PostgreSQL
// database the orchestrator migrates and records runs in.
func TestRunStoreLocations(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Runs.Store = filepath.Join(t.TempDir(), "elsewhere", "runs.sqlite")
	o := planOrchestrator(t, cfg, nil, true)
	if o.PlanStorePath() != cfg.Runs.Store {
		t.Errorf("PlanStorePath %q, want %q", o.PlanStorePath(), cfg.Runs.Store)
	}
	run, err := o.RunPlan(context.Background(), parsePlan(t, o, `{"steps":[{"id":"a","tool":"fn__ok","args":{"text":"x"}}]}`), nil, plan.RunOptions{})
	if err != nil || run.Status != plan.RunSucceeded {
		t.Fatalf("run on the SQLite file: %v %+v", err, run)
	}
	if _, err := os.Stat(cfg.Runs.Store); err != nil {
		t.Errorf("runs.store file: %v", err)
	}

	pg := baseConfig(t)
	pg.Runs.Store = testenv.PostgresURL(t)
	pg.Server.ReplicaID = "r1"
	p := planOrchestrator(t, pg, nil, true)
	if p.ReplicaID() != "r1" {
		t.Errorf("ReplicaID %q", p.ReplicaID())
	}
	run, err = p.RunPlan(context.Background(), parsePlan(t, p, `{"steps":[{"id":"a","tool":"fn__ok","args":{"text":"y"}}]}`), nil, plan.RunOptions{})
	if err != nil || run.Status != plan.RunSucceeded {
		t.Fatalf("run on PostgreSQL: %v %+v", err, run)
	}
	st, err := plan.OpenPostgresStore(context.Background(), pg.Runs.Store, plan.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := st.Get(context.Background(), run.ID); err != nil || got.Status != plan.RunSucceeded {
		t.Errorf("the run in PostgreSQL: %v %v", got, err)
	}
}

// TestRunStoreDown: an unreachable PostgreSQL does not stop the
// orchestrator; plan calls fail saying which store (without its password)
// and why.
func TestRunStoreDown(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Runs.Store = "postgres://weft:hunter2@127.0.0.1:1/weft?sslmode=disable"
	o := planOrchestrator(t, cfg, nil, true)
	_, err := o.ListRuns(context.Background(), plan.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "run store postgres://weft:xxxxx@127.0.0.1:1/weft") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("list runs with PostgreSQL down: %v", err)
	}
	if res, err := o.Call(context.Background(), "fn__ok", []byte(`{"text":"still"}`), "test"); err != nil || res.IsError {
		t.Errorf("a tool call with the run store down: %v", err)
	}
}
