package relay

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres"
	"github.com/annals-dev/annals/eventstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable keeps the relay's own migration versions.
const versionTable = "annals_kafka_relay_version"

// Migrate brings the relay's checkpoint table up to date. Run does it too.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("kafka relay migrations: %w", err)
	}
	return postgres.Migrate(ctx, db, migrations, versionTable)
}

const (
	// The lock key is derived from the relay's name, so differently named
	// relays run side by side.
	lockSQL = `SELECT pg_advisory_lock(hashtextextended('annals.kafka.relay:' || $1, 0))`

	loadCheckpointSQL = `
SELECT position_commit, position_prepare FROM annals_kafka_relay.checkpoints WHERE name = $1`

	saveCheckpointSQL = `
INSERT INTO annals_kafka_relay.checkpoints (name, position_commit, position_prepare) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE
SET position_commit = EXCLUDED.position_commit, position_prepare = EXCLUDED.position_prepare, updated_at = now()`
)

// session is the dedicated connection that holds the relay's advisory lock.
// Checkpoints are written through it alone: a write succeeds only while the
// session, and so the lock, is alive, which keeps a relay that lost its lock
// from moving the checkpoint.
type session struct {
	conn *pgx.Conn
	name string
}

// openSession connects outside the pool, which must never get a connection
// back with the lock held. Cancelling a call sends the server a cancel
// request rather than dropping the socket, so that a relay that stops
// waiting for the lock leaves no waiter behind on the server.
func openSession(ctx context.Context, db *pgxpool.Pool, name string) (*session, error) {
	config := db.Config().ConnConfig.Copy()
	config.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	config.RuntimeParams["application_name"] = "annals kafka relay " + name
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("kafka relay %s: connect lock session: %w", name, err)
	}
	return &session{conn: conn, name: name}, nil
}

// lock waits until this session holds the relay's lock.
func (s *session) lock(ctx context.Context) error {
	if _, err := s.conn.Exec(ctx, lockSQL, s.name); err != nil {
		return fmt.Errorf("kafka relay %s: wait for lock: %w", s.name, err)
	}
	return nil
}

// alive checks that the session, and so the lock, still stands.
func (s *session) alive(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("kafka relay %s: lock session lost: %w", s.name, err)
	}
	return nil
}

// checkpoint is where the relay resumes: Start when it never saved one.
func (s *session) checkpoint(ctx context.Context) (eventstore.Position, error) {
	return loadCheckpoint(ctx, s.conn, s.name)
}

// loadCheckpoint reads the relay's stored checkpoint, Start when it never
// saved one.
func loadCheckpoint(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, name string) (eventstore.Position, error) {
	var commit, prepare int64
	err := q.QueryRow(ctx, loadCheckpointSQL, name).Scan(&commit, &prepare)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("kafka relay %s: load checkpoint: %w", name, err)
	}
	return eventstore.Position{Commit: uint64(commit), Prepare: uint64(prepare)}, nil
}

// save records that every event up to pos is in Kafka.
func (s *session) save(ctx context.Context, pos eventstore.Position) error {
	if pos.Commit > math.MaxInt64 || pos.Prepare > math.MaxInt64 {
		return fmt.Errorf("kafka relay %s: position %s does not fit the checkpoint columns", s.name, pos)
	}
	if _, err := s.conn.Exec(ctx, saveCheckpointSQL, s.name, int64(pos.Commit), int64(pos.Prepare)); err != nil {
		return fmt.Errorf("kafka relay %s: save checkpoint %s: %w", s.name, pos, err)
	}
	return nil
}

// close ends the session, which releases the lock.
func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.conn.Close(ctx) // the socket is gone either way, and with it the lock
}
