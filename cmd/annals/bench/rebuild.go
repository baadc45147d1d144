package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/eventstore"
	pgstore "github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/sartiq"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// rebuildAim: a rebuild should write at a good share of the rate at which
// the database takes rows at all.
var rebuildAim = &Aim{MinRatio: 0.3}

// ceilingCopy names the rebuild's ceiling.
const ceilingCopy = "raw pgx CopyFrom"

// rebuildFigure names the rebuild's figure.
const rebuildFigure = "projection rebuild, sartiq schema"

// Synthetic history: blocks of people joining an organization, then, once
// every block is written, changes to some of them, as a log grows.
const (
	blockMembers = 8
	// blockEvents: the members' registrations, the organization's
	// creation, the memberships (owner included).
	blockEvents = blockMembers + 1 + blockMembers
	// seedWriters append the history concurrently.
	seedWriters = 8
)

// rebuild measures a blue-green rebuild of the sartiq schema from a log of
// about RebuildEvents synthetic events beside raw pgx CopyFrom of as many
// rows shaped as sartiq users, into the same database. A round rebuilds the
// whole log once, and copies the rows once into an emptied table: each is
// one operation of its size, whatever the time slice.
func (s *session) rebuild(ctx context.Context) (Report, error) {
	pool, err := s.db.openPool(ctx, s.cfg.PoolSize)
	if err != nil {
		return Report{}, err
	}
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.Config{Logger: s.cfg.Logger})
	if err != nil {
		return Report{}, err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return Report{}, fmt.Errorf("event store: %w", err)
	}
	registry := kernel.NewRegistry()
	identity.RegisterEvents(registry)
	organization.RegisterEvents(registry)
	runtime, err := projections.New(projections.Config{Pool: pool, Store: store, Registry: registry, Logger: s.cfg.Logger, Remote: true})
	if err != nil {
		return Report{}, err
	}
	if err := runtime.Register(projection.Projectors()...); err != nil {
		return Report{}, err
	}
	if err := runtime.Migrate(ctx); err != nil {
		return Report{}, err
	}
	if err := readmodel.Migrate(ctx, pool); err != nil {
		return Report{}, err
	}
	s.progress("rebuild: writing a log of %d synthetic sartiq events", s.cfg.RebuildEvents)
	events, err := writeHistory(ctx, store, registry, s.cfg.RebuildEvents)
	if err != nil {
		return Report{}, fmt.Errorf("write the history: %w", err)
	}
	ceiling, err := newCopyCeiling(ctx, pool, events)
	if err != nil {
		return Report{}, err
	}

	var last projections.RebuildProgress
	rebuilt := contender{name: "rebuild", run: func(ctx context.Context, _ bound) (sample, error) {
		began := time.Now()
		err := runtime.Rebuild(ctx, readmodel.Schema.Name, projections.RebuildOptions{
			Progress: func(p projections.RebuildProgress) { last = p },
		})
		return sample{ops: int(last.Events), elapsed: time.Since(began)}, err
	}}
	s.progress("rebuild: %d rebuilds of %d events, each beside a CopyFrom of as many rows", s.cfg.Rounds, events)
	samples, err := compare(ctx, s.cfg, contender{name: ceilingCopy, run: ceiling.run}, rebuilt)
	if err != nil {
		return Report{}, err
	}
	return Report{
		Figures: []Figure{{Name: rebuildFigure, Unit: "events/s", Value: samples[1].rate(), Ceiling: samples[0].rate(),
			CeilingName: ceilingCopy, Aim: rebuildAim}},
		Notes: []string{fmt.Sprintf(
			"rebuild: the sartiq schema rebuilt blue-green from a log of %d events (registrations, organizations and memberships, then %d updates), "+
				"from the shadow's migration to the swap; ceiling: one CopyFrom of %d rows shaped as sartiq.users, with its keys, into an emptied table; "+
				"bulk fallbacks in the last rebuild: %d",
			events, events/(blockEvents+1), events, last.Fallbacks)},
	}, nil
}

