package plan

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store keeps run records in a SQLite file (WAL mode, busy timeout), so
// runs survive a restart as records. It is safe for concurrent use by one
// process; runs still marked running when a store is opened (their process
// ended mid-run) are marked interrupted.
type Store struct {
	db *sql.DB
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
`

// OpenStore opens (creating if needed) the run store at path.
func OpenStore(ctx context.Context, path string) (*Store, error) {
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
	s := &Store{db: db}
	if err := s.markInterrupted(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// markInterrupted marks runs left running by a previous process.
func (s *Store) markInterrupted(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM plan_runs WHERE status = ?`, string(RunRunning))
	if err != nil {
		return fmt.Errorf("plan: run store: %w", err)
	}
	var runs []*Run
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return fmt.Errorf("plan: run store: %w", err)
		}
		if r, err := decodeRun(b); err == nil {
			runs = append(runs, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("plan: run store: %w", err)
	}
	for _, r := range runs {
		r.Status = RunInterrupted
		r.Error = "the process running this plan ended before the run finished"
		interruptSteps(r.Steps)
		if err := s.Save(ctx, r); err != nil {
			return err
		}
	}
	return nil
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
	_, err = s.db.ExecContext(ctx, `INSERT INTO plan_runs (id, name, status, started_at, finished_at, steps, failed, error, record)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name, status=excluded.status, started_at=excluded.started_at,
			finished_at=excluded.finished_at, steps=excluded.steps, failed=excluded.failed, error=excluded.error, record=excluded.record`,
		r.ID, r.Name, string(r.Status), r.Started.UnixNano(), fin, len(r.Steps), failed, r.Error, b)
	if err != nil {
		return fmt.Errorf("plan: save run %s: %w", r.ID, err)
	}
	return nil
}

// Get returns the full record of a run (ErrNotFound if there is none).
func (s *Store) Get(ctx context.Context, id string) (*Run, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT record FROM plan_runs WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("plan: get run %s: %w", id, err)
	}
	r, err := decodeRun(b)
	if err != nil {
		return nil, fmt.Errorf("plan: decode run %s: %w", id, err)
	}
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

// List returns runs, newest first.
func (s *Store) List(ctx context.Context, o ListOptions) ([]RunSummary, error) {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	q := `SELECT id, name, status, started_at, finished_at, steps, failed, error FROM plan_runs WHERE 1=1`
	var args []any
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

// Prune deletes runs outside the retention and reports how many.
func (s *Store) Prune(ctx context.Context, r Retention) (int, error) {
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
	return int(total), nil
}
