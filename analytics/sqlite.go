package analytics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/weft-dev/weft/engine"
)

// SQLite tuning.
const (
	// sqliteQueue is how many events wait for the writer before Record
	// drops them (and counts them in Dropped).
	sqliteQueue = 8192
	// sqliteBatch is the most events written in one transaction.
	sqliteBatch = 512
	// sqliteFlushEvery is how long an event waits at most before it is written.
	sqliteFlushEvery = 250 * time.Millisecond
	// sqlitePruneEvery is how often records past the retention are deleted.
	sqlitePruneEvery = time.Hour
)

// sqliteSchema creates the tables. Calls are indexed by time only: the
// table and that index grow at their right edge, so a batch dirties a few
// pages.
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS calls (
	ts_ms       INTEGER NOT NULL,
	tool        TEXT    NOT NULL,
	server      TEXT    NOT NULL,
	caller      TEXT    NOT NULL,
	outcome     TEXT    NOT NULL,
	code        TEXT    NOT NULL,
	duration_us INTEGER NOT NULL,
	bytes       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls(ts_ms);
CREATE TABLE IF NOT EXISTS ratings (
	tool       TEXT    NOT NULL,
	client     TEXT    NOT NULL,
	rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
	comment    TEXT    NOT NULL,
	updated_ms INTEGER NOT NULL,
	PRIMARY KEY (tool, client)
);
`

// SQLite records every tool call in a local SQLite database, and the
// ratings clients give tools. Record never blocks: events are queued and
// written in batches by a background writer (when the queue is full they
// are dropped and counted, as are the events of a batch the database
// refuses). It implements engine.Recorder.
type SQLite struct {
	db        *sql.DB
	path      string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	// inserts[i] inserts insertRows[i] calls in one statement, prepared
	// once (database/sql prepares it again on each pooled connection a
	// transaction uses, once).
	inserts [len(insertRows)]*sql.Stmt
	args    []any // the writer's statement arguments, reused

	queue   chan engine.Event
	flush   chan chan struct{}
	quit    chan struct{}
	done    chan struct{}
	dropped atomic.Int64
	closed  sync.Once
}

// SQLiteOptions configure OpenSQLite.
type SQLiteOptions struct {
	// Retention is how long call records are kept (default 30 days).
	Retention time.Duration
	// Logger receives write failures (discarded if nil).
	Logger *slog.Logger
}

// OpenSQLite opens (creating if needed) the analytics database at path,
// deletes call records past the retention and starts the writer.
func OpenSQLite(ctx context.Context, path string, o SQLiteOptions) (*SQLite, error) {
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("analytics: open database %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("analytics: open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("analytics: open database %s: %w", path, err)
	}
	// Databases of earlier versions index calls by (tool, duration) too:
	// inserts into that index land at random pages and cost a page write
	// per call, many times the rest of the insert (Stats groups the calls
	// by tool itself). Dropping it needs a write: on a full disk the
	// database opens with it, as it did before.
	if _, err := db.ExecContext(ctx, `DROP INDEX IF EXISTS calls_tool`); err != nil {
		o.Logger.Warn("analytics: drop the calls index by tool", "path", path, "err", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("analytics: open database %s: %w", path, err)
	}
	s := &SQLite{db: db, path: path, retention: o.Retention, log: o.Logger, now: time.Now,
		args:  make([]any, 0, insertRows[0]*insertColumns),
		queue: make(chan engine.Event, sqliteQueue), flush: make(chan chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{})}
	for i, rows := range insertRows {
		if s.inserts[i], err = db.PrepareContext(ctx, insertSQL(rows)); err != nil {
			s.closeDB()
			return nil, fmt.Errorf("analytics: open database %s: %w", path, err)
		}
	}
	if err := s.prune(ctx); err != nil {
		s.closeDB()
		return nil, err
	}
	go s.write()
	return s, nil
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Record implements engine.Recorder: it queues the event without waiting.
func (s *SQLite) Record(e engine.Event) {
	select {
	case s.queue <- e:
	default:
		s.dropped.Add(1)
	}
}

// Dropped is the number of events not written: dropped because the writer
// fell behind, or lost with a batch the database refused.
func (s *SQLite) Dropped() int64 { return s.dropped.Load() }

// Flush waits until every event recorded before the call is written (or
// ctx ends).
func (s *SQLite) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case s.flush <- ack:
	case <-s.done:
		return errors.New("analytics: database closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes the queued events and closes the database.
func (s *SQLite) Close() error {
	s.closed.Do(func() { close(s.quit) })
	<-s.done
	return s.closeDB()
}

// closeDB closes the prepared statements and the database.
func (s *SQLite) closeDB() error {
	for _, st := range s.inserts {
		if st != nil {
			st.Close()
		}
	}
	return s.db.Close()
}

// write is the writer goroutine.
func (s *SQLite) write() {
	defer close(s.done)
	tick := time.NewTicker(sqliteFlushEvery)
	defer tick.Stop()
	prune := time.NewTicker(sqlitePruneEvery)
	defer prune.Stop()
	batch := make([]engine.Event, 0, sqliteBatch)
	drain := func() {
		for len(batch) < sqliteBatch {
			select {
			case e := <-s.queue:
				batch = append(batch, e)
			default:
				return
			}
		}
	}
	commit := func() {
		for {
			drain()
			if len(batch) == 0 {
				return
			}
			if err := s.insert(batch); err != nil {
				s.dropped.Add(int64(len(batch)))
				s.log.Warn("analytics: write call records", "path", s.path, "events", len(batch), "err", err)
			}
			batch = batch[:0]
		}
	}
	for {
		select {
		case e := <-s.queue:
			batch = append(batch, e)
			if len(batch) >= sqliteBatch {
				commit()
			}
		case <-tick.C:
			commit()
		case ack := <-s.flush:
			commit()
			close(ack)
		case <-prune.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.prune(ctx); err != nil {
				s.log.Warn("analytics: prune", "path", s.path, "err", err)
			}
			cancel()
		case <-s.quit:
			commit()
			return
		}
	}
}

// insertRows are the row counts of the prepared INSERT statements, largest
// first: a batch is written in as few statements as these sizes allow
// (each statement costs a bind and a step per value plus a fixed part; the
// fixed part is what many rows share).
var insertRows = [...]int{64, 8, 1}

// insertColumns is the number of values per call row.
const insertColumns = 8

// insertSQL is the INSERT of rows calls.
func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO calls (ts_ms, tool, server, caller, outcome, code, duration_us, bytes) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// insert writes batch in one transaction: all of it or none.
func (s *SQLite) insert(batch []engine.Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	defer clear(s.args[:cap(s.args)]) // keep no event's strings alive
	for i, rows := range insertRows {
		if len(batch) < rows {
			continue
		}
		st := tx.StmtContext(ctx, s.inserts[i])
		for ; len(batch) >= rows; batch = batch[rows:] {
			args := s.args[:0]
			for j := range batch[:rows] {
				args = s.appendCall(args, &batch[j])
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// appendCall appends the insertColumns values of e's row.
func (s *SQLite) appendCall(args []any, e *engine.Event) []any {
	ts := e.Start
	if ts.IsZero() {
		ts = s.now()
	}
	return append(args, ts.UnixMilli(), e.Tool, e.Server, e.Caller, string(e.Outcome), string(e.Code),
		e.Duration.Microseconds(), int64(e.Bytes))
}

// prune deletes call records older than the retention.
func (s *SQLite) prune(ctx context.Context) error {
	cut := s.now().Add(-s.retention).UnixMilli()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM calls WHERE ts_ms < ?`, cut); err != nil {
		return fmt.Errorf("analytics: prune %s: %w", s.path, err)
	}
	return nil
}

