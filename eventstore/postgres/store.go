// Package postgres is the PostgreSQL event store, the default backend.
//
// The global order is (transaction id, sequence): every event stores the id
// of the transaction that appended it, and readers only return events of
// transactions older than the oldest one still running. A sequence alone
// would be assigned before commit, letting a reader pass an event that
// commits late and skip it for ever; a transaction id below that horizon can
// no longer commit, so nothing is ever skipped. It needs PostgreSQL 13 or
// later.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	pgadapter "github.com/annals-dev/annals/adapters/postgres"
	"github.com/annals-dev/annals/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// VersionTable is where the store's schema migrations are recorded.
const VersionTable = "annals_eventstore_migrations"

// notifyChannel is the LISTEN/NOTIFY channel appends signal on; the append
// function in the migrations names it too.
const notifyChannel = "annals_events"

//go:embed migrations/*.sql
var migrations embed.FS

// ErrClosed ends the subscriptions of a closed store.
var ErrClosed = errors.New("eventstore/postgres: store closed")

// Config tunes a Store. The zero value is valid: every field has a default.
type Config struct {
	// PollInterval is how often a live subscription reads the log without
	// being notified. Notifications arrive at commit, but an event may only
	// become readable later, when an unrelated older transaction ends, and
	// that sends no notification. Default 200ms.
	PollInterval time.Duration
	// BatchSize is how many events a subscription reads per query.
	// Default 512.
	BatchSize int
	// ReconnectDelay is the wait before the shared listening connection is
	// opened again after it failed; subscriptions keep polling meanwhile.
	// Default 1s.
	ReconnectDelay time.Duration
	// Logger reports failures of the listener and of notifications.
	// Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 512
	}
	if c.ReconnectDelay == 0 {
		c.ReconnectDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("PollInterval must be positive, got %v", c.PollInterval))
	}
	if c.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("BatchSize must be positive, got %d", c.BatchSize))
	}
	if c.ReconnectDelay <= 0 {
		errs = append(errs, fmt.Errorf("ReconnectDelay must be positive, got %v", c.ReconnectDelay))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("eventstore/postgres config: %w", err)
	}
	return nil
}

// Store is the PostgreSQL event store. Its pool is the caller's; Close stops
// what the store itself started: the shared listener, the notifier and the
// subscriptions.
type Store struct {
	pool     *pgxpool.Pool
	cfg      Config
	wake     *wakeup
	listener *listener
	notifier *notifier

	mu         sync.Mutex // guards closing against new goroutines
	closing    bool
	listenOnce sync.Once
	notifyOnce sync.Once
	running    sync.WaitGroup     // listener, notifier and subscriptions
	closed     context.Context    // done once Close is called
	close      context.CancelFunc // cancels closed
}

// New returns a store on pool. It does no I/O: Migrate creates the schema,
// the listener starts with the first subscription, the notifier with the
// first append.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("eventstore/postgres: nil pool")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	closed, closeFn := context.WithCancel(context.Background())
	wake := newWakeup()
	return &Store{
		pool:     pool,
		cfg:      cfg,
		wake:     wake,
		listener: &listener{pool: pool, cfg: cfg, wake: wake},
		notifier: &notifier{pool: pool, cfg: cfg, due: make(chan struct{}, 1)},
		closed:   closed,
		close:    closeFn,
	}, nil
}

// Migrate brings the store's schema up to date.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("eventstore/postgres migrations: %w", err)
	}
	return pgadapter.Migrate(ctx, s.pool, sub, VersionTable)
}

// Close stops the listener and the notifier and ends every subscription
// with ErrClosed, returning once they have stopped.
func (s *Store) Close() {
	s.mu.Lock()
	s.closing = true
	s.close()
	s.mu.Unlock()
	s.running.Wait()
}

// querier is what an append runs on: the pool, or the caller's transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Append implements eventstore.Store in one round trip. Subscriptions are
// told after the commit: this store's at once, other stores' through a
// notification sent in the background.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := appendTo(ctx, s.pool, stream, expected, events, false)
	if err == nil {
		s.wake.committed(res.Position)
		s.start(&s.notifyOnce, s.notifier.run)
		s.notifier.poke()
	}
	return res, err
}

