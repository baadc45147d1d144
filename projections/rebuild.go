package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/annals-dev/annals/eventstore"
)

// ErrRebuildRunning is returned (wrapped) by Rebuild when another process
// is rebuilding the same schema.
var ErrRebuildRunning = errors.New("projections: the schema is being rebuilt elsewhere")

// maxSwapAttempts bounds how often a rebuild tries to take over from a
// live schema whose locks stay busy.
const maxSwapAttempts = 30

// RebuildOptions tune one rebuild.
type RebuildOptions struct {
	// Progress, when set, is told how the rebuild goes after each batch and
	// once it has swapped in.
	Progress func(RebuildProgress)
	// Wait makes a rebuild that runs elsewhere hold this one back until it
	// ends, instead of failing with ErrRebuildRunning.
	Wait bool
	// ifStale makes the rebuild do nothing when, once its turn has come,
	// the live schema is built by this build's versions (another process
	// rebuilt it meanwhile).
	ifStale bool
}

// RebuildProgress tells how a rebuild goes.
type RebuildProgress struct {
	Schema string
	// Events counts the events read from the log so far, over every run of
	// the rebuild; Resumed is where this run started.
	Events, Resumed int64
	// Position is the last event replayed; Head is the head of the log as
	// this run found it (moved on if the replay passed it).
	Position, Head eventstore.Position
	// Parked counts the events this run parked; Fallbacks the batches it
	// applied event by event after the bulk path failed on them.
	Parked, Fallbacks int
	// Swapped is set once the rebuilt schema has taken over.
	Swapped bool
}

// Fraction estimates the share of the log replayed. Positions grow with
// the log on every backend (a sequence number, or a byte offset), so the
// share of the head's position passed is the share of the work done.
func (p RebuildProgress) Fraction() float64 {
	if p.Swapped {
		return 1
	}
	return fraction(p.Position, p.Head)
}

// Total estimates how many events the rebuild reads in all; 0 while it
// cannot tell.
func (p RebuildProgress) Total() int64 {
	f := p.Fraction()
	if f <= 0 {
		return 0
	}
	return max(p.Events, int64(math.Round(float64(p.Events)/f)))
}

func fraction(pos, head eventstore.Position) float64 {
	if head.Prepare == 0 {
		return 1
	}
	return min(1, float64(pos.Prepare)/float64(head.Prepare))
}

// Rebuild builds the read-model schema named name — or the schema of the
// projector so named — afresh, blue-green: a shadow schema is migrated, and
// every event of the log from its start is applied to it by the schema's
// projectors at their current versions, many events per transaction, new
// rows with COPY, while the live schema keeps serving and its projectors
// keep running wherever they run. Once the shadow has caught up, one
// transaction locks the live checkpoints, applies the last events, moves
// the checkpoints to where the shadow stands, drops the live schema and
// renames the shadow in its place.
//
// One rebuild of a schema runs at a time across all processes (a
// PostgreSQL advisory lock). It commits its position with each batch, so
// an interrupted rebuild resumes where it stopped when run again with the
// same versions. An event that fails is parked (see Retry) and replaces
// the live projector's parked events at the swap.
func (r *Runtime) Rebuild(ctx context.Context, name string, opts RebuildOptions) error {
	u, err := r.unitNamed(name)
	if err != nil {
		return err
	}
	return r.rebuild(ctx, u, opts)
}

func (r *Runtime) rebuild(ctx context.Context, u *unit, opts RebuildOptions) error {
	unlock, err := r.lockRebuild(ctx, u, opts.Wait)
	if err != nil {
		return err
	}
	defer unlock()
	if opts.ifStale {
		stale, err := r.isStale(ctx, u)
		if err != nil || !stale {
			return err
		}
	}
	if err := r.checkComplete(ctx, u); err != nil {
		return err
	}
	b, err := r.prepareRebuild(ctx, u, opts)
	if err != nil {
		return fmt.Errorf("projections: rebuild %s: %w", u.schema.Name, err)
	}
	if err := b.run(ctx); err != nil {
		return fmt.Errorf("projections: rebuild %s: %w", u.schema.Name, err)
	}
	return nil
}