// MaxReplay bounds the calls Replay reads: the most recent ones.
const MaxReplay = 200_000

// Replay calls fn with the calls recorded since since (the most recent
// MaxReplay of them), oldest first.
func (s *SQLite) Replay(ctx context.Context, since time.Time, fn func(engine.Event)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM (SELECT ts_ms, tool, server, caller, outcome, code, duration_us, bytes FROM calls
		WHERE ts_ms >= ? ORDER BY ts_ms DESC LIMIT ?) ORDER BY ts_ms`, since.UnixMilli(), MaxReplay)
	if err != nil {
		return fmt.Errorf("analytics: read %s: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e engine.Event
		var ts, us int64
		var outcome, code string
		if err := rows.Scan(&ts, &e.Tool, &e.Server, &e.Caller, &outcome, &code, &us, &e.Bytes); err != nil {
			return fmt.Errorf("analytics: read %s: %w", s.path, err)
		}
		e.Start, e.Duration = time.UnixMilli(ts), time.Duration(us)*time.Microsecond
		e.Outcome, e.Code = engine.Outcome(outcome), engine.Code(code)
		fn(e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("analytics: read %s: %w", s.path, err)
	}
	return nil
}

// Rating is one client's rating of a tool.
type Rating struct {
	Tool    string    `json:"tool"`
	Client  string    `json:"client"`
	Rating  int       `json:"rating"`
	Comment string    `json:"comment,omitempty"`
	Updated time.Time `json:"updated"`
}

// MaxCommentBytes bounds a rating's comment.
const MaxCommentBytes = 2000

// Rate stores r, replacing the client's earlier rating of the tool, and
// returns the tool's ratings summary after it.
func (s *SQLite) Rate(ctx context.Context, r Rating) (RatingSummary, error) {
	if r.Rating < 1 || r.Rating > 5 {
		return RatingSummary{}, fmt.Errorf("analytics: rating %d: must be 1 to 5", r.Rating)
	}
	if len(r.Comment) > MaxCommentBytes {
		return RatingSummary{}, fmt.Errorf("analytics: comment of %d bytes: at most %d", len(r.Comment), MaxCommentBytes)
	}
	if r.Updated.IsZero() {
		r.Updated = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ratings (tool, client, rating, comment, updated_ms) VALUES (?,?,?,?,?)
		ON CONFLICT (tool, client) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, updated_ms = excluded.updated_ms`,
		r.Tool, r.Client, r.Rating, r.Comment, r.Updated.UnixMilli())
	if err != nil {
		return RatingSummary{}, fmt.Errorf("analytics: store rating of %s: %w", r.Tool, err)
	}
	all, err := s.RatingSummaries(ctx, r.Tool)
	if err != nil {
		return RatingSummary{}, err
	}
	return all[r.Tool], nil
}

