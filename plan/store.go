package plan

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/weft-dev/weft/engine"
)

// Store keeps run records in a SQLite file (WAL mode, busy timeout), so
// runs survive a restart as records, and the results of steps with an
// idempotency key, so a re-run by a later process reuses them
// (Store.Results). It is the default RunStore. It is safe for concurrent
// use, and several processes may open the same file (weft serve, and weft
// runs list beside it): a running run's record carries its replica and a
// heartbeat, renewed while it runs (the lease, see RunStore), and only
// runs whose lease expired (their process ended mid-run) are marked
// interrupted — when a store is opened, and by Prune.
//
// Every run has an owner, the client that started it
// (engine.ClientFrom). Get and List answer as the client on their context
// sees the store: its own runs only, except for the local operator (the
// empty client), who sees every run (Visible).
//
// The file holds tool inputs and results: it is created 0600 (an existing
// one is tightened to 0600) and its directory, when the store creates it,
// 0700.
type Store struct {
	db     *sql.DB
	now    func() time.Time
	opts   StoreOptions
	leases *leases
}

// ErrNotFound is returned by Store.Get for an unknown run id.
var ErrNotFound = errors.New("plan: run not found")

const storeSchema = `
CREATE TABLE IF NOT EXISTS plan_runs (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL DEFAULT 0,
	steps       INTEGER NOT NULL DEFAULT 0,
	failed      INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	record      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS plan_runs_started ON plan_runs(started_at);
CREATE INDEX IF NOT EXISTS plan_runs_status ON plan_runs(status);
CREATE TABLE IF NOT EXISTS plan_idempotency (
	key        TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0
);
`

// storeMigrations bring a store created by an earlier version up to date;
// each runs when its column is missing.
var storeMigrations = []struct{ table, column, ddl string }{
	{"plan_runs", "owner", `ALTER TABLE plan_runs ADD COLUMN owner TEXT NOT NULL DEFAULT ''`},
	{"plan_runs", "heartbeat", `ALTER TABLE plan_runs ADD COLUMN heartbeat INTEGER NOT NULL DEFAULT 0`},
	{"plan_runs", "replica", `ALTER TABLE plan_runs ADD COLUMN replica TEXT NOT NULL DEFAULT ''`},
}

// HeartbeatEvery is how often at least a running run's record is saved
// (its heartbeat), even when nothing changed; StaleAfter is the default
// lease (StoreOptions.Lease): how long after its last heartbeat a run
// still marked running counts as abandoned by its process.
const (
	HeartbeatEvery = 10 * time.Second
	StaleAfter     = time.Minute
)

// OpenStore opens (creating if needed) the run store at path, with the
// default options.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	return OpenStoreWith(ctx, path, StoreOptions{})
}

