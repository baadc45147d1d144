package projections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/annals-dev/annals/eventstore"
)

const (
	parkSQL = `
INSERT INTO annals_projections.parked
    (name, version, rebuilding, event_id, stream, stream_version, position_commit, position_prepare, event_type, error, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (name, version, rebuilding, event_id) DO UPDATE
SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, parked_at = now()`

	readParkedSQL = `
SELECT event_id, stream, stream_version FROM annals_projections.parked
WHERE name = $1 AND version = $2 AND NOT rebuilding
ORDER BY position_commit, position_prepare`

	unparkSQL = `
DELETE FROM annals_projections.parked WHERE name = $1 AND version = $2 AND NOT rebuilding AND event_id = $3`

	stillFailingSQL = `
UPDATE annals_projections.parked SET error = $4, attempts = attempts + 1, retried_at = now()
WHERE name = $1 AND version = $2 AND NOT rebuilding AND event_id = $3`
)

// systemic reports a failure that is not the event's doing, so that it
// never parks one: the database went away, was busy or refused for now
// (retrying later can succeed), or the deployment is wrong — a table,
// column or schema missing, a privilege lacking, SQL a projector got
// wrong — and every event would fail alike until it is fixed: parking
// them all would only hide it.
func systemic(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) {
		return true
	}
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		// connection, invalid schema name, transaction rollback
		// (serialization, deadlock), syntax or undefined object or
		// privilege, resources, object in use (lock timeout), operator
		// intervention, system and internal errors
		case "08", "3F", "40", "42", "53", "55", "57", "58", "XX":
			return true
		}
		return false
	}
	return errors.As(err, &connErr) || errors.As(err, &netErr)
}

// park records that p gave up on rec after attempts failures, and moves p
// past it, in one transaction.
func (r *Runtime) park(ctx context.Context, p *projection, o order, rec eventstore.RecordedEvent, cause error, attempts int) error {
	tx, err := r.cfg.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("park: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after commit
	admitted, err := o.admit(ctx, tx, p, []eventstore.RecordedEvent{rec})
	if err != nil {
		return fmt.Errorf("park: %w", err)
	}
	if admitted {
		if err := insertParked(ctx, tx, p, rec, false, cause, attempts); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("park: commit: %w", err)
	}
	o.processed(p, rec, admitted)
	if admitted {
		r.metrics.parked.WithLabelValues(p.Name()).Inc()
		r.cfg.Logger.Warn("projections: event parked after repeated failures; `annals projections retry` applies it again",
			"projector", p.Name(), "event_id", rec.ID, "type", rec.Type, "position", rec.Position.String(),
			"attempts", attempts, "error", cause)
	}
	return nil
}

// insertParked records rec as parked by p; rebuilding marks what a rebuild
// parked in its shadow schema.
func insertParked(ctx context.Context, q querier, p Projector, rec eventstore.RecordedEvent, rebuilding bool, cause error, attempts int) error {
	if rec.Position.Commit > math.MaxInt64 || rec.Position.Prepare > math.MaxInt64 {
		return fmt.Errorf("park %s for %s: position %s does not fit bigint columns", rec.ID, p.Name(), rec.Position)
	}
	_, err := q.Exec(ctx, parkSQL, p.Name(), p.Version(), rebuilding, rec.ID, rec.StreamID, rec.Version,
		int64(rec.Position.Commit), int64(rec.Position.Prepare), rec.Type, cause.Error(), attempts)
	if err != nil {
		return fmt.Errorf("park %s for %s: %w", rec.ID, p.Name(), err)
	}
	return nil
}

// RetryResult counts what a Retry did.
type RetryResult struct {
	// Applied went through and are no longer parked; Failed failed again
	// and stay parked with their new error.
	Applied, Failed int
}

// Retry applies again, in log order, the events parked by the projector
// named name — or by every projector of the schema so named — for its
// current version. The projector has moved past them, so each is applied
// out of its original order, in a transaction of its own.
func (r *Runtime) Retry(ctx context.Context, name string) (RetryResult, error) {
	var res RetryResult
	projections, err := r.projectorsNamed(name)
	if err != nil {
		return res, err
	}
	for _, p := range projections {
		if err := r.retry(ctx, p, &res); err != nil {
			return res, fmt.Errorf("projections: retry %s: %w", p.Name(), err)
		}
	}
	return res, nil
}

// projectorsNamed returns the projector so named, or the projectors of the
// schema so named.
func (r *Runtime) projectorsNamed(name string) ([]*projection, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.byName[name]; ok {
		return []*projection{p}, nil
	}
	if u, ok := r.units[name]; ok {
		return u.projections, nil
	}
	return nil, fmt.Errorf("projections: no projector or read-model schema named %q", name)
}

func (r *Runtime) retry(ctx context.Context, p *projection, res *RetryResult) error {
	type parked struct {
		id      uuid.UUID
		stream  string
		version int64
	}
	rows, err := r.cfg.Pool.Query(ctx, readParkedSQL, p.Name(), p.Version())
	if err != nil {
		return fmt.Errorf("read parked events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (parked, error) {
		var e parked
		return e, row.Scan(&e.id, &e.stream, &e.version)
	})
	if err != nil {
		return fmt.Errorf("read parked events: %w", err)
	}
	for _, e := range events {
		recs, err := r.cfg.Store.ReadStream(ctx, e.stream, e.version, 1)
		if err != nil {
			return fmt.Errorf("read %s@%d: %w", e.stream, e.version, err)
		}
		if len(recs) != 1 || recs[0].ID != e.id {
			return fmt.Errorf("parked event %s is not at %s@%d in the log", e.id, e.stream, e.version)
		}
		applyErr := r.applyParked(ctx, p, recs[0])
		if applyErr != nil && systemic(applyErr) {
			return applyErr
		}
		if applyErr == nil {
			res.Applied++
			continue
		}
		res.Failed++
		if _, err := r.cfg.Pool.Exec(ctx, stillFailingSQL, p.Name(), p.Version(), e.id, applyErr.Error()); err != nil {
			return fmt.Errorf("record the new failure of %s@%d: %w", e.stream, e.version, err)
		}
	}
	return nil
}

// applyParked applies rec and forgets it was parked, in one transaction.
func (r *Runtime) applyParked(ctx context.Context, p *projection, rec eventstore.RecordedEvent) error {
	e, err := r.decode(rec)
	if err != nil {
		return err
	}
	tx, err := beginIn(ctx, r.cfg.Pool, p.target)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after commit
	if err := p.Apply(ctx, tx, e); err != nil {
		return fmt.Errorf("apply %s %s at %s: %w", rec.Type, rec.ID, rec.Position, err)
	}
	if _, err := tx.Exec(ctx, unparkSQL, p.Name(), p.Version(), rec.ID); err != nil {
		return fmt.Errorf("unpark %s: %w", rec.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit %s: %w", rec.ID, err)
	}
	return nil
}