// AppendTx appends inside the caller's transaction, so that other writes
// commit or fail with the events; subscribers are notified when tx commits.
// On an error tx is no longer usable. For a stream's events to keep their
// version order in the global log, the append should be tx's first write:
// the global order follows transaction ids, and a transaction takes its id
// at its first write.
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	return appendTo(ctx, tx, stream, expected, events, true)
}

// uniqueViolation is PostgreSQL's SQLSTATE for a unique index conflict.
const uniqueViolation = "23505"

const appendSQL = `SELECT result, stream_version, commit_position, prepare_position
FROM annals_events.append($1, $2, $3, $4, $5, $6, $7)`

func appendTo(ctx context.Context, q querier, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData, notify bool) (eventstore.AppendResult, error) {
	if len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: no events", stream)
	}
	if expected < eventstore.Any {
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: invalid expected version %d", stream, expected)
	}
	ids := make([]uuid.UUID, len(events))
	types := make([]string, len(events))
	data := make([][]byte, len(events))
	metadata := make([][]byte, len(events))
	for i, e := range events {
		ids[i], types[i], data[i], metadata[i] = e.ID, e.Type, e.Data, e.Metadata
	}

	var (
		result  string
		version *int64
		commit  *uint64
		prepare *int64
	)
	err := q.QueryRow(ctx, appendSQL, stream, int64(expected), ids, types, data, metadata, notify).
		Scan(&result, &version, &commit, &prepare)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) &&
		pgErr.Code == uniqueViolation && pgErr.ConstraintName == "events_event_id_key" {
		// A batch naming one id twice, or a race with another append of
		// the same ids to an other place.
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: %w", stream, eventstore.ErrDuplicateEvent)
	}
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: %w", stream, err)
	}
	switch result {
	case "appended", "replayed":
		return eventstore.AppendResult{
			NextExpectedVersion: *version,
			Position:            eventstore.Position{Commit: *commit, Prepare: uint64(*prepare)},
		}, nil
	case "wrong_version":
		return eventstore.AppendResult{}, &eventstore.WrongVersionError{Stream: stream, Expected: expected, Actual: *version}
	case "duplicate":
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: %w", stream, eventstore.ErrDuplicateEvent)
	default:
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: unexpected result %q", stream, result)
	}
}

const eventColumns = `xid, seq, event_id, stream_id, version, type, data, metadata, recorded_at`

// ReadStream implements eventstore.Store. A stream's committed events are
// read at once: its own order is its versions, with no global horizon.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	events, err := s.query(ctx, `SELECT `+eventColumns+` FROM annals_events.events
		WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`,
		stream, from, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("read stream %q: %w", stream, err)
	}
	return events, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	events, err := s.query(ctx, `SELECT `+eventColumns+` FROM annals_events.events
		WHERE (xid, seq) > ($1::xid8, $2)
		  AND xid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY xid, seq LIMIT $3`,
		from.Commit, int64(from.Prepare), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("read all after %v: %w", from, err)
	}
	return events, nil
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var (
		commit  uint64
		prepare int64
	)
	err := s.pool.QueryRow(ctx, `SELECT xid, seq FROM annals_events.events
		WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY xid DESC, seq DESC LIMIT 1`).Scan(&commit, &prepare)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return eventstore.Start, nil
	case err != nil:
		return eventstore.Position{}, fmt.Errorf("read head: %w", err)
	}
	return eventstore.Position{Commit: commit, Prepare: uint64(prepare)}, nil
}

func (s *Store) query(ctx context.Context, sql string, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (eventstore.RecordedEvent, error) {
		var (
			e       eventstore.RecordedEvent
			prepare int64
		)
		err := row.Scan(&e.Position.Commit, &prepare, &e.ID, &e.StreamID, &e.Version,
			&e.Type, &e.Data, &e.Metadata, &e.RecordedAt)
		e.Position.Prepare = uint64(prepare)
		return e, err
	})
}

// sqlLimit maps the port's limit convention (<= 0: everything) to LIMIT,
// where NULL means no limit.
func sqlLimit(limit int) *int {
	if limit <= 0 {
		return nil
	}
	return &limit
}
