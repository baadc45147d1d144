package projections

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/eventstore"
)

const (
	// recordStreamVersionSQL moves a stream's applied version forward; 0
	// rows means the event was applied before. Its parameters are typed
	// because the INSERT … SELECT does not give them a type.
	recordStreamVersionSQL = `
INSERT INTO annals_projections.stream_versions AS s
    (name, version, stream, stream_version, position_commit, position_prepare)
VALUES ($1::text, $2::integer, $3::text, $4::bigint, $5::bigint, $6::bigint)
ON CONFLICT (name, version, stream) DO UPDATE
SET stream_version = EXCLUDED.stream_version,
    position_commit = EXCLUDED.position_commit, position_prepare = EXCLUDED.position_prepare
WHERE s.stream_version < EXCLUDED.stream_version`

	readStreamVersionsSQL = `
SELECT stream, stream_version FROM annals_projections.stream_versions
WHERE name = $1 AND version = $2 AND stream = ANY($3)`

	// readStreamedUntilSQL finds, per projector version, the last event a
	// stream-ordered run applied.
	readStreamedUntilSQL = `
SELECT DISTINCT ON (name, version) name, version, position_commit, position_prepare
FROM annals_projections.stream_versions
ORDER BY name, version, position_commit DESC, position_prepare DESC`

	// scanBatch is how many events one read of the log takes while
	// checking what a projector applied.
	scanBatch = 500
)

// endOfLog is a position after every event.
var endOfLog = eventstore.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}

// recordStreamVersion records rec as the last event of its stream p
// applied; it reports false when p had applied rec, or a later event of its
// stream, already.
func recordStreamVersion(ctx context.Context, q querier, p Projector, rec eventstore.RecordedEvent) (bool, error) {
	if rec.Position.Commit > math.MaxInt64 || rec.Position.Prepare > math.MaxInt64 {
		return false, fmt.Errorf("record %s@%d for %s: position %s does not fit bigint columns", rec.StreamID, rec.Version, p.Name(), rec.Position)
	}
	tag, err := q.Exec(ctx, recordStreamVersionSQL, p.Name(), p.Version(), rec.StreamID, rec.Version,
		int64(rec.Position.Commit), int64(rec.Position.Prepare))
	if err != nil {
		return false, fmt.Errorf("record %s@%d for %s: %w", rec.StreamID, rec.Version, p.Name(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// streamVersions returns the last version p applied of each of streams
// that it applied anything of.
func streamVersions(ctx context.Context, q querier, p Projector, streams []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(streams) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, readStreamVersionsSQL, p.Name(), p.Version(), streams)
	if err != nil {
		return nil, fmt.Errorf("read stream versions of %s: %w", p.Name(), err)
	}
	var (
		stream  string
		version int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&stream, &version}, func() error {
		out[stream] = version
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read stream versions of %s: %w", p.Name(), err)
	}
	return out, nil
}

// readStreamedUntil returns, for each projector version fed by stream at
// some point, the position of the last event it applied that way.
func readStreamedUntil(ctx context.Context, q querier) (map[checkpointKey]eventstore.Position, error) {
	rows, err := q.Query(ctx, readStreamedUntilSQL)
	if err != nil {
		return nil, fmt.Errorf("read stream versions: %w", err)
	}
	out := map[checkpointKey]eventstore.Position{}
	var (
		k     checkpointKey
		c, pr int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.name, &k.version, &c, &pr}, func() error {
		out[k] = eventstore.Position{Commit: uint64(c), Prepare: uint64(pr)}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read stream versions: %w", err)
	}
	return out, nil
}

// appliedThrough walks the log after from for as long as p has applied
// every event it wants there, up to until and at most LagScanLimit events.
// An event counts as applied when its stream's recorded version reaches it:
// those are the events a stream-ordered run applied beyond its checkpoint
// (a log-ordered run records none, and its checkpoint already covers what it
// applied). It returns the last position passed, and whether the walk got to
// until: when it did, p's read model includes every event up to until.
func (r *Runtime) appliedThrough(ctx context.Context, p Projector, from, until eventstore.Position) (eventstore.Position, bool, error) {
	through := from
	for read := 0; read < r.cfg.LagScanLimit; {
		limit := min(scanBatch, r.cfg.LagScanLimit-read)
		batch, err := r.cfg.Store.ReadAll(ctx, through, limit)
		if err != nil {
			return through, false, fmt.Errorf("read log after %s: %w", through, err)
		}
		if len(batch) == 0 {
			return through, false, nil // the log does not show until yet
		}
		read += len(batch)
		var wanted []string
		for _, e := range batch {
			if wants(p, e) {
				wanted = append(wanted, e.StreamID)
			}
		}
		applied, err := streamVersions(ctx, r.cfg.Pool, p, wanted)
		if err != nil {
			return through, false, err
		}
		for _, e := range batch {
			if until.Less(e.Position) {
				return through, true, nil
			}
			if v, ok := applied[e.StreamID]; wants(p, e) && (!ok || v < e.Version) {
				return through, false, nil
			}
			through = e.Position
			if through == until {
				return through, true, nil
			}
		}
		if len(batch) < limit {
			return through, false, nil
		}
	}
	return through, false, nil
}

// advanceWatermarks moves the checkpoint of each stream-fed projector over
// the events it has applied without a gap. Workers apply their partitions
// at their own pace, so the checkpoint can only trail them: it bounds the
// walks of waiters, and is where a restart skips what it covers. Every
// worker moves it; the update only ever goes forward.
func (r *Runtime) advanceWatermarks(ctx context.Context, projections []*projection) error {
	stored, err := readCheckpoints(ctx, r.cfg.Pool)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range projections {
		saved := stored[keyOf(p)]
		from := later(p.snapshot().pos, saved)
		through, _, err := r.appliedThrough(ctx, p, from, endOfLog)
		if err != nil {
			errs = append(errs, err)
		}
		if saved.Less(through) {
			if _, err := advanceCheckpoint(ctx, r.cfg.Pool, p, through); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		p.watermark(through)
	}
	return errors.Join(errs...)
}

// later returns the later of two positions.
func later(a, b eventstore.Position) eventstore.Position {
	if a.Less(b) {
		return b
	}
	return a
}