// lockRebuild takes the schema's rebuild lock on a connection of its own,
// so that the lock ends with the session if this process dies. unlock
// releases it at once, since a session ends a little after its connection
// closes, and then closes the connection.
func (r *Runtime) lockRebuild(ctx context.Context, u *unit, wait bool) (unlock func(), err error) {
	conn, err := pgx.ConnectConfig(ctx, r.cfg.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("projections: rebuild %s: connect for its lock: %w", u.schema.Name, err)
	}
	key := "annals.rebuild:" + u.schema.Name
	closeConn := func() { _ = conn.Close(context.WithoutCancel(ctx)) }
	unlock = func() {
		// Failing, the lock goes with the session.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		closeConn()
	}
	if wait {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key)
	} else {
		var locked bool
		if err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&locked); err == nil && !locked {
			err = ErrRebuildRunning
		}
	}
	if err != nil {
		closeConn()
		return nil, fmt.Errorf("projections: rebuild %s: %w", u.schema.Name, err)
	}
	return unlock, nil
}

// builder carries one run of a rebuild.
type builder struct {
	r        *Runtime
	u        *unit
	shadow   string
	opts     RebuildOptions
	depth    map[string]int
	progress RebuildProgress
	began    time.Time
}

// prepareRebuild resumes the rebuild of u's schema when one for the same
// versions was interrupted, or starts one: a fresh shadow schema, migrated.
func (r *Runtime) prepareRebuild(ctx context.Context, u *unit, opts RebuildOptions) (*builder, error) {
	b := &builder{r: r, u: u, shadow: u.shadow(), opts: opts, began: time.Now(),
		progress: RebuildProgress{Schema: u.schema.Name}}
	versions, err := json.Marshal(u.versions())
	if err != nil {
		return nil, fmt.Errorf("encode versions: %w", err)
	}
	resumed, err := b.resume(ctx)
	if err != nil {
		return nil, err
	}
	if !resumed {
		if err := b.start(ctx, versions); err != nil {
			return nil, err
		}
	}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the head of the log: %w", err)
	}
	b.progress.Head = later(head, b.progress.Position)
	if _, err := r.cfg.Pool.Exec(ctx, `
UPDATE annals_projections.rebuilds SET head_commit = $2, head_prepare = $3, updated_at = now() WHERE schema_name = $1`,
		u.schema.Name, int64(head.Commit), int64(head.Prepare)); err != nil {
		return nil, fmt.Errorf("record the head: %w", err)
	}
	// Also finishes the migrations of a shadow interrupted while migrating.
	if err := u.schema.MigrateAs(ctx, r.cfg.Pool, b.shadow); err != nil {
		return nil, err
	}
	if b.depth, err = tableDepths(ctx, r.cfg.Pool, b.shadow); err != nil {
		return nil, err
	}
	return b, nil
}

// resume loads the stored rebuild if it is of this build's versions and
// its shadow is there.
func (b *builder) resume(ctx context.Context) (bool, error) {
	var (
		stored         []byte
		commit, prep   int64
		events         int64
		shadowExists   bool
		versionsStored map[string]int
	)
	err := b.r.cfg.Pool.QueryRow(ctx, `
SELECT versions, position_commit, position_prepare, events,
       EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = shadow)
FROM annals_projections.rebuilds WHERE schema_name = $1`, b.u.schema.Name).
		Scan(&stored, &commit, &prep, &events, &shadowExists)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the stored rebuild: %w", err)
	}
	if err := json.Unmarshal(stored, &versionsStored); err != nil {
		return false, fmt.Errorf("decode the stored rebuild's versions: %w", err)
	}
	if !shadowExists || !maps.Equal(versionsStored, b.u.versions()) {
		return false, nil
	}
	b.progress.Position = eventstore.Position{Commit: uint64(commit), Prepare: uint64(prep)}
	b.progress.Events, b.progress.Resumed = events, events
	b.r.cfg.Logger.Info("projections: resuming rebuild", "schema", b.u.schema.Name, "events", events,
		"position", b.progress.Position.String())
	return true, nil
}

