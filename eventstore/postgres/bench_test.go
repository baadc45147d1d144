package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/postgres"
)

// BenchmarkAppend measures one-event appends, each its own transaction,
// against the floor they are judged by: a raw single-row INSERT in its own
// transaction on a table of the same shape. Compare the ns/op of raw-insert
// and append at the same parallelism.
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
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_inserts (
		seq bigserial PRIMARY KEY, event_id uuid NOT NULL, stream_id text NOT NULL,
		version bigint NOT NULL, type text NOT NULL, data bytea, metadata bytea)`); err != nil {
		b.Fatalf("create raw table: %v", err)
	}

	// writer appends the next event of one stream.
	type writer func(stream string, version int64, e eventstore.EventData) error
	raw := func(stream string, version int64, e eventstore.EventData) error {
		_, err := pool.Exec(ctx, `INSERT INTO raw_inserts (event_id, stream_id, version, type, data, metadata)
			VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, stream, version, e.Type, e.Data, e.Metadata)
		return err
	}
	store := func(stream string, version int64, e eventstore.EventData) error {
		_, err := s.Append(ctx, stream, eventstore.ExpectedVersion(version-1), []eventstore.EventData{e})
		return err
	}
	// run writes to a stream of its own, in one goroutine until next says stop.
	run := func(b *testing.B, write writer, next func() bool) {
		stream := "bench:" + uuid.NewString()
		e := eventstore.EventData{Type: "bench.Happened", Data: []byte(`{"n":1,"text":"an event of a typical size"}`),
			Metadata: []byte(`{"realm":"bench","command":"Bench","actor_id":"u-1"}`)}
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
		b.Run("parallel/"+w.name, func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) { run(b, w.write, pb.Next) })
		})
	}
}
