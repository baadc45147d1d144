package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/esdb"
	"github.com/annals-dev/annals/eventstore/esdb/esdbtest"
	"github.com/annals-dev/annals/eventstore/memory"
	pgstore "github.com/annals-dev/annals/eventstore/postgres"
)

// appendAim: an append should cost little more than the INSERT it makes.
var appendAim = &Aim{MinRatio: 0.8}

// ceilingInsert names the appends' ceiling.
const ceilingInsert = "raw INSERT tx"

// appends measures one-event appends through every backend beside raw
// single-row INSERT transactions, for each number of writers. Every writer
// appends to a stream of its own, so no append waits on another's version.
func (s *session) appends(ctx context.Context) (_ Report, err error) {
	backends, err := openBackends(ctx, s.cfg, s.pool)
	if err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, backends.closers.close()) }()
	event, err := typicalEvent()
	if err != nil {
		return Report{}, err
	}

	var report Report
	for _, n := range s.cfg.Writers {
		contenders := []contender{workers(ceilingInsert, n, newWriter(n, event, s.rawInsert).op)}
		for _, b := range backends.stores {
			contenders = append(contenders, workers(b.name, n, newWriter(n, event, storeAppend(b.store)).op))
		}
		s.progress("append, %s: %d × %s per backend", writers(n), s.cfg.Rounds, s.cfg.Duration)
		samples, err := compare(ctx, s.cfg, contenders...)
		if err != nil {
			return Report{}, fmt.Errorf("append with %d writers: %w", n, err)
		}
		for i, b := range backends.stores {
			report.Figures = append(report.Figures, Figure{
				Name: fmt.Sprintf("append %s, %s", b.name, writers(n)), Unit: "events/s",
				Value: samples[i+1].rate(), Ceiling: samples[0].rate(), CeilingName: ceilingInsert, Aim: b.aim,
			})
		}
	}
	report.Notes = append(report.Notes,
		"append: one event per append; ceiling: the same row INSERTed into a table with the event log's columns and keys, one transaction each",
		"append esdb-double: the EventStoreDB backend against the in-process test double over loopback gRPC, not a real server; no aim applies",
		"append memory: in-process, no I/O; shown for scale, no aim applies")
	return report, nil
}

// writers says how many writers there are, in words.
func writers(n int) string {
	if n == 1 {
		return "1 writer"
	}
	return fmt.Sprintf("%d writers", n)
}

// rawInsert is the appends' ceiling: one INSERT of the same row, in a
// transaction of its own.
func (s *session) rawInsert(ctx context.Context, stream string, version int64, e eventstore.EventData) error {
	_, err := s.pool.Exec(ctx, insertEventSQL, e.ID, stream, version, e.Type, e.Data, e.Metadata)
	return err
}

func storeAppend(store eventstore.Store) writeFunc {
	return func(ctx context.Context, stream string, version int64, e eventstore.EventData) error {
		_, err := store.Append(ctx, stream, eventstore.ExpectedVersion(version-1), []eventstore.EventData{e})
		return err
	}
}

// writeFunc writes event number version of a stream.
type writeFunc func(ctx context.Context, stream string, version int64, e eventstore.EventData) error

// writer gives each worker a stream of its own and remembers, across
// measurements, the version each is at.
type writer struct {
	streams []string
	next    []int64
	event   eventstore.EventData
	write   writeFunc
}

func newWriter(n int, event eventstore.EventData, write writeFunc) *writer {
	w := &writer{streams: make([]string, n), next: make([]int64, n), event: event, write: write}
	for i := range w.streams {
		w.streams[i] = "bench:writer-" + uuid.NewString()
	}
	return w
}

func (w *writer) op(ctx context.Context, worker int) (time.Duration, error) {
	e := w.event
	e.ID = uuid.New()
	began := time.Now()
	if err := w.write(ctx, w.streams[worker], w.next[worker], e); err != nil {
		return 0, err
	}
	w.next[worker]++
	return time.Since(began), nil
}

// typicalEvent is an event the size of those sartiq writes: an
// organization's creation with the metadata of an HTTP command.
func typicalEvent() (eventstore.EventData, error) {
	data, err := json.Marshal(organization.Created{
		OrganizationID: uuid.NewString(),
		Profile:        organization.Profile{Name: "Acme Widgets", AvatarImage: "https://img.example/acme.png", ReworkAvailable: 2},
		OwnerID:        uuid.NewString(), At: time.Now().UTC(),
	})
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode event: %w", err)
	}
	id := uuid.New()
	metadata, err := json.Marshal(eventstore.Metadata{
		Realm: "sartiq", ActorID: uuid.NewString(), Command: "CreateOrganization",
		CommandID: id, CorrelationID: id, CausationID: id, OccurredAt: time.Now().UTC(),
		Request: &eventstore.RequestInfo{RequestID: uuid.NewString(), ClientAddr: "127.0.0.1:50000", UserAgent: "Go-http-client/1.1"},
	})
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode metadata: %w", err)
	}
	return eventstore.EventData{Type: organization.Created{}.EventType(), Data: data, Metadata: metadata}, nil
}

// backend is an event store under measurement.
type backend struct {
	name  string
	store eventstore.Store
	aim   *Aim
}

type backends struct {
	stores  []backend
	closers closers
}

// openBackends opens every backend: PostgreSQL on the run's database, the
// memory store, and the EventStoreDB backend on the in-process test double.
func openBackends(ctx context.Context, cfg Config, pool *pgxpool.Pool) (_ *backends, err error) {
	b := &backends{}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.closers.close())
		}
	}()
	pg, err := pgstore.New(pool, pgstore.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	b.closers.add(func() error { pg.Close(); return nil })
	if err := pg.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("event store: %w", err)
	}
	double, err := esdbtest.New()
	if err != nil {
		return nil, fmt.Errorf("EventStoreDB test double: %w", err)
	}
	b.closers.add(double.Close)
	es, err := esdb.New(esdb.Config{URL: double.ConnectionString(), Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	b.closers.add(es.Close)
	b.stores = []backend{
		{name: "postgres", store: pg, aim: appendAim},
		{name: "memory", store: memory.New()},
		{name: "esdb-double", store: es},
	}
	return b, nil
}
