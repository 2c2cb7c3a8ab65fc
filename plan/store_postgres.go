package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgxlisten"

	"github.com/weft-dev/weft/engine"
)

// PostgresStore keeps run records in a PostgreSQL database that several
// replicas share (pgx, pgxpool). It implements SharedRunStore: runs have
// an owner replica and a lease (see RunStore), cancel requests and run
// events travel between replicas with LISTEN/NOTIFY (channels
// weft_run_cancel and weft_run_events; the events themselves are rows of
// plan_run_events, so a notification lost while a listener reconnects only
// delays a follower until its next poll).
//
// Its schema is versioned (weft_schema_migrations) and migrated when the
// store opens, under a transaction-scoped advisory lock, so replicas
// starting at once apply each migration exactly once.
type PostgresStore struct {
	pool   *pgxpool.Pool
	opts   StoreOptions
	now    func() time.Time
	leases *leases
	where  string // the URL without its password, for errors

	stopListen context.CancelFunc
	listening  chan struct{} // closed when the listener ended
	closing    chan struct{}
	relays     sync.WaitGroup

	mu        sync.Mutex
	onCancel  func(id string)
	followers map[string]map[chan struct{}]struct{}
}

// Notification channels and the poll that backs them up.
const (
	pgCancelChannel = "weft_run_cancel"
	pgEventsChannel = "weft_run_events"
	// followPoll is how often a follower re-reads a run's events and
	// status without a notification.
	followPoll = 2 * time.Second
	// pgMigrationLock is the advisory lock key held while migrating.
	pgMigrationLock = 0x77656674_72756e73 // "weftruns"
	// relayTimeout bounds storing one batch of events.
	relayTimeout = 10 * time.Second
	// finishGrace is how long a follower waits for the events of a run
	// whose record says it ended (the last two batches, each within
	// relayTimeout) before ending the stream from the record.
	finishGrace = 2*relayTimeout + followPoll
	// keepEventsFor is how long the events of a finished run are kept for
	// late followers (Prune drops older ones; the record stays).
	keepEventsFor = time.Hour
)

// pgMigrations are the schema versions, in order; version n is
// pgMigrations[n-1]. Never edit one that shipped: append.
var pgMigrations = []string{
	`CREATE TABLE plan_runs (
		id               TEXT PRIMARY KEY,
		owner            TEXT NOT NULL DEFAULT '',
		name             TEXT NOT NULL DEFAULT '',
		status           TEXT NOT NULL,
		started_at       BIGINT NOT NULL,
		finished_at      BIGINT NOT NULL DEFAULT 0,
		steps            INTEGER NOT NULL DEFAULT 0,
		failed           INTEGER NOT NULL DEFAULT 0,
		error            TEXT NOT NULL DEFAULT '',
		record           BYTEA NOT NULL,
		replica          TEXT NOT NULL DEFAULT '',
		lease_expires    BIGINT NOT NULL DEFAULT 0,
		cancel_requested BOOLEAN NOT NULL DEFAULT false
	);
	CREATE INDEX plan_runs_started ON plan_runs(started_at);
	CREATE INDEX plan_runs_status ON plan_runs(status, lease_expires);
	CREATE INDEX plan_runs_owner ON plan_runs(owner, started_at);
	CREATE TABLE plan_idempotency (
		key        TEXT PRIMARY KEY,
		value      BYTEA NOT NULL,
		expires_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE TABLE plan_run_events (
		seq    BIGSERIAL PRIMARY KEY,
		run_id TEXT NOT NULL REFERENCES plan_runs(id) ON DELETE CASCADE,
		event  BYTEA NOT NULL
	);
	CREATE INDEX plan_run_events_run ON plan_run_events(run_id, seq);`,
}

