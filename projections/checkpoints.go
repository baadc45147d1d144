package projections

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/annals-dev/annals/eventstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable keeps the runtime's own migration versions.
const versionTable = "annals_projections_version"

func migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

// querier is what checkpoint statements run on: the pool, or the
// transaction that applies an event.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const (
	// ensureCheckpointSQL also records the schema the projector writes,
	// which may have been set after its checkpoint was made.
	ensureCheckpointSQL = `
INSERT INTO annals_projections.checkpoints AS c (name, version, schema_name) VALUES ($1, $2, NULLIF($3, ''))
ON CONFLICT (name, version) DO UPDATE SET schema_name = EXCLUDED.schema_name
WHERE c.schema_name IS DISTINCT FROM EXCLUDED.schema_name`

	readCheckpointsSQL = `
SELECT name, version, position_commit, position_prepare FROM annals_projections.checkpoints`

	// advanceCheckpointSQL moves a checkpoint to ($5, $6) if it is before
	// ($3, $4), so only forward. Run first in a transaction applying the
	// events from ($3, $4) to ($5, $6), it also locks the row, so two
	// processes running the same projector serialise and the later one sees
	// 0 rows: events among them are already applied.
	advanceCheckpointSQL = `
UPDATE annals_projections.checkpoints
SET position_commit = $5, position_prepare = $6, updated_at = now()
WHERE name = $1 AND version = $2 AND (position_commit, position_prepare) < ($3, $4)`
)

// checkpointKey identifies a checkpoint: one per projector version.
type checkpointKey struct {
	name    string
	version int
}

func keyOf(p Projector) checkpointKey { return checkpointKey{p.Name(), p.Version()} }

// ensureCheckpoint creates a projector's checkpoint at the start of the log
// if it has none.
func ensureCheckpoint(ctx context.Context, q querier, p *projection) error {
	if _, err := q.Exec(ctx, ensureCheckpointSQL, p.Name(), p.Version(), p.target); err != nil {
		return fmt.Errorf("create checkpoint of %s: %w", p.Name(), err)
	}
	return nil
}

// readCheckpoints returns every stored checkpoint.
func readCheckpoints(ctx context.Context, q querier) (map[checkpointKey]eventstore.Position, error) {
	rows, err := q.Query(ctx, readCheckpointsSQL)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	out := map[checkpointKey]eventstore.Position{}
	var (
		k     checkpointKey
		c, pr int64
	)
	_, err = pgx.ForEachRow(rows, []any{&k.name, &k.version, &c, &pr}, func() error {
		out[k] = eventstore.Position{Commit: uint64(c), Prepare: uint64(pr)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return out, nil
}

// advanceCheckpoint moves a projector's checkpoint to pos; it reports false
// when the checkpoint already was at or past pos.
func advanceCheckpoint(ctx context.Context, q querier, p Projector, pos eventstore.Position) (bool, error) {
	return advanceCheckpointOver(ctx, q, p, pos, pos)
}

// advanceCheckpointOver moves a projector's checkpoint to to, over the
// events from first on; it reports false when the checkpoint already was at
// or past first.
func advanceCheckpointOver(ctx context.Context, q querier, p Projector, first, to eventstore.Position) (bool, error) {
	for _, pos := range []eventstore.Position{first, to} {
		if pos.Commit > math.MaxInt64 || pos.Prepare > math.MaxInt64 {
			return false, fmt.Errorf("advance checkpoint of %s: position %s does not fit bigint columns", p.Name(), pos)
		}
	}
	tag, err := q.Exec(ctx, advanceCheckpointSQL, p.Name(), p.Version(),
		int64(first.Commit), int64(first.Prepare), int64(to.Commit), int64(to.Prepare))
	if err != nil {
		return false, fmt.Errorf("advance checkpoint of %s to %s: %w", p.Name(), to, err)
	}
	return tag.RowsAffected() == 1, nil
}
