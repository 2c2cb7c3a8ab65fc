package config

import (
	"net/url"
	"strings"
	"time"
)

// Runs says where run records live and how long a replica's lease on a
// running run lasts.
type Runs struct {
	// Store is where run records (and plan idempotency results) are kept:
	// empty or a file path for the embedded SQLite file (empty:
	// cache.dir/runs.db), or a postgres:// (postgresql://) URL for a
	// PostgreSQL database shared by every replica. Env: RUNS_STORE.
	Store string `yaml:"store" json:"store,omitempty"`
	// Lease is how long a running run stays its replica's without a
	// renewal (renewed every lease/3); a run whose replica died is marked
	// interrupted by a survivor once it expired. Env: RUNS_LEASE. Default 1m.
	Lease Duration `yaml:"lease" json:"lease"`
}

// DefaultRunLease is the default runs.lease.
const DefaultRunLease = time.Minute

// IsPostgres reports whether the run store is a PostgreSQL URL.
func (r Runs) IsPostgres() bool {
	return strings.HasPrefix(r.Store, "postgres://") || strings.HasPrefix(r.Store, "postgresql://")
}

func defaultRuns() Runs { return Runs{Lease: Duration(DefaultRunLease)} }

func (d *decoder) runs(n *node, p fpath, r *Runs) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"store", func(v *node) { d.str(v, f("store"), &r.Store) }},
		{"lease", func(v *node) { d.duration(v, f("lease"), &r.Lease) }},
	}, "")
}

// runs validates the runs section. The store URL is quoted with its
// password masked.
func (v *validator) runs(r Runs) {
	v.positiveDuration("runs.lease", r.Lease)
	if r.Lease > 0 && time.Duration(r.Lease) < time.Second && !v.broken("runs.lease") {
		v.value("runs.lease", r.Lease.String(), "must be at least 1s (leases are renewed every lease/3)")
	}
	s := r.Store
	switch {
	case s == "" || v.broken("runs.store"):
	case r.IsPostgres():
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			v.at("runs.store", quote(redactURLText(s))+": not a valid PostgreSQL URL (postgres://user:password@host:5432/database?sslmode=require)")
		}
	case strings.Contains(s, "://"):
		v.at("runs.store", quote(redactURLText(s))+": must be a file path (SQLite) or a postgres:// or postgresql:// URL")
	}
}

// runsEnvOverrides are the environment variables of the runs section and
// the replica id.
var runsEnvOverrides = []envOverride{
	{"RUNS_STORE", "runs.store", func(c *Config, v string) string { c.Runs.Store = v; return "" }},
	{"RUNS_LEASE", "runs.lease", func(c *Config, v string) string { return setEnvDuration(&c.Runs.Lease, v) }},
	{"WEFT_REPLICA_ID", "server.replica_id", func(c *Config, v string) string { c.Server.ReplicaID = v; return "" }},
}

func init() { envOverrides = append(envOverrides, runsEnvOverrides...) }