// OpenPostgresStore connects to the PostgreSQL database at url
// (postgres://user:password@host:port/db?sslmode=…), migrates its schema,
// marks runs whose lease expired interrupted and starts listening for
// cancel requests and run events.
func OpenPostgresStore(ctx context.Context, dbURL string, o StoreOptions) (*PostgresStore, error) {
	where := redactURL(dbURL)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("plan: run store %s: %w", where, errors.New("not a valid PostgreSQL URL"))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("plan: run store %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("plan: run store %s: connect: %w", where, err)
	}
	s := &PostgresStore{pool: pool, opts: o.withDefaults(), where: where,
		closing: make(chan struct{}), listening: make(chan struct{}), followers: map[string]map[chan struct{}]struct{}{}}
	s.now = s.opts.now
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("plan: run store %s: migrate: %w", where, err)
	}
	if err := s.markInterrupted(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.listen()
	s.leases = newLeases(s.opts.Lease, s.renew, func(ctx context.Context) { _ = s.markInterrupted(ctx) })
	return s, nil
}

// redactURL is a database URL without its password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// migrate applies the migrations the database lacks, under an advisory
// lock held until the transaction ends.
func (s *PostgresStore) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgMigrationLock)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS weft_schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM weft_schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(pgMigrations) {
		return fmt.Errorf("the database is at schema version %d, newer than this weft knows (%d): upgrade weft", have, len(pgMigrations))
	}
	for v := have + 1; v <= len(pgMigrations); v++ {
		if _, err := tx.Exec(ctx, pgMigrations[v-1]); err != nil {
			return fmt.Errorf("version %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO weft_schema_migrations (version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("version %d: %w", v, err)
		}
	}
	return tx.Commit(ctx)
}

