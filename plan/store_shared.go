package plan

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// RunStore keeps run records and the results of steps with an
// idempotency key. *Store (a SQLite file, the default) and *PostgresStore
// (a database several replicas share) implement it; OpenRunStore picks one
// from a location.
//
// Every store gives a running run a lease: the record names the replica
// running it (StoreOptions.Replica) and when its lease expires. The store
// renews the leases of the runs its replica saved as running, every third
// of the lease, until their final record is saved; a store (of any
// replica) marks a run interrupted only once its lease expired — its
// replica stopped renewing: it died or lost the database — when it opens
// and on Prune. A live run of another replica is never touched.
type RunStore interface {
	RunRecorder
	// Get returns a run's record (ErrNotFound also for another client's run: see Visible).
	Get(ctx context.Context, id string) (*Run, error)
	// List returns the runs the client on ctx may see, newest first.
	List(ctx context.Context, o ListOptions) ([]RunSummary, error)
	// Prune applies a retention, marks runs whose lease expired
	// interrupted and drops expired idempotency results.
	Prune(ctx context.Context, r Retention) (int, error)
	// Results is the store as a Cache of idempotency results.
	Results() Cache
	// Close stops renewing leases and closes the store. Runs still saved
	// as running keep their record until their lease expires.
	Close() error
}

// SharedRunStore is a RunStore several replicas share: a run started
// through one replica can be followed and canceled through any other.
// *PostgresStore implements it (LISTEN/NOTIFY).
type SharedRunStore interface {
	RunStore
	// Replica is the id of the replica this store speaks for.
	Replica() string
	// RequestCancel asks the replica running run id to cancel it (the
	// caller checked the run is visible to its client). It fails with
	// ErrNotFound when no running run has that id.
	RequestCancel(ctx context.Context, id string) error
	// OnCancel sets the function called with the id of every run some
	// replica asked to cancel; it is called for the runs of every replica,
	// and must ignore the ids it does not run. Set it before starting runs.
	OnCancel(func(id string))
	// Relay returns an OnEvent function that publishes the events of a
	// run this replica runs to every replica (for Follow). The
	// run_finished event is held back until done is closed (the run's
	// final record is saved), so a follower that saw it reads the final
	// record; once done is closed, the relay ends after its last event.
	Relay(runID string, done <-chan struct{}) func(Event)
	// Follow streams the events of a run (the caller checked it is visible
	// to its client): every event so far, then live ones, until
	// run_finished. A run whose replica died ends with a run_finished
	// event carrying status interrupted once its lease expired. The
	// channel is closed after run_finished or when ctx is done.
	Follow(ctx context.Context, id string) <-chan Event
}

// StoreOptions configure a run store.
type StoreOptions struct {
	// Replica names the process running runs (default: DefaultReplicaID).
	Replica string
	// Lease is how long a running run's record stays owned by its replica
	// without a renewal (0: StaleAfter). Leases are renewed every Lease/3.
	Lease time.Duration

	now func() time.Time // the clock (tests)
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.now == nil {
		o.now = time.Now
	}
	if o.Replica == "" {
		o.Replica = DefaultReplicaID()
	}
	if o.Lease <= 0 {
		o.Lease = StaleAfter
	}
	return o
}

// DefaultReplicaID is a replica id unique to this process:
// hostname-pid-random.
func DefaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "weft"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strings.ReplaceAll(uuid.NewString(), "-", "")[:8])
}

// IsPostgresURL reports whether a run store location names a PostgreSQL
// database (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
}

// OpenRunStore opens the run store at location: a PostgreSQL URL
// (OpenPostgresStore) or the path of a SQLite file (OpenStoreWith).
func OpenRunStore(ctx context.Context, location string, o StoreOptions) (RunStore, error) {
	if IsPostgresURL(location) {
		return OpenPostgresStore(ctx, location, o)
	}
	return OpenStoreWith(ctx, location, o)
}

// leases tracks the runs a store saved as running and renews their
// leases every lease/3 until their final record is saved or the store
// closes.
type leases struct {
	every time.Duration
	renew func(ctx context.Context, ids []string) // renews the given runs' leases
	reap  func(ctx context.Context)               // marks runs whose lease expired interrupted (nil: never)

	mu      sync.Mutex
	running map[string]bool
	quit    chan struct{}
	done    chan struct{}
}

func newLeases(lease time.Duration, renew func(ctx context.Context, ids []string), reap func(ctx context.Context)) *leases {
	l := &leases{every: max(lease/3, time.Millisecond), renew: renew, reap: reap, running: map[string]bool{},
		quit: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

// saved notes the status a run was saved with.
func (l *leases) saved(id string, status RunStatus) {
	l.mu.Lock()
	if status == RunRunning {
		l.running[id] = true
	} else {
		delete(l.running, id)
	}
	l.mu.Unlock()
}

func (l *leases) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]string, 0, len(l.running))
	for id := range l.running {
		ids = append(ids, id)
	}
	return ids
}

func (l *leases) loop() {
	defer close(l.done)
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(l.every, time.Second))
		if ids := l.ids(); len(ids) > 0 {
			l.renew(ctx, ids)
		}
		l.mu.Lock()
		reap := l.reap
		l.mu.Unlock()
		if reap != nil {
			reap(ctx)
		}
		cancel()
	}
}

// stop ends the renewals (the store is closing, or its replica "dies").
func (l *leases) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.done
}