// start drops what an earlier rebuild left and records a new one.
func (b *builder) start(ctx context.Context, versions []byte) error {
	return pgx.BeginFunc(ctx, b.r.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{b.shadow}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("drop the old shadow: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM annals_projections.parked WHERE rebuilding AND name = ANY($1)`, b.u.names()); err != nil {
			return fmt.Errorf("forget what an earlier rebuild parked: %w", err)
		}
		_, err := tx.Exec(ctx, `
INSERT INTO annals_projections.rebuilds (schema_name, shadow, versions) VALUES ($1, $2, $3)
ON CONFLICT (schema_name) DO UPDATE SET shadow = EXCLUDED.shadow, versions = EXCLUDED.versions,
    position_commit = 0, position_prepare = 0, events = 0, started_at = now(), updated_at = now()`,
			b.u.schema.Name, b.shadow, versions)
		if err != nil {
			return fmt.Errorf("record the rebuild: %w", err)
		}
		return nil
	})
}

// run catches up and swaps, catching up again when the swap could not get
// its locks in time.
func (b *builder) run(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		if err := b.catchUp(ctx); err != nil {
			return err
		}
		swapped, err := b.swap(ctx)
		if err != nil {
			return err
		}
		if swapped {
			b.progress.Swapped = true
			b.report()
			elapsed := time.Since(b.began)
			b.r.cfg.Logger.Info("projections: rebuilt schema swapped in", "schema", b.u.schema.Name,
				"events", b.progress.Events-b.progress.Resumed, "elapsed", elapsed.Round(time.Millisecond),
				"events_per_second", math.Round(float64(b.progress.Events-b.progress.Resumed)/elapsed.Seconds()),
				"parked", b.progress.Parked, "fallbacks", b.progress.Fallbacks)
			return nil
		}
		if attempt == maxSwapAttempts {
			return fmt.Errorf("could not take over from the live schema in %d attempts: its locks stay busy", attempt)
		}
		b.r.cfg.Logger.Info("projections: live schema busy; catching up before swapping again",
			"schema", b.u.schema.Name, "attempt", attempt)
		if err := sleep(ctx, b.r.cfg.SwapLockTimeout); err != nil {
			return err
		}
	}
}

func (b *builder) report() {
	if b.opts.Progress != nil {
		b.opts.Progress(b.progress)
	}
}

// page is a run of the log read and decoded for a unit.
type page struct {
	// events are those some projector of the unit wants.
	events []pending
	// read counts every event read; last is the last one's position.
	read int
	last eventstore.Position
}

// pending is an event with what each projector that wants it makes of it.
type pending struct {
	rec     eventstore.RecordedEvent
	event   Event
	targets []target
}

type target struct {
	p *projection
	// described is set when p is a Describer; writes are then what it
	// says the event writes.
	described bool
	writes    []Write
	// err is why the event could not be decoded or described.
	err error
}

// next reads and decodes the page of the log after from.
func (b *builder) next(ctx context.Context, from eventstore.Position) (page, error) {
	recs, err := b.r.cfg.Store.ReadAll(ctx, from, b.r.cfg.RebuildBatch)
	if err != nil {
		return page{}, fmt.Errorf("read the log after %s: %w", from, err)
	}
	p := page{read: len(recs)}
	for _, rec := range recs {
		p.last = rec.Position
		var (
			targets  []target
			withMeta bool
		)
		for _, pr := range b.u.projections {
			if wants(pr, rec) {
				targets = append(targets, target{p: pr})
				_, payloadOnly := pr.Projector.(*Defined)
				withMeta = withMeta || !payloadOnly
			}
		}
		if len(targets) == 0 {
			continue
		}
		e, err := b.r.decodeFor(rec, withMeta)
		for i := range targets {
			t := &targets[i]
			if err != nil {
				t.err = err
				continue
			}
			if d, ok := t.p.Projector.(Describer); ok {
				t.described = true
				t.writes, t.err = d.Writes(e)
			}
		}
		p.events = append(p.events, pending{rec: rec, event: e, targets: targets})
	}
	return p, nil
}

// catchUp replays the log into the shadow until it runs out, one
// transaction per page, reading the next page while the last is written.
func (b *builder) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan page, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(pages)
		readErr <- b.readAhead(ctx, b.progress.Position, pages)
	}()
	for p := range pages {
		if err := b.commit(ctx, p); err != nil {
			cancel()
			for range pages { // drain, so that the reader ends
			}
			return err
		}
	}
	return <-readErr
}

