package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/storetest"
)

func newTestStore(t *testing.T, pool *pgxpool.Pool, cfg Config) *Store {
	t.Helper()
	s, err := New(pool, cfg)
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func oneEvent() []eventstore.EventData {
	return []eventstore.EventData{{ID: uuid.New(), Type: "pgtest.Happened", Data: []byte(`{}`)}}
}

// TestOtherStoresAreNotified proves both ways of appending reach another
// store's listener, as they must reach other processes: Append notifies
// after its commit, AppendTx at the caller's commit. The listener also
// wakes everyone once when its connection opens, so each way gets two
// rounds, of which that wake-up can cover only one.
func TestOtherStoresAreNotified(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, pgtest.New(t))
	writer := newTestStore(t, pool, Config{})
	reader := newTestStore(t, pool, Config{})
	reader.start(&reader.listenOnce, reader.listener.run)

	appendDirect := func() error {
		_, err := writer.Append(ctx, "pgtest:notified-"+uuid.NewString(), eventstore.NoStream, oneEvent())
		return err
	}
	appendInTx := func() error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := writer.AppendTx(ctx, tx, "pgtest:notified-"+uuid.NewString(), eventstore.NoStream, oneEvent())
			return err
		})
	}
	for round, appendOne := range []func() error{appendDirect, appendInTx, appendDirect, appendInTx} {
		changed := reader.wake.changed()
		if err := appendOne(); err != nil {
			t.Fatalf("round %d: append: %v", round, err)
		}
		timeout := time.NewTimer(storetest.WaitTimeout)
		select {
		case <-changed:
			timeout.Stop()
		case <-timeout.C:
			t.Fatalf("round %d: no wake-up within %v of a committed append", round, storetest.WaitTimeout)
		}
	}
}

// TestPollingDeliversWhatNoNotificationAnnounces holds the read horizon back
// with an unrelated writing transaction, which sends no notification when it
// ends. A subscription whose store has no listener (and makes no appends of
// its own to wake it) must still deliver, by polling, the event that became
// readable then.
func TestPollingDeliversWhatNoNotificationAnnounces(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, pgtest.New(t))
	writer := newTestStore(t, pool, Config{})
	reader := newTestStore(t, pool, Config{PollInterval: 20 * time.Millisecond})
	reader.listenOnce.Do(func() {})

	sub, err := reader.Subscribe(t.Context(), eventstore.Start)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	unrelated, err := pool.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	t.Cleanup(func() { _ = unrelated.Rollback(ctx) })
	if _, err := unrelated.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatalf("assign transaction id: %v", err)
	}
	e := oneEvent()
	if _, err := writer.Append(ctx, "pgtest:polled-"+uuid.NewString(), eventstore.NoStream, e); err != nil {
		t.Fatalf("append: %v", err)
	}
	if got, err := reader.ReadAll(ctx, eventstore.Start, 0); err != nil || len(got) != 0 {
		t.Fatalf("ReadAll behind the open transaction: %d events, %v; want none", len(got), err)
	}
	if err := unrelated.Commit(ctx); err != nil {
		t.Fatalf("commit the unrelated transaction: %v", err)
	}

	timeout := time.NewTimer(storetest.WaitTimeout)
	defer timeout.Stop()
	select {
	case got, ok := <-sub.Events():
		if !ok || got.ID != e[0].ID {
			t.Fatalf("got %v (open %v, err %v), want event %s", got.ID, ok, sub.Err(), e[0].ID)
		}
	case <-timeout.C:
		t.Fatalf("polling did not deliver the event within %v", storetest.WaitTimeout)
	}
}
