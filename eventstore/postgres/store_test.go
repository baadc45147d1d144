package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/eventstore/storetest"
)

// newStore returns a migrated store on a database of the test's own.
func newStore(t testing.TB, cfg postgres.Config) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.New(t))
	return storeOn(t, pool, cfg), pool
}

func storeOn(t testing.TB, pool *pgxpool.Pool, cfg postgres.Config) *postgres.Store {
	t.Helper()
	s, err := postgres.New(pool, cfg)
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// TestConformance shares one store between the subtests, as the suite
// allows, which also proves they do not disturb each other.
func TestConformance(t *testing.T) {
	s, _ := newStore(t, postgres.Config{})
	storetest.Run(t, func(*testing.T) eventstore.Store { return s })
}

func TestStrictIdempotency(t *testing.T) {
	s, _ := newStore(t, postgres.Config{})
	storetest.RunStrictIdempotency(t, func(*testing.T) eventstore.Store { return s })
}

func TestMigrateTwice(t *testing.T) {
	s, _ := newStore(t, postgres.Config{})
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

// TestNothingSkippedBehindOpenTransaction holds an append open while later
// appends commit, and proves that neither ReadAll nor a subscription passes
// it, and that the subscription delivers everything, in order, once it
// commits.
func TestNothingSkippedBehindOpenTransaction(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t, postgres.Config{})
	start := head(t, s)
	sub := subscribe(t, s, start)

	// B takes its transaction id before A, so B's event sorts before A's;
	// C commits while A is open, with an id after A's.
	txB := begin(t, pool)
	if _, err := txB.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatalf("assign B's transaction id: %v", err)
	}
	txA := begin(t, pool)
	a := event()
	resA, err := s.AppendTx(ctx, txA, stream("held"), eventstore.NoStream, []eventstore.EventData{a})
	if err != nil {
		t.Fatalf("append in the held transaction: %v", err)
	}
	c := event()
	resC, err := s.Append(ctx, stream("late"), eventstore.NoStream, []eventstore.EventData{c})
	if err != nil {
		t.Fatalf("append while A is open: %v", err)
	}
	b := event()
	resB, err := s.AppendTx(ctx, txB, stream("early"), eventstore.NoStream, []eventstore.EventData{b})
	if err != nil {
		t.Fatalf("append in B: %v", err)
	}
	if err := txB.Commit(ctx); err != nil {
		t.Fatalf("commit B: %v", err)
	}
	if !resB.Position.Less(resA.Position) || !resA.Position.Less(resC.Position) {
		t.Fatalf("positions B %v, A %v, C %v: want B < A < C", resB.Position, resA.Position, resC.Position)
	}

	// B committed after C, so the read that finds B could have found C: it
	// must not have, as C sorts after A, which is still open.
	if got := next(t, sub); got.ID != b.ID {
		t.Fatalf("first event delivered is %s, want B's %s", got.ID, b.ID)
	}
	if got := readAll(t, s, start); !slices.Equal(got, []uuid.UUID{b.ID}) {
		t.Fatalf("ReadAll while A is open = %v, want only B %v", got, b.ID)
	}
	if h := head(t, s); h != resB.Position {
		t.Fatalf("Head while A is open = %v, want B's %v", h, resB.Position)
	}

	if err := txA.Commit(ctx); err != nil {
		t.Fatalf("commit A: %v", err)
	}
	for _, want := range []eventstore.EventData{a, c} {
		if got := next(t, sub); got.ID != want.ID {
			t.Fatalf("after A's commit got %s, want %s (A then C)", got.ID, want.ID)
		}
	}
	if got := readAll(t, s, start); !slices.Equal(got, []uuid.UUID{b.ID, a.ID, c.ID}) {
		t.Fatalf("ReadAll after A's commit = %v, want B, A, C", got)
	}
}

func TestAppendTxRollsBackWithTheTransaction(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t, postgres.Config{})
	name := stream("rollback")
	tx := begin(t, pool)
	if _, err := s.AppendTx(ctx, tx, name, eventstore.NoStream, []eventstore.EventData{event()}); err != nil {
		t.Fatalf("append in transaction: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got, err := s.ReadStream(ctx, name, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("stream after rollback: %d events, %v; want none", len(got), err)
	}
	if _, err := s.Append(ctx, name, eventstore.NoStream, []eventstore.EventData{event()}); err != nil {
		t.Fatalf("append with NoStream after rollback: %v", err)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	s, _ := newStore(t, postgres.Config{})
	sub, err := s.Subscribe(context.Background(), eventstore.Start)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	s.Close()
	if _, ok := <-sub.Events(); ok {
		t.Fatal("subscription delivered an event from an empty store")
	}
	if !errors.Is(sub.Err(), postgres.ErrClosed) {
		t.Fatalf("Err after Close = %v, want ErrClosed", sub.Err())
	}
	if _, err := s.Subscribe(context.Background(), eventstore.Start); !errors.Is(err, postgres.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

func TestAppendRejectsInvalidInput(t *testing.T) {
	s, _ := newStore(t, postgres.Config{})
	ctx := context.Background()
	if _, err := s.Append(ctx, stream("empty"), eventstore.Any, nil); err == nil {
		t.Error("append without events succeeded")
	}
	if _, err := s.Append(ctx, stream("bad"), -3, []eventstore.EventData{event()}); err == nil {
		t.Error("append with expected version -3 succeeded")
	}
}

func TestConfig(t *testing.T) {
	pool := &pgxpool.Pool{}
	if _, err := postgres.New(pool, postgres.Config{}); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for _, cfg := range []postgres.Config{
		{PollInterval: -time.Second},
		{BatchSize: -1},
		{ReconnectDelay: -time.Second},
	} {
		if _, err := postgres.New(pool, cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
	if _, err := postgres.New(nil, postgres.Config{}); err == nil {
		t.Error("New accepted a nil pool")
	}
}

func subscribe(t *testing.T, s eventstore.Store, from eventstore.Position) eventstore.Subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sub, err := s.Subscribe(ctx, from)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return sub
}

func next(t *testing.T, sub eventstore.Subscription) eventstore.RecordedEvent {
	t.Helper()
	timeout := time.NewTimer(storetest.WaitTimeout)
	defer timeout.Stop()
	select {
	case e, ok := <-sub.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return e
	case <-timeout.C:
		t.Fatalf("no event within %v", storetest.WaitTimeout)
		return eventstore.RecordedEvent{}
	}
}

func readAll(t *testing.T, s eventstore.Store, from eventstore.Position) []uuid.UUID {
	t.Helper()
	events, err := s.ReadAll(context.Background(), from, 0)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	ids := make([]uuid.UUID, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

func head(t *testing.T, s eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func begin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func stream(kind string) string { return "pgtest:" + kind + "-" + uuid.NewString() }

func event() eventstore.EventData {
	id := uuid.New()
	return eventstore.EventData{ID: id, Type: "pgtest.Happened", Data: fmt.Appendf(nil, `{"id":%q}`, id)}
}