func (b *builder) readAhead(ctx context.Context, from eventstore.Position, out chan<- page) error {
	for {
		p, err := b.next(ctx, from)
		if err != nil || p.read == 0 {
			return err
		}
		select {
		case out <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
		if p.read < b.r.cfg.RebuildBatch {
			return nil
		}
		from = p.last
	}
}

// commit applies a page and records the rebuild's progress in one
// transaction. Losing the last commits in a crash only means applying
// them again, so they need not wait for the disk.
func (b *builder) commit(ctx context.Context, p page) error {
	tx, err := beginIn(ctx, b.r.cfg.Pool, b.shadow, "synchronous_commit = off")
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after commit
	if err := b.applyPage(ctx, tx, p); err != nil {
		return err
	}
	if err := b.saveProgress(ctx, tx, p); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit a batch: %w", err)
	}
	b.advance(p)
	b.report()
	return nil
}

func (b *builder) saveProgress(ctx context.Context, tx pgx.Tx, p page) error {
	if p.last.Commit > math.MaxInt64 || p.last.Prepare > math.MaxInt64 {
		return fmt.Errorf("position %s does not fit bigint columns", p.last)
	}
	_, err := tx.Exec(ctx, `
UPDATE annals_projections.rebuilds
SET position_commit = $2, position_prepare = $3, events = events + $4, updated_at = now()
WHERE schema_name = $1`, b.u.schema.Name, int64(p.last.Commit), int64(p.last.Prepare), p.read)
	if err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	return nil
}

func (b *builder) advance(p page) {
	b.progress.Position = p.last
	b.progress.Events += int64(p.read)
	b.progress.Head = later(b.progress.Head, p.last)
}

// applyPage applies a page in bulk and, if that fails on the events
// rather than on the database, event by event, parking those that fail.
func (b *builder) applyPage(ctx context.Context, tx pgx.Tx, p page) error {
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return b.bulk(ctx, sp, p.events) })
	if err == nil || systemic(err) {
		return err
	}
	b.progress.Fallbacks++
	b.r.cfg.Logger.Debug("projections: bulk apply failed; applying event by event",
		"schema", b.u.schema.Name, "after", b.progress.Position.String(), "error", err)
	return b.oneByOne(ctx, tx, p.events)
}

func (b *builder) bulk(ctx context.Context, tx pgx.Tx, events []pending) error {
	w := newBulkWriter(tx, b.depth, b.r.cfg.CopyRows)
	for _, e := range events {
		for _, t := range e.targets {
			if t.err != nil {
				return t.err
			}
			if !t.described {
				if err := w.flush(ctx); err != nil {
					return err
				}
				if err := t.p.Apply(ctx, tx, e.event); err != nil {
					return err
				}
				continue
			}
			for _, wr := range t.writes {
				if err := w.add(ctx, wr); err != nil {
					return err
				}
			}
		}
	}
	return w.flush(ctx)
}

// oneByOne applies each event for each projector in a savepoint of its
// own, parking those that fail: replaying the same event into the same
// state fails the same way, so it is not tried again.
func (b *builder) oneByOne(ctx context.Context, tx pgx.Tx, events []pending) error {
	for _, e := range events {
		for _, t := range e.targets {
			err := t.err
			if err == nil {
				err = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return t.p.Apply(ctx, sp, e.event) })
			}
			if err == nil {
				continue
			}
			if systemic(err) {
				return err
			}
			if err := insertParked(ctx, tx, t.p, e.rec, true, err, 1); err != nil {
				return err
			}
			b.progress.Parked++
			b.r.cfg.Logger.Warn("projections: rebuild parked an event", "schema", b.u.schema.Name,
				"projector", t.p.Name(), "event_id", e.rec.ID, "type", e.rec.Type, "error", err)
		}
	}
	return nil
}

// swap takes over from the live schema in one transaction, reporting false
// when a lock could not be had in time (it then changed nothing).
func (b *builder) swap(ctx context.Context) (swapped bool, err error) {
	before := b.progress
	defer func() {
		if !swapped {
			b.progress = before // what the transaction did is undone
		}
	}()
	tx, err := beginIn(ctx, b.r.cfg.Pool, b.shadow,
		fmt.Sprintf("lock_timeout = %d", b.r.cfg.SwapLockTimeout.Milliseconds()))
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after commit
	err = b.takeOver(ctx, tx)
	if err == nil {
		err = tx.Commit(ctx)
	}
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01") {
		return false, nil // lock_not_available, deadlock_detected: readers keep their locks
	}
	if err != nil {
		return false, fmt.Errorf("swap: %w", err)
	}
	return true, nil
}