// writeHistory appends about n events: blocks of registrations, an
// organization and its memberships, then an update of one member per
// block. It returns how many it appended.
func writeHistory(ctx context.Context, store eventstore.Store, registry *kernel.Registry, n int) (int, error) {
	blocks := max(1, n/(blockEvents+1))
	meta, err := json.Marshal(eventstore.Metadata{Realm: readmodel.Realm, Command: "BenchHistory", CommandID: uuid.New(), OccurredAt: time.Now().UTC()})
	if err != nil {
		return 0, fmt.Errorf("encode metadata: %w", err)
	}
	w := historyWriter{store: store, registry: registry, meta: meta, at: time.Now().UTC()}
	updated := make([]string, blocks)
	if err := w.parallel(ctx, blocks, func(ctx context.Context, b int) error {
		var err error
		updated[b], err = w.block(ctx, b)
		return err
	}); err != nil {
		return 0, err
	}
	err = w.parallel(ctx, blocks, func(ctx context.Context, b int) error {
		name := fmt.Sprintf("Member %d, renamed", b)
		return w.append(ctx, kernel.StreamName(readmodel.Realm, identity.Users.Kind, updated[b]), 1,
			identity.UserUpdated{UserID: updated[b], Changes: identity.UserChanges{FullName: &name}, At: w.at.Add(time.Hour)})
	})
	return blocks * (blockEvents + 1), err
}

type historyWriter struct {
	store    eventstore.Store
	registry *kernel.Registry
	meta     []byte
	at       time.Time
}

// parallel runs f for 0..n-1 on seedWriters goroutines, stopping at the
// first failure.
func (w historyWriter) parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range seedWriters {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// block writes block b and returns the id of a member to update later.
func (w historyWriter) block(ctx context.Context, b int) (string, error) {
	orgID := uuid.NewString()
	var memberships []kernel.Event
	members := make([]string, blockMembers)
	for i := range members {
		members[i] = uuid.NewString()
		name := fmt.Sprintf("Member %d-%d", b, i)
		if err := w.append(ctx, kernel.StreamName(readmodel.Realm, identity.Users.Kind, members[i]), -1, identity.UserRegistered{
			UserID: members[i], Email: fmt.Sprintf("member-%d-%d@bench.example", b, i), FullName: &name,
			PasswordHash: "x", Active: true, ReworkAvailable: 2, At: w.at,
		}); err != nil {
			return "", err
		}
		memberships = append(memberships, organization.MemberAdded{OrganizationID: orgID, UserID: members[i], At: w.at})
	}
	created := organization.Created{OrganizationID: orgID, OwnerID: members[0], At: w.at,
		Profile: organization.Profile{Name: fmt.Sprintf("Organization %d", b), AvatarImage: "https://img.example/o.png", ReworkAvailable: 2}}
	if err := w.append(ctx, kernel.StreamName(readmodel.Realm, organization.Organizations.Kind, orgID), -1,
		append([]kernel.Event{created}, memberships...)...); err != nil {
		return "", err
	}
	return members[blockMembers-1], nil
}

// append writes events to stream, expecting it at version (-1: new).
func (w historyWriter) append(ctx context.Context, stream string, version int64, events ...kernel.Event) error {
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, b, err := w.registry.Encode(e)
		if err != nil {
			return err
		}
		data[i] = eventstore.EventData{ID: uuid.New(), Type: typ, Data: b, Metadata: w.meta}
	}
	expected := eventstore.ExpectedVersion(version - 1)
	if version < 0 {
		expected = eventstore.NoStream
	}
	_, err := w.store.Append(ctx, stream, expected, data)
	return err
}

// copyCeiling copies rows shaped as sartiq users with CopyFrom.
type copyCeiling struct {
	pool *pgxpool.Pool
	rows [][]any
}

func newCopyCeiling(ctx context.Context, pool *pgxpool.Pool, n int) (*copyCeiling, error) {
	if _, err := pool.Exec(ctx, `CREATE TABLE ceiling.copied_users (LIKE sartiq.users INCLUDING ALL)`); err != nil {
		return nil, fmt.Errorf("ceiling table: %w", err)
	}
	at := time.Now().UTC()
	c := &copyCeiling{pool: pool, rows: make([][]any, n)}
	for i := range c.rows {
		c.rows[i] = []any{uuid.New(), fmt.Sprintf("copied-%d@bench.example", i), "Copied", true, false, 2, at, at}
	}
	return c, nil
}

// run empties the table, then times one CopyFrom of every row.
func (c *copyCeiling) run(ctx context.Context, _ bound) (sample, error) {
	if _, err := c.pool.Exec(ctx, `TRUNCATE ceiling.copied_users`); err != nil {
		return sample{}, fmt.Errorf("empty the ceiling table: %w", err)
	}
	began := time.Now()
	n, err := c.pool.CopyFrom(ctx, pgx.Identifier{"ceiling", "copied_users"},
		[]string{"id", "email", "full_name", "is_active", "is_superuser", "rework_available", "created_at", "updated_at"},
		pgx.CopyFromRows(c.rows))
	if err != nil {
		return sample{}, fmt.Errorf("copy: %w", err)
	}
	return sample{ops: int(n), elapsed: time.Since(began)}, nil
}
