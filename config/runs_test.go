package config

import (
	"strings"
	"testing"
	"time"
)

func TestRunsSection(t *testing.T) {
	c := mustParse(t, doc(
		"runs:",
		"  store: postgres://weft:pw@db.internal:5432/weft?sslmode=require",
		"  lease: 30s",
		"server:",
		"  replica_id: a1",
	), nil)
	if c.Runs.Store != "postgres://weft:pw@db.internal:5432/weft?sslmode=require" || c.Runs.Lease.D() != 30*time.Second || !c.Runs.IsPostgres() || c.Server.ReplicaID != "a1" {
		t.Errorf("runs %+v, replica %q", c.Runs, c.Server.ReplicaID)
	}
	if d := mustParse(t, doc("log:", "  level: info"), nil); d.Runs.Store != "" || d.Runs.Lease.D() != DefaultRunLease || d.Runs.IsPostgres() {
		t.Errorf("defaults %+v", d.Runs)
	}
	// The environment wins, and weft config check masks the password.
	e := mustParse(t, doc("log:", "  level: info"), map[string]string{
		"RUNS_STORE": "postgresql://u:secret@h/db", "RUNS_LEASE": "2m", "WEFT_REPLICA_ID": "b2"})
	if e.Runs.Store != "postgresql://u:secret@h/db" || e.Runs.Lease.D() != 2*time.Minute || e.Server.ReplicaID != "b2" {
		t.Errorf("env %+v %q", e.Runs, e.Server.ReplicaID)
	}
	out, err := e.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secret") || !strings.Contains(string(out), "store: postgresql://u:") || !strings.Contains(string(out), "replica_id: b2") {
		t.Errorf("config check output:\n%s", out)
	}
}

func TestRunsProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		env  map[string]string
		want string
	}{
		{"another scheme", doc("runs:", "  store: mysql://u:pw@h/db"), nil,
			`weft.yaml:2: runs.store: "mysql://u:****@h/db": must be a file path (SQLite) or a postgres:// or postgresql:// URL`},
		{"no host", doc("runs:", "  store: postgres:///db"), nil,
			`weft.yaml:2: runs.store: "postgres:///db": not a valid PostgreSQL URL (postgres://user:password@host:5432/database?sslmode=require)`},
		{"short lease", doc("runs:", "  lease: 100ms"), nil,
			`weft.yaml:2: runs.lease: "100ms": must be at least 1s (leases are renewed every lease/3)`},
		{"bad env lease", doc("log:", "  level: info"), map[string]string{"RUNS_LEASE": "soon"}, `RUNS_LEASE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseErr(t, tc.data, tc.env)
			if !strings.Contains(got, tc.want) {
				t.Errorf("error:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