// SchemaVersion is the database's schema version.
func (s *PostgresStore) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM weft_schema_migrations`).Scan(&v)
	return v, err
}

// listen starts the LISTEN connection (reconnecting after a second when it
// is lost).
func (s *PostgresStore) listen() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	connCfg := s.pool.Config().ConnConfig.Copy()
	l := &pgxlisten.Listener{
		Connect:        func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, connCfg) },
		ReconnectDelay: time.Second,
	}
	l.Handle(pgCancelChannel, pgxlisten.HandlerFunc(func(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
		s.mu.Lock()
		f := s.onCancel
		s.mu.Unlock()
		if f != nil {
			f(n.Payload)
		}
		return nil
	}))
	l.Handle(pgEventsChannel, pgxlisten.HandlerFunc(func(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
		s.wake(n.Payload)
		return nil
	}))
	go func() {
		defer close(s.listening)
		_ = l.Listen(ctx)
	}()
}

// Replica implements SharedRunStore.
func (s *PostgresStore) Replica() string { return s.opts.Replica }

// Close stops renewing leases and listening, and closes the pool. Runs
// still saved as running keep their record until their lease expires.
func (s *PostgresStore) Close() error {
	select {
	case <-s.closing:
		return nil
	default:
	}
	close(s.closing)
	s.leases.stop()
	s.stopListen()
	<-s.listening
	s.relays.Wait()
	s.pool.Close()
	return nil
}

// renew renews the leases of this replica's running runs, and passes on
// cancel requests whose notification this replica missed.
func (s *PostgresStore) renew(ctx context.Context, ids []string) {
	rows, err := s.pool.Query(ctx, `UPDATE plan_runs SET lease_expires = $1
		WHERE id = ANY($2) AND status = $3 AND replica = $4 RETURNING id, cancel_requested`,
		s.now().Add(s.opts.Lease).UnixNano(), ids, string(RunRunning), s.opts.Replica)
	if err != nil {
		return
	}
	var cancel []string
	for rows.Next() {
		var id string
		var requested bool
		if rows.Scan(&id, &requested) == nil && requested {
			cancel = append(cancel, id)
		}
	}
	rows.Close()
	s.mu.Lock()
	f := s.onCancel
	s.mu.Unlock()
	if f != nil {
		for _, id := range cancel {
			f(id)
		}
	}
}

// markInterrupted marks running runs whose lease expired interrupted and
// tells their followers.
func (s *PostgresStore) markInterrupted(ctx context.Context) error {
	cutoff := s.now().UnixNano()
	rows, err := s.pool.Query(ctx, `SELECT owner, record FROM plan_runs WHERE status = $1 AND lease_expires < $2`,
		string(RunRunning), cutoff)
	if err != nil {
		return fmt.Errorf("plan: run store %s: %w", s.where, err)
	}
	var runs []*Run
	for rows.Next() {
		var b []byte
		var owner string
		if err := rows.Scan(&owner, &b); err != nil {
			rows.Close()
			return fmt.Errorf("plan: run store %s: %w", s.where, err)
		}
		if r, err := decodeRun(b); err == nil {
			r.Owner = owner
			runs = append(runs, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("plan: run store %s: %w", s.where, err)
	}
	for _, r := range runs {
		interruptRun(r)
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("plan: encode run %s: %w", r.ID, err)
		}
		// Only if its lease is still expired: a renewal since wins.
		tag, err := s.pool.Exec(ctx, `UPDATE plan_runs SET status = $1, error = $2, record = $3, lease_expires = 0
			WHERE id = $4 AND status = $5 AND lease_expires < $6`,
			string(r.Status), r.Error, b, r.ID, string(RunRunning), cutoff)
		if err != nil {
			return fmt.Errorf("plan: mark run %s interrupted: %w", r.ID, err)
		}
		if tag.RowsAffected() == 1 {
			_ = s.appendEvents(ctx, r.ID, []Event{{Type: EventRunFinished, RunID: r.ID, Time: s.now(), Status: string(r.Status), Reason: r.Error}})
		}
	}
	return nil
}

// Save implements RunRecorder: it inserts or replaces a run record; a
// running run's record takes this replica and a fresh lease.
func (s *PostgresStore) Save(ctx context.Context, r *Run) error {
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
	var fin, lease int64
	if !r.Finished.IsZero() {
		fin = r.Finished.UnixNano()
	}
	if r.Status == RunRunning {
		lease = s.now().Add(s.opts.Lease).UnixNano()
	}
	// The owner of an existing record never changes: a run id another
	// client picked cannot take a record over.
	tag, err := s.pool.Exec(ctx, `INSERT INTO plan_runs (id, owner, name, status, started_at, finished_at, steps, failed, error, record, replica, lease_expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, started_at = excluded.started_at,
			finished_at = excluded.finished_at, steps = excluded.steps, failed = excluded.failed, error = excluded.error,
			record = excluded.record, replica = excluded.replica, lease_expires = excluded.lease_expires
		WHERE plan_runs.owner = excluded.owner`,
		r.ID, r.Owner, r.Name, string(r.Status), r.Started.UnixNano(), fin, len(r.Steps), failed, r.Error, b, s.opts.Replica, lease)
	if err != nil {
		return fmt.Errorf("plan: save run %s: %w", r.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("plan: save run %s: the id is taken by another client's run", r.ID)
	}
	s.leases.saved(r.ID, r.Status)
	return nil
}

// Get implements RunStore.
func (s *PostgresStore) Get(ctx context.Context, id string) (*Run, error) {
	var b []byte
	var owner string
	err := s.pool.QueryRow(ctx, `SELECT owner, record FROM plan_runs WHERE id = $1`, id).Scan(&owner, &b)
	return visibleRun(ctx, id, owner, b, err, errors.Is(err, pgx.ErrNoRows))
}

// List implements RunStore.
func (s *PostgresStore) List(ctx context.Context, o ListOptions) ([]RunSummary, error) {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	q := `SELECT id, name, status, started_at, finished_at, steps, failed, error FROM plan_runs WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if client := engine.ClientFrom(ctx); client != "" {
		q += ` AND owner = ` + arg(client)
	}
	if o.Status != "" {
		q += ` AND status = ` + arg(string(o.Status))
	}
	if !o.Before.IsZero() {
		q += ` AND started_at < ` + arg(o.Before.UnixNano())
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ` + arg(o.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("plan: list runs: %w", err)
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		var r RunSummary
		var status string
		var started, finished int64
		var steps, failed int32
		if err := rows.Scan(&r.ID, &r.Name, &status, &started, &finished, &steps, &failed, &r.Error); err != nil {
			return nil, fmt.Errorf("plan: list runs: %w", err)
		}
		r.Status, r.Started, r.Steps, r.Failed = RunStatus(status), time.Unix(0, started), int(steps), int(failed)
		if finished > 0 {
			r.Finished = time.Unix(0, finished)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Prune implements RunStore; it also drops the events of runs finished
// more than an hour ago.
func (s *PostgresStore) Prune(ctx context.Context, r Retention) (int, error) {
	if err := s.markInterrupted(ctx); err != nil {
		return 0, err
	}
	total := int64(0)
	if r.MaxAge > 0 {
		tag, err := s.pool.Exec(ctx, `DELETE FROM plan_runs WHERE status != $1 AND started_at < $2`,
			string(RunRunning), time.Now().Add(-r.MaxAge).UnixNano())
		if err != nil {
			return 0, fmt.Errorf("plan: prune runs: %w", err)
		}
		total += tag.RowsAffected()
	}
	if r.MaxCount > 0 {
		tag, err := s.pool.Exec(ctx, `DELETE FROM plan_runs WHERE status != $1 AND id NOT IN (
			SELECT id FROM plan_runs WHERE status != $1 ORDER BY started_at DESC, id DESC LIMIT $2)`, string(RunRunning), r.MaxCount)
		if err != nil {
			return 0, fmt.Errorf("plan: prune runs: %w", err)
		}
		total += tag.RowsAffected()
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM plan_idempotency WHERE expires_at > 0 AND expires_at <= $1`, s.now().UnixNano()); err != nil {
		return 0, fmt.Errorf("plan: prune idempotency results: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM plan_run_events WHERE run_id IN (
		SELECT id FROM plan_runs WHERE status != $1 AND finished_at > 0 AND finished_at < $2)`,
		string(RunRunning), s.now().Add(-keepEventsFor).UnixNano()); err != nil {
		return 0, fmt.Errorf("plan: prune run events: %w", err)
	}
	return int(total), nil
}

// Results implements RunStore: idempotency results shared by every replica.
func (s *PostgresStore) Results() Cache { return pgCache{s} }

type pgCache struct{ s *PostgresStore }

func (c pgCache) Get(ctx context.Context, key string) (json.RawMessage, bool, error) {
	var b []byte
	var exp int64
	err := c.s.pool.QueryRow(ctx, `SELECT value, expires_at FROM plan_idempotency WHERE key = $1`, key).Scan(&b, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("plan: idempotency result: %w", err)
	}
	if exp > 0 && exp <= c.s.now().UnixNano() {
		return nil, false, nil
	}
	return b, true, nil
}

func (c pgCache) Set(ctx context.Context, key string, value json.RawMessage, ttl time.Duration) error {
	var exp int64
	if ttl > 0 {
		exp = c.s.now().Add(ttl).UnixNano()
	}
	_, err := c.s.pool.Exec(ctx, `INSERT INTO plan_idempotency (key, value, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`, key, []byte(value), exp)
	if err != nil {
		return fmt.Errorf("plan: store idempotency result: %w", err)
	}
	return nil
}

// RequestCancel implements SharedRunStore.
func (s *PostgresStore) RequestCancel(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE plan_runs SET cancel_requested = true WHERE id = $1 AND status = $2`, id, string(RunRunning))
	if err != nil {
		return fmt.Errorf("plan: cancel run %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, pgCancelChannel, id); err != nil {
		return fmt.Errorf("plan: cancel run %s: %w", id, err)
	}
	return nil
}

// OnCancel implements SharedRunStore.
func (s *PostgresStore) OnCancel(f func(id string)) {
	s.mu.Lock()
	s.onCancel = f
	s.mu.Unlock()
}

// appendEvents stores events of a run and notifies its followers (within
// relayTimeout: a follower falls back to the run's record).
func (s *PostgresStore) appendEvents(ctx context.Context, runID string, evs []Event) error {
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	b := &pgx.Batch{}
	for _, e := range evs {
		raw, err := json.Marshal(e)
		if err != nil {
			continue
		}
		b.Queue(`INSERT INTO plan_run_events (run_id, event) VALUES ($1, $2)`, runID, raw)
	}
	b.Queue(`SELECT pg_notify($1, $2)`, pgEventsChannel, runID)
	return s.pool.SendBatch(ctx, b).Close()
}

// Relay implements SharedRunStore.
func (s *PostgresStore) Relay(runID string, done <-chan struct{}) func(Event) {
	var mu sync.Mutex
	var queue []Event
	wake := make(chan struct{}, 1)
	s.relays.Add(1)
	go func() {
		defer s.relays.Done()
		ctx := context.Background()
		for {
			mu.Lock()
			batch := queue
			queue = nil
			mu.Unlock()
			for i, e := range batch {
				if e.Type != EventRunFinished {
					continue
				}
				// Everything before run_finished now; run_finished once the
				// final record is saved.
				if i > 0 {
					_ = s.appendEvents(ctx, runID, batch[:i])
				}
				select {
				case <-done:
				case <-s.closing:
				}
				_ = s.appendEvents(ctx, runID, []Event{e})
				return
			}
			if len(batch) > 0 {
				_ = s.appendEvents(ctx, runID, batch)
				continue
			}
			select {
			case <-wake:
			case <-done:
				mu.Lock()
				n := len(queue)
				mu.Unlock()
				if n == 0 {
					return
				}
			case <-s.closing:
				return
			}
		}
	}()
	return func(e Event) {
		mu.Lock()
		queue = append(queue, e)
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// subscribe registers a follower of a run's notifications.
func (s *PostgresStore) subscribe(id string) chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.followers[id] == nil {
		s.followers[id] = map[chan struct{}]struct{}{}
	}
	s.followers[id][ch] = struct{}{}
	s.mu.Unlock()
	return ch
}

func (s *PostgresStore) unsubscribe(id string, ch chan struct{}) {
	s.mu.Lock()
	delete(s.followers[id], ch)
	if len(s.followers[id]) == 0 {
		delete(s.followers, id)
	}
	s.mu.Unlock()
}

// wake tells a run's followers that it has new events.
func (s *PostgresStore) wake(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.followers[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// eventsAfter reads a run's events after seq.
func (s *PostgresStore) eventsAfter(ctx context.Context, id string, after int64) ([]Event, int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, event FROM plan_run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq`, id, after)
	if err != nil {
		return nil, after, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var seq int64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return out, after, err
		}
		after = seq
		var e Event
		if json.Unmarshal(raw, &e) == nil {
			out = append(out, e)
		}
	}
	return out, after, rows.Err()
}

// Follow implements SharedRunStore.
func (s *PostgresStore) Follow(ctx context.Context, id string) <-chan Event {
	ch := make(chan Event, 64)
	go func() {
		defer close(ch)
		sig := s.subscribe(id)
		defer s.unsubscribe(id, sig)
		t := time.NewTicker(followPoll)
		defer t.Stop()
		var last int64
		var endedSeen time.Time // when the record was first seen ended
		send := func(evs []Event) (finished bool) {
			for _, e := range evs {
				select {
				case ch <- e:
				case <-ctx.Done():
					return true
				}
				if e.Type == EventRunFinished {
					return true
				}
			}
			return false
		}
		for {
			evs, next, err := s.eventsAfter(ctx, id, last)
			last = next
			if err == nil && send(evs) {
				return
			}
			if err == nil && len(evs) == 0 {
				if r := s.endedRecord(ctx, id, &endedSeen); r != nil {
					evs, _, err := s.eventsAfter(ctx, id, last)
					if err == nil && send(evs) {
						return
					}
					send([]Event{{Type: EventRunFinished, RunID: id, Time: r.Finished, Status: string(r.Status), Reason: r.Error}})
					return
				}
			}
			select {
			case <-sig:
			case <-t.C:
			case <-ctx.Done():
				return
			case <-s.closing:
				return
			}
		}
	}()
	return ch
}

// endedRecord is the record of a run that ended without a run_finished
// event reaching its followers (its events were pruned, or never
// relayed), or nil while one may still come. The owner saves the final
// record before its relay stores the last events, so a run its owner
// finished gets finishGrace (from *seen, when this follower first saw the
// record ended) for them; an interrupted run (its owner died) has no
// relay left.
func (s *PostgresStore) endedRecord(ctx context.Context, id string, seen *time.Time) *Run {
	r, err := s.getAny(ctx, id)
	if err != nil || r.Status == RunRunning {
		return nil
	}
	now := time.Now()
	if seen.IsZero() {
		*seen = now
	}
	if r.Status != RunInterrupted && now.Sub(*seen) < finishGrace && now.Sub(r.Finished) < finishGrace {
		return nil
	}
	return r
}

// getAny reads a run's record whoever owns it (for Follow, whose caller
// checked visibility).
func (s *PostgresStore) getAny(ctx context.Context, id string) (*Run, error) {
	return s.Get(engine.WithClient(ctx, ""), id)
}