// takeOver does the swap's work in tx. Projectors of the live schema
// running elsewhere start each event's transaction by moving their
// checkpoint (see logOrder.admit), or their stream's version (see
// streamOrder.admit): with both locked, none writes until the swap ends,
// and each then finds the events up to the new checkpoint applied and
// applies the later ones to the new tables.
func (b *builder) takeOver(ctx context.Context, tx pgx.Tx) error {
	names := b.u.names()
	live, err := lockCheckpoints(ctx, tx, names)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE annals_projections.stream_versions IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("lock stream versions: %w", err)
	}
	for {
		p, err := b.next(ctx, b.progress.Position)
		if err != nil {
			return err
		}
		if p.read == 0 {
			break
		}
		if err := b.applyPage(ctx, tx, p); err != nil {
			return err
		}
		b.advance(p)
	}
	if err := b.moveCheckpoints(ctx, tx, live); err != nil {
		return err
	}
	if err := b.lockLiveTables(ctx, tx); err != nil {
		return err
	}
	liveName, shadow := pgx.Identifier{b.u.schema.Name}.Sanitize(), pgx.Identifier{b.shadow}.Sanitize()
	for _, stmt := range []struct {
		what string
		sql  string
		args []any
	}{
		{"replace the parked events", `DELETE FROM annals_projections.parked WHERE name = ANY($1) AND NOT rebuilding`, []any{names}},
		{"replace the parked events", `UPDATE annals_projections.parked SET rebuilding = false WHERE name = ANY($1) AND rebuilding`, []any{names}},
		{"drop the live schema", "DROP SCHEMA IF EXISTS " + liveName + " CASCADE", nil},
		{"rename the shadow", "ALTER SCHEMA " + shadow + " RENAME TO " + liveName, nil},
		{"end the rebuild", `DELETE FROM annals_projections.rebuilds WHERE schema_name = $1`, []any{b.u.schema.Name}},
	} {
		if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
			return fmt.Errorf("%s: %w", stmt.what, err)
		}
	}
	return nil
}

// maxTableLockAttempts bounds how often one swap tries to take the live
// tables from their readers before it lets go of everything and catches up
// again.
const maxTableLockAttempts = 8

