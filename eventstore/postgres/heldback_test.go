package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/postgres"
)

// TestHeldBackEventArrivesBeforeThePoll appends while an older transaction
// that writes no event (another service's, a migration, CREATE DATABASE)
// is open, so the event is held back; that transaction's end is announced
// to no one, yet the subscription delivers the event without waiting for
// its poll, which is an hour here.
func TestHeldBackEventArrivesBeforeThePoll(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t, postgres.Config{PollInterval: time.Hour})
	start := head(t, s)
	sub := subscribe(t, s, start)

	blocker := begin(t, pool)
	if _, err := blocker.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatalf("assign the blocker's transaction id: %v", err)
	}
	e := event()
	if _, err := s.Append(ctx, stream("held"), eventstore.NoStream, []eventstore.EventData{e}); err != nil {
		t.Fatalf("append: %v", err)
	}
	if got := readAll(t, s, start); len(got) != 0 {
		t.Fatalf("ReadAll while the blocker is open = %v, want nothing", got)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatalf("end the blocker: %v", err)
	}
	if got := next(t, sub); got.ID != e.ID {
		t.Fatalf("delivered %s, want %s", got.ID, e.ID)
	}
	if got := readAll(t, s, start); !slices.Equal(got, []uuid.UUID{e.ID}) {
		t.Fatalf("ReadAll after the blocker = %v, want %v", got, e.ID)
	}
}
