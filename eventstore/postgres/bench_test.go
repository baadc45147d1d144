package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/postgres"
)

// benchEvent is the size of a typical event: an organization's creation
// with the metadata of an HTTP command.
var benchEvent = eventstore.EventData{
	Type: "organization.Created",
	Data: []byte(`{"organization_id":"0b6f2f0e-2b1c-4a53-9a0e-6f1c1d0c2a11","name":"Acme Widgets",` +
		`"avatar_image":"https://img.example/acme.png","description":null,"rework_available":2,` +
		`"owner_id":"5d1f0e8a-7c6b-4f3e-8a2d-1b0c9e8f7a6d","at":"2026-01-02T03:04:05.123456Z"}`),
	Metadata: []byte(`{"realm":"sartiq","actor_id":"5d1f0e8a-7c6b-4f3e-8a2d-1b0c9e8f7a6d","command":"CreateOrganization",` +
		`"command_id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","correlation_id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",` +
		`"causation_id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","occurred_at":"2026-01-02T03:04:05.123456Z",` +
		`"request":{"request_id":"3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a","client_addr":"127.0.0.1:50000","user_agent":"Go-http-client/1.1"}}`),
}

// BenchmarkAppend measures one-event appends, each its own transaction,
// against the floor they are judged by: a raw single-row INSERT in its own
// transaction into a table with the event log's columns and keys. Compare
// the ns/op of raw-insert and append at the same number of writers; every
// writer appends to a stream of its own.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	poolCfg, err := pgxpool.ParseConfig(pgtest.New(b).URL)
	if err != nil {
		b.Fatalf("parse database url: %v", err)
	}
	poolCfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		b.Fatalf("open pool: %v", err)
	}
	b.Cleanup(pool.Close)
	s := storeOn(b, pool, postgres.Config{})
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_inserts (LIKE annals_events.events INCLUDING ALL)`); err != nil {
		b.Fatalf("create raw table: %v", err)
	}

	// writer appends the next event of one stream.
	type writer func(stream string, version int64, e eventstore.EventData) error
	raw := func(stream string, version int64, e eventstore.EventData) error {
		_, err := pool.Exec(ctx, `INSERT INTO raw_inserts (xid, event_id, stream_id, version, type, data, metadata)
			VALUES (pg_current_xact_id(), $1, $2, $3, $4, $5, $6)`, e.ID, stream, version, e.Type, e.Data, e.Metadata)
		return err
	}
	store := func(stream string, version int64, e eventstore.EventData) error {
		_, err := s.Append(ctx, stream, eventstore.ExpectedVersion(version-1), []eventstore.EventData{e})
		return err
	}
	// run writes to a stream of its own, in one goroutine until next says stop.
	run := func(b *testing.B, write writer, next func() bool) {
		stream := "bench:" + uuid.NewString()
		e := benchEvent
		for version := int64(0); next(); version++ {
			e.ID = uuid.New()
			if err := write(stream, version, e); err != nil {
				b.Error(err)
				return
			}
		}
	}
	for _, w := range []struct {
		name  string
		write writer
	}{{"raw-insert", raw}, {"append", store}} {
		b.Run("writers=1/"+w.name, func(b *testing.B) { run(b, w.write, b.Loop) })
		b.Run("writers=16/"+w.name, func(b *testing.B) {
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) { run(b, w.write, pb.Next) })
		})
	}
}

// BenchmarkReadStream reads a stream of a few events, as every command
// does before deciding.
func BenchmarkReadStream(b *testing.B) {
	s, _ := newStore(b, postgres.Config{})
	for _, n := range []int{1, 4, 16} {
		stream := fmt.Sprintf("bench:read-%d-%s", n, uuid.NewString())
		events := make([]eventstore.EventData, n)
		for i := range events {
			events[i] = benchEvent
			events[i].ID = uuid.New()
		}
		if _, err := s.Append(context.Background(), stream, eventstore.NoStream, events); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.ReadStream(b.Context(), stream, 0, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHeldBackDelivery measures how long after an unrelated older
// transaction ends a subscription delivers an event that committed behind
// it. Every transaction with an id on the server, in any database, holds
// the log back so; this is the lag it adds once it is over. The unrelated
// transaction works 20ms, long enough for the append's own wake-ups to
// have come and gone; only its end is timed.
func BenchmarkHeldBackDelivery(b *testing.B) {
	ctx := context.Background()
	s, pool := newStore(b, postgres.Config{})
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.Subscribe(subCtx, eventstore.Start)
	if err != nil {
		b.Fatal(err)
	}
	name := "bench:held-" + uuid.NewString()
	for version := int64(0); b.Loop(); version++ {
		b.StopTimer()
		blocker, err := pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := blocker.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			b.Fatal(err)
		}
		e := benchEvent
		e.ID = uuid.New()
		if _, err := s.Append(ctx, name, eventstore.ExpectedVersion(version-1), []eventstore.EventData{e}); err != nil {
			b.Fatal(err)
		}
		if _, err := blocker.Exec(ctx, "SELECT pg_sleep(0.02)"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := blocker.Rollback(ctx); err != nil {
			b.Fatal(err)
		}
		if got := <-sub.Events(); got.ID != e.ID {
			b.Fatalf("delivered %s, want %s (%v)", got.ID, e.ID, sub.Err())
		}
	}
}