// lockLiveTables takes the live tables from their readers before dropping
// them, in one statement. A reader in a transaction of several statements
// may hold one table and want another the swap already holds; the server
// then cancels whichever of the two waited deadlock_timeout first. So each
// of the swap's waits is bounded well below it, all of them together
// included: the swap gives way and tries again, and no reader ever fails.
// Once every table is held, the swap waits on no reader.
func (b *builder) lockLiveTables(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`, b.u.schema.Name)
	if err != nil {
		return fmt.Errorf("list the live tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list the live tables: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	var deadlockMillis int64
	if err := tx.QueryRow(ctx, `
SELECT (extract(epoch FROM current_setting('deadlock_timeout')::interval) * 1000)::bigint`).Scan(&deadlockMillis); err != nil {
		return fmt.Errorf("read deadlock_timeout: %w", err)
	}
	wait := max(time.Millisecond, time.Duration(deadlockMillis)*time.Millisecond/time.Duration(2*(len(tables)+1)))
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", wait.Milliseconds())); err != nil {
		return fmt.Errorf("bound the waits for the live tables: %w", err)
	}
	lock := "LOCK TABLE " + strings.Join(tables, ", ") + " IN ACCESS EXCLUSIVE MODE"
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			_, err := sp.Exec(ctx, lock)
			return err
		})
		if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "55P03" || attempt == maxTableLockAttempts {
			if err != nil {
				return fmt.Errorf("lock the live tables: %w", err)
			}
			return nil
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// lockCheckpoints locks the checkpoints of every version of the named
// projectors and returns them.
func lockCheckpoints(ctx context.Context, tx pgx.Tx, names []string) (map[checkpointKey]eventstore.Position, error) {
	rows, err := tx.Query(ctx, `
SELECT name, version, position_commit, position_prepare FROM annals_projections.checkpoints
WHERE name = ANY($1) ORDER BY name, version FOR UPDATE`, names)
	if err != nil {
		return nil, fmt.Errorf("lock the live checkpoints: %w", err)
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
		return nil, fmt.Errorf("lock the live checkpoints: %w", err)
	}
	return out, nil
}

// moveCheckpoints sets the checkpoint of each projector, at the version
// built, to where the shadow stands, updating a live one in place so that
// a projector waiting on its lock sees the new position; it drops the
// checkpoints (and stream versions) of other versions, whose processes
// then find every event applied and stay idle.
func (b *builder) moveCheckpoints(ctx context.Context, tx pgx.Tx, live map[checkpointKey]eventstore.Position) error {
	pos := b.progress.Position
	names, versions := make([]string, 0, len(b.u.projections)), make([]int32, 0, len(b.u.projections))
	for _, p := range b.u.projections {
		names, versions = append(names, p.Name()), append(versions, int32(p.Version()))
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO annals_projections.checkpoints AS c (name, version, position_commit, position_prepare, schema_name)
SELECT n, v, $3, $4, $5 FROM unnest($1::text[], $2::integer[]) AS k(n, v)
ON CONFLICT (name, version) DO UPDATE
SET position_commit = EXCLUDED.position_commit, position_prepare = EXCLUDED.position_prepare,
    schema_name = EXCLUDED.schema_name, updated_at = now()`,
		names, versions, int64(pos.Commit), int64(pos.Prepare), b.u.schema.Name); err != nil {
		return fmt.Errorf("move the checkpoints: %w", err)
	}
	if _, err := tx.Exec(ctx, `
DELETE FROM annals_projections.checkpoints
WHERE name = ANY($1) AND (name, version) NOT IN (SELECT * FROM unnest($1::text[], $2::integer[]))`,
		names, versions); err != nil {
		return fmt.Errorf("drop the checkpoints of other versions: %w", err)
	}
	return b.recordStreamedWindow(ctx, tx, live)
}