// OpenStoreWith opens (creating if needed) the SQLite run store at path.
func OpenStoreWith(ctx context.Context, path string, o StoreOptions) (*Store, error) {
	if err := prepareStoreFile(path); err != nil {
		return nil, fmt.Errorf("plan: open run store %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("plan: open run store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, storeSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("plan: open run store %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("plan: open run store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS plan_runs_owner ON plan_runs(owner, started_at)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("plan: open run store %s: %w", path, err)
	}
	s := &Store{db: db, opts: o.withDefaults()}
	s.now = s.opts.now
	if err := s.markInterrupted(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.leases = newLeases(s.opts.Lease, s.renew, func(ctx context.Context) { _ = s.markInterrupted(ctx) })
	return s, nil
}

// prepareStoreFile creates the store's directory (0700) and file (0600) if
// missing, and tightens an existing file readable by others to 0600.
func prepareStoreFile(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// migrate applies the migrations a store needs.
func migrate(ctx context.Context, db *sql.DB) error {
	for _, m := range storeMigrations {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, m.table, m.column).Scan(&n)
		if err != nil {
			return fmt.Errorf("migrate %s.%s: %w", m.table, m.column, err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, m.ddl); err != nil {
			return fmt.Errorf("migrate %s.%s: %w", m.table, m.column, err)
		}
	}
	return nil
}

// Close stops renewing leases and closes the database.
func (s *Store) Close() error {
	s.leases.stop()
	return s.db.Close()
}

// renew renews the leases of this replica's running runs.
func (s *Store) renew(ctx context.Context, ids []string) {
	for _, id := range ids {
		_, _ = s.db.ExecContext(ctx, `UPDATE plan_runs SET heartbeat = ? WHERE id = ? AND status = ? AND replica = ?`,
			s.now().UnixNano(), id, string(RunRunning), s.opts.Replica)
	}
}

// markInterrupted marks runs left running by a process that ended: still
// running, with no heartbeat for the lease.
func (s *Store) markInterrupted(ctx context.Context) error {
	cutoff := s.now().Add(-s.opts.Lease).UnixNano()
	rows, err := s.db.QueryContext(ctx, `SELECT owner, record FROM plan_runs WHERE status = ? AND heartbeat < ?`,
		string(RunRunning), cutoff)
	if err != nil {
		return fmt.Errorf("plan: run store: %w", err)
	}
	var runs []*Run
	for rows.Next() {
		var b []byte
		var owner string
		if err := rows.Scan(&owner, &b); err != nil {
			rows.Close()
			return fmt.Errorf("plan: run store: %w", err)
		}
		if r, err := decodeRun(b); err == nil {
			r.Owner = owner
			runs = append(runs, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("plan: run store: %w", err)
	}
	for _, r := range runs {
		interruptRun(r)
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("plan: encode run %s: %w", r.ID, err)
		}
		// Only if its lease is still expired: a renewal since wins.
		if _, err := s.db.ExecContext(ctx, `UPDATE plan_runs SET status = ?, error = ?, record = ? WHERE id = ? AND status = ? AND heartbeat < ?`,
			string(r.Status), r.Error, b, r.ID, string(RunRunning), cutoff); err != nil {
			return fmt.Errorf("plan: mark run %s interrupted: %w", r.ID, err)
		}
	}
	return nil
}

// interruptRun marks a run whose replica ended mid-run interrupted.
func interruptRun(r *Run) {
	r.Status = RunInterrupted
	r.Error = "the process running this plan ended before the run finished"
	interruptSteps(r.Steps)
}

func interruptSteps(recs []*StepRecord) {
	for _, r := range recs {
		if r.Status == StepRunning || r.Status == StepPending {
			r.Status = StepInterrupted
		}
		interruptSteps(r.Items)
		interruptSteps(r.Steps)
	}
}

// Save inserts or replaces a run record. It implements RunRecorder.
func (s *Store) Save(ctx context.Context, r *Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("plan: encode run %s: %w", r.ID, err)
	}
	failed := 0
	for _, st := range r.Steps {
		if st.Status == StepFailed {
			failed++
		}
	}
	var fin int64
	if !r.Finished.IsZero() {
		fin = r.Finished.UnixNano()
	}
	// The owner of an existing record never changes: a run id another
	// client picked cannot take a record over.
	res, err := s.db.ExecContext(ctx, `INSERT INTO plan_runs (id, owner, name, status, started_at, finished_at, steps, failed, error, record, heartbeat, replica)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name, status=excluded.status, started_at=excluded.started_at,
			finished_at=excluded.finished_at, steps=excluded.steps, failed=excluded.failed, error=excluded.error, record=excluded.record,
			heartbeat=excluded.heartbeat, replica=excluded.replica
		WHERE plan_runs.owner = excluded.owner`,
		r.ID, r.Owner, r.Name, string(r.Status), r.Started.UnixNano(), fin, len(r.Steps), failed, r.Error, b, s.now().UnixNano(), s.opts.Replica)
	if err != nil {
		return fmt.Errorf("plan: save run %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("plan: save run %s: the id is taken by another client's run", r.ID)
	}
	if s.leases != nil {
		s.leases.saved(r.ID, r.Status)
	}
	return nil
}

// Get returns the full record of a run (ErrNotFound if there is none, or
// if it belongs to another client than the one on ctx: see Visible).
func (s *Store) Get(ctx context.Context, id string) (*Run, error) {
	var b []byte
	var owner string
	err := s.db.QueryRowContext(ctx, `SELECT owner, record FROM plan_runs WHERE id = ?`, id).Scan(&owner, &b)
	return visibleRun(ctx, id, owner, b, err, errors.Is(err, sql.ErrNoRows))
}

// visibleRun turns the owner and record a store read for run id (err: the
// read's error; noRows: there was no such row) into the run, as the client
// on ctx may see it: another client's run is ErrNotFound like a missing one.
func visibleRun(ctx context.Context, id, owner string, b []byte, err error, noRows bool) (*Run, error) {
	if noRows || (err == nil && !Visible(owner, engine.ClientFrom(ctx))) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("plan: get run %s: %w", id, err)
	}
	r, err := decodeRun(b)
	if err != nil {
		return nil, fmt.Errorf("plan: decode run %s: %w", id, err)
	}
	r.Owner = owner
	return r, nil
}

func decodeRun(b []byte) (*Run, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var r Run
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RunSummary is one line of a run listing.
type RunSummary struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Status   RunStatus `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Steps    int       `json:"steps"`
	Failed   int       `json:"failed"`
	Error    string    `json:"error,omitempty"`
}

// ListOptions filter and page a listing.
type ListOptions struct {
	// Limit caps the number of runs (0: 50).
	Limit int
	// Status keeps only runs in this state.
	Status RunStatus
	// Before keeps only runs started before this time (for paging).
	Before time.Time
}

// List returns the runs the client on ctx may see (Visible), newest first.
func (s *Store) List(ctx context.Context, o ListOptions) ([]RunSummary, error) {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	q := `SELECT id, name, status, started_at, finished_at, steps, failed, error FROM plan_runs WHERE 1=1`
	var args []any
	if client := engine.ClientFrom(ctx); client != "" {
		q += ` AND owner = ?`
		args = append(args, client)
	}
	if o.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(o.Status))
	}
	if !o.Before.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, o.Before.UnixNano())
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, o.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("plan: list runs: %w", err)
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		var r RunSummary
		var status string
		var started, finished int64
		if err := rows.Scan(&r.ID, &r.Name, &status, &started, &finished, &r.Steps, &r.Failed, &r.Error); err != nil {
			return nil, fmt.Errorf("plan: list runs: %w", err)
		}
		r.Status, r.Started = RunStatus(status), time.Unix(0, started)
		if finished > 0 {
			r.Finished = time.Unix(0, finished)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Retention says which finished runs to keep. Running runs are never pruned.
type Retention struct {
	// MaxAge drops runs started longer ago (0: no age limit).
	MaxAge time.Duration
	// MaxCount keeps at most this many of the newest finished runs (0: no count limit).
	MaxCount int
}

// Prune deletes runs outside the retention and reports how many. It also
// marks runs whose process ended (no heartbeat for StaleAfter) interrupted,
// and drops expired idempotency results.
func (s *Store) Prune(ctx context.Context, r Retention) (int, error) {
	if err := s.markInterrupted(ctx); err != nil {
		return 0, err
	}
	total := int64(0)
	if r.MaxAge > 0 {
		res, err := s.db.ExecContext(ctx, `DELETE FROM plan_runs WHERE status != ? AND started_at < ?`,
			string(RunRunning), time.Now().Add(-r.MaxAge).UnixNano())
		if err != nil {
			return 0, fmt.Errorf("plan: prune runs: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if r.MaxCount > 0 {
		res, err := s.db.ExecContext(ctx, `DELETE FROM plan_runs WHERE status != ? AND id NOT IN (
			SELECT id FROM plan_runs WHERE status != ? ORDER BY started_at DESC, id DESC LIMIT ?)`, string(RunRunning), string(RunRunning), r.MaxCount)
		if err != nil {
			return 0, fmt.Errorf("plan: prune runs: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM plan_idempotency WHERE expires_at > 0 AND expires_at <= ?`, s.now().UnixNano()); err != nil {
		return 0, fmt.Errorf("plan: prune idempotency results: %w", err)
	}
	return int(total), nil
}

// getCached is the stored result of an idempotency key, if it has
// not expired. Keys are scoped by the executor (owner and key).
func (s *Store) getCached(ctx context.Context, key string) (json.RawMessage, bool, error) {
	var b []byte
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT value, expires_at FROM plan_idempotency WHERE key = ?`, key).Scan(&b, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("plan: idempotency result: %w", err)
	}
	if exp > 0 && exp <= s.now().UnixNano() {
		return nil, false, nil
	}
	return b, true, nil
}

// setCached stores an idempotency result for ttl (0: no expiry).
func (s *Store) setCached(ctx context.Context, key string, value json.RawMessage, ttl time.Duration) error {
	var exp int64
	if ttl > 0 {
		exp = s.now().Add(ttl).UnixNano()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO plan_idempotency (key, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at`, key, []byte(value), exp)
	if err != nil {
		return fmt.Errorf("plan: store idempotency result: %w", err)
	}
	return nil
}

// Results returns the store as a Cache of idempotency results, kept across
// restarts for the next process that opens the file (expired entries are
// dropped by Prune).
func (s *Store) Results() Cache { return storeCache{s} }

type storeCache struct{ s *Store }

func (c storeCache) Get(ctx context.Context, key string) (json.RawMessage, bool, error) {
	return c.s.getCached(ctx, key)
}

func (c storeCache) Set(ctx context.Context, key string, value json.RawMessage, ttl time.Duration) error {
	return c.s.setCached(ctx, key, value, ttl)
}

// Visible reports whether a run owned by owner is visible to client: a
// client sees the runs it started; the local operator (the empty client:
// the CLI, the Go API, a server without API keys) sees every run. Runs of
// other clients do not exist for it.
func Visible(owner, client string) bool { return client == "" || owner == client }
