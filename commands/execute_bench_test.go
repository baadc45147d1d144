package commands

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
	"github.com/annals-dev/annals/eventstore/postgres"
)

// benchMeta is the metadata of a command issued over HTTP, the usual case.
var benchMeta = Meta{
	Realm: "bench", ActorID: uuid.NewString(), Command: "CreateOrganization",
	Request: &eventstore.RequestInfo{RequestID: uuid.NewString(), ClientAddr: "127.0.0.1:50000", UserAgent: "Go-http-client/1.1"},
}

var benchProfile = organization.Profile{Name: "Acme Widgets", AvatarImage: "https://img.example/acme.png", ReworkAvailable: 2}

// BenchmarkExecute runs the two shapes of command every dialect issues
// most: creating an aggregate (a new stream) and changing one whose stream
// already holds a few events, on each backend the executor is used with.
// Besides the time it reports the store calls per command: each is a round
// trip to the database on a remote backend.
func BenchmarkExecute(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(b *testing.B) eventstore.Store
	}{
		{"memory", func(*testing.B) eventstore.Store { return memory.New() }},
		{"postgres", openPostgres},
	} {
		b.Run(backend.name, func(b *testing.B) {
			store := backend.open(b)
			actor := organization.Actor{ID: benchMeta.ActorID}
			b.Run("create", func(b *testing.B) {
				calls := &countingStore{Store: store}
				x := benchExecutor(calls)
				b.ReportAllocs()
				for b.Loop() {
					create(b, x, actor)
				}
				calls.report(b)
			})
			// The stream of an update holds what a create wrote; making it
			// is neither timed nor counted.
			b.Run("update", func(b *testing.B) {
				setup := benchExecutor(store)
				calls := &countingStore{Store: store}
				x := benchExecutor(calls)
				b.ReportAllocs()
				name := "Acme Renamed"
				for b.Loop() {
					b.StopTimer()
					id := create(b, setup, actor)
					b.StartTimer()
					if _, err := Execute(b.Context(), x, organization.Organizations, benchMeta, id, func(o organization.Organization) ([]kernel.Event, error) {
						return organization.Update(o, actor, organization.Changes{Name: &name}, "", time.Now())
					}); err != nil {
						b.Fatal(err)
					}
				}
				calls.report(b)
			})
		})
	}
}

// countingStore counts the calls a command makes to the store.
type countingStore struct {
	eventstore.Store
	reads, appends atomic.Int64
}

func (s *countingStore) ReadStream(ctx context.Context, stream string, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	s.reads.Add(1)
	return s.Store.ReadStream(ctx, stream, from, limit)
}

func (s *countingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	s.appends.Add(1)
	return s.Store.Append(ctx, stream, expected, events)
}

func (s *countingStore) report(b *testing.B) {
	b.ReportMetric(float64(s.reads.Load())/float64(b.N), "reads/op")
	b.ReportMetric(float64(s.appends.Load())/float64(b.N), "appends/op")
}

// BenchmarkEncode is the executor's JSON work per command: the metadata
// once, then each event.
func BenchmarkEncode(b *testing.B) {
	x := benchExecutor(memory.New())
	id := uuid.NewString()
	now := time.Now()
	events := []kernel.Event{
		organization.Created{OrganizationID: id, Profile: benchProfile, OwnerID: benchMeta.ActorID, At: now},
		organization.MemberAdded{OrganizationID: id, UserID: benchMeta.ActorID, At: now},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x.encode(benchMeta, uuid.New(), events); err != nil {
			b.Fatal(err)
		}
	}
}

// create founds an organization and returns its id.
func create(b *testing.B, x *Executor, actor organization.Actor) string {
	id := uuid.NewString()
	if _, err := Execute(b.Context(), x, organization.Organizations, benchMeta, id, func(o organization.Organization) ([]kernel.Event, error) {
		return organization.Create(o, actor, id, benchProfile, time.Now())
	}); err != nil {
		b.Fatal(err)
	}
	return id
}

func benchExecutor(store eventstore.Store) *Executor {
	r := kernel.NewRegistry()
	organization.RegisterEvents(r)
	return NewExecutor(store, r)
}

func openPostgres(b *testing.B) eventstore.Store {
	pool := pgtest.Pool(b, pgtest.New(b))
	s, err := postgres.New(pool, postgres.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}