// recordStreamedWindow serves projectors fed by stream (Kafka) at the
// versions built. They skip events up to their watermark, and later ones
// whose stream version they recorded; between the lowest live watermark and
// the new checkpoint are events they applied to the old tables, whose
// versions are recorded, and events they have not, which the new tables
// hold already: their versions are recorded here, so that no worker
// applies them again.
func (b *builder) recordStreamedWindow(ctx context.Context, tx pgx.Tx, live map[checkpointKey]eventstore.Position) error {
	var (
		kept []*projection
		from = b.progress.Position
	)
	for _, p := range b.u.projections {
		if pos, ok := live[keyOf(p)]; ok {
			kept = append(kept, p)
			from = earlier(from, pos)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	var streamed bool
	if err := tx.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM annals_projections.stream_versions WHERE name = ANY($1))`, b.u.names()).Scan(&streamed); err != nil {
		return fmt.Errorf("look for stream versions: %w", err)
	}
	if !streamed {
		return nil
	}
	for from.Less(b.progress.Position) {
		recs, err := b.r.cfg.Store.ReadAll(ctx, from, b.r.cfg.RebuildBatch)
		if err != nil {
			return fmt.Errorf("read the log after %s: %w", from, err)
		}
		if len(recs) == 0 {
			return nil
		}
		for _, rec := range recs {
			if b.progress.Position.Less(rec.Position) {
				return nil
			}
			for _, p := range kept {
				if !wants(p, rec) {
					continue
				}
				if _, err := recordStreamVersion(ctx, tx, p, rec); err != nil {
					return err
				}
			}
			from = rec.Position
		}
	}
	return nil
}

// earlier returns the earlier of two positions.
func earlier(a, b eventstore.Position) eventstore.Position {
	if a.Less(b) {
		return a
	}
	return b
}

// isStale reports whether u's live tables were built by other versions of
// its projectors, or a rebuild for this build's versions was interrupted.
func (r *Runtime) isStale(ctx context.Context, u *unit) (bool, error) {
	stored, err := readCheckpoints(ctx, r.cfg.Pool)
	if err != nil {
		return false, fmt.Errorf("projections: %w", err)
	}
	known := map[string]bool{}
	for k := range stored {
		known[k.name] = true
	}
	for _, p := range u.projections {
		if _, ok := stored[keyOf(p)]; !ok && known[p.Name()] {
			return true, nil
		}
	}
	return false, nil
}

// staleUnits returns the schemas to rebuild before their projectors run.
func (r *Runtime) staleUnits(ctx context.Context) ([]*unit, error) {
	var stale []*unit
	for _, name := range r.Schemas() {
		u, err := r.unitNamed(name)
		if err != nil {
			return nil, err
		}
		ok, err := r.isStale(ctx, u)
		if err != nil {
			return nil, err
		}
		if ok {
			stale = append(stale, u)
		}
	}
	return stale, nil
}

// startRebuilding marks the projections of the stale schemas as waiting
// for their rebuild and returns the others, which run at once.
func (r *Runtime) startRebuilding(projections []*projection, stale []*unit) []*projection {
	waiting := map[*projection]bool{}
	for _, u := range stale {
		for _, p := range u.projections {
			p.setRebuilding()
			waiting[p] = true
		}
	}
	var live []*projection
	for _, p := range projections {
		if !waiting[p] {
			live = append(live, p)
		}
	}
	return live
}

// rebuildInBackground rebuilds each stale schema, then runs its projectors
// on router. The function returned stops them and returns why any failed;
// a failure also closes the router, which ends Run.
func (r *Runtime) rebuildInBackground(ctx context.Context, router routerControl, routes *routing, stale []*unit) (wait func() error) {
	ctx, cancel := context.WithCancel(ctx)
	errs := make([]error, len(stale))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, u := range stale {
			if err := r.rebuildThenRun(ctx, router, routes, u); err != nil && ctx.Err() == nil {
				errs[i] = err
				if err := router.Close(); err != nil {
					r.cfg.Logger.Error("projections: stop", "error", err)
				}
				return
			}
		}
	}()
	return func() error {
		cancel()
		<-done
		return errors.Join(errs...)
	}
}

// routerControl is what rebuildThenRun needs of the router.
type routerControl interface {
	Running() chan struct{}
	RunHandlers(ctx context.Context) error
	Close() error
}

// rebuildThenRun rebuilds a stale schema and starts its projectors. When
// the schema is shared with projectors this process does not run, it waits
// for a process that runs them all to rebuild it.
func (r *Runtime) rebuildThenRun(ctx context.Context, router routerControl, routes *routing, u *unit) error {
	logger := r.cfg.Logger.With("schema", u.schema.Name)
	logger.Info("projections: projector versions changed; rebuilding their schema before running them", "versions", u.versions())
	err := r.rebuild(ctx, u, RebuildOptions{Wait: true, ifStale: true, Progress: logProgress(logger, progressLogInterval)})
	if errors.Is(err, errIncomplete) {
		logger.Warn("projections: waiting for a process that runs every projector of the schema to rebuild it", "error", err)
		err = r.awaitVersions(ctx, u)
	}
	if err != nil {
		return err
	}
	if err := r.load(ctx, u.projections); err != nil {
		return err
	}
	select {
	case <-router.Running():
	case <-ctx.Done():
		return nil
	}
	for _, p := range u.projections {
		if err := routes.add(p); err != nil {
			return err
		}
	}
	if err := router.RunHandlers(ctx); err != nil {
		return fmt.Errorf("projections: run the handlers of %s: %w", u.schema.Name, err)
	}
	return nil
}

// awaitVersions polls until the checkpoints of u's projectors at this
// build's versions exist: another process swapped the rebuilt schema in.
func (r *Runtime) awaitVersions(ctx context.Context, u *unit) error {
	for {
		stale, err := r.isStale(ctx, u)
		if err != nil || !stale {
			return err
		}
		if err := sleep(ctx, r.cfg.FlushInterval); err != nil {
			return err
		}
	}
}

// progressLogInterval is how often a rebuild at start logs its progress.
const progressLogInterval = 10 * time.Second

// logProgress logs a rebuild's progress at most every interval, and its
// end.
func logProgress(logger *slog.Logger, interval time.Duration) func(RebuildProgress) {
	var last time.Time
	return func(p RebuildProgress) {
		if !p.Swapped && time.Since(last) < interval {
			return
		}
		last = time.Now()
		logger.Info("projections: rebuild progress", "events", p.Events, "estimated_total", p.Total(),
			"percent", math.Round(100*p.Fraction()), "swapped", p.Swapped)
	}
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