// RatingSummary is the ratings of one tool.
type RatingSummary struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
}

// RatingSummaries returns the ratings of every tool (only of tool when
// it is not empty).
func (s *SQLite) RatingSummaries(ctx context.Context, tool string) (map[string]RatingSummary, error) {
	q := `SELECT tool, COUNT(*), AVG(rating) FROM ratings`
	var args []any
	if tool != "" {
		q += ` WHERE tool = ?`
		args = append(args, tool)
	}
	rows, err := s.db.QueryContext(ctx, q+` GROUP BY tool`, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: read ratings: %w", err)
	}
	defer rows.Close()
	out := map[string]RatingSummary{}
	for rows.Next() {
		var name string
		var r RatingSummary
		if err := rows.Scan(&name, &r.Count, &r.Mean); err != nil {
			return nil, fmt.Errorf("analytics: read ratings: %w", err)
		}
		out[name] = r
	}
	return out, rows.Err()
}

// ToolStats are the recorded calls of one tool.
type ToolStats struct {
	Tool   string `json:"tool"`
	Server string `json:"server"`
	Calls  int64  `json:"calls"`
	// Failures are calls whose outcome was not ok.
	Failures    int64   `json:"failures"`
	FailureRate float64 `json:"failure_rate"`
	P50MS       float64 `json:"p50_ms"`
	P95MS       float64 `json:"p95_ms"`
	// Ratings and RatingMean summarise the tool's ratings.
	Ratings    int     `json:"ratings"`
	RatingMean float64 `json:"rating_mean,omitempty"`
}

// Stats returns per-tool figures over the calls recorded since since (zero:
// all kept), sorted by tool name. Calls that matched no tool are left out.
// Tools rated but never called are included with zero calls. A tool's
// server is that of its fastest call.
//
// The calls are read in storage order and grouped here (no index orders
// them by tool): the text columns are scanned into reused buffers, so a
// row costs no allocation, and each tool's durations are sorted once.
func (s *SQLite) Stats(ctx context.Context, since time.Time) ([]ToolStats, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tool, server, outcome = ?, duration_us FROM calls
		WHERE tool != '' AND ts_ms >= ?`, string(engine.OutcomeOK), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("analytics: read %s: %w", s.path, err)
	}
	defer rows.Close()
	type calls struct {
		stats   ToolStats
		fastest int64
		durs    []int64
	}
	byTool := map[string]*calls{}
	var tool, server sql.RawBytes
	var cur *calls
	for rows.Next() {
		var ok bool
		var us int64
		if err := rows.Scan(&tool, &server, &ok, &us); err != nil {
			return nil, fmt.Errorf("analytics: read %s: %w", s.path, err)
		}
		if cur == nil || cur.stats.Tool != string(tool) {
			if cur = byTool[string(tool)]; cur == nil {
				cur = &calls{stats: ToolStats{Tool: string(tool), Server: string(server)}, fastest: us}
				byTool[cur.stats.Tool] = cur
			}
		}
		if us < cur.fastest {
			cur.fastest, cur.stats.Server = us, string(server)
		}
		cur.stats.Calls++
		if !ok {
			cur.stats.Failures++
		}
		cur.durs = append(cur.durs, us)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: read %s: %w", s.path, err)
	}
	rows.Close()
	ratings, err := s.RatingSummaries(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]ToolStats, 0, len(byTool)+len(ratings))
	for _, c := range byTool {
		slices.Sort(c.durs)
		c.stats.P50MS = percentile(c.durs, 0.50)
		c.stats.P95MS = percentile(c.durs, 0.95)
		c.stats.FailureRate = float64(c.stats.Failures) / float64(c.stats.Calls)
		if r, ok := ratings[c.stats.Tool]; ok {
			c.stats.Ratings, c.stats.RatingMean = r.Count, r.Mean
		}
		out = append(out, c.stats)
	}
	for tool, r := range ratings {
		if byTool[tool] == nil {
			out = append(out, ToolStats{Tool: tool, Ratings: r.Count, RatingMean: r.Mean})
		}
	}
	slices.SortFunc(out, func(a, b ToolStats) int { return strings.Compare(a.Tool, b.Tool) })
	return out, nil
}

// percentile is the nearest-rank percentile of sorted microsecond
// durations, in milliseconds.
func percentile(sorted []int64, p float64) float64 {
	i := int(p*float64(len(sorted))+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / 1000
}
