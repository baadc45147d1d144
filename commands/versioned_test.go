package commands_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
)

// addOne decides one increment whatever the state.
func addOne(int) ([]kernel.Event, error) { return []kernel.Event{incremented{By: 1}}, nil }

func TestLoadAtFoldsUpToAVersion(t *testing.T) {
	x, _ := newExecutor()
	ctx := context.Background()
	for range 3 {
		if _, err := increment(ctx, x, commands.Meta{Realm: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	for version, want := range map[int64]int{-1: 0, 0: 1, 1: 2, 2: 3, 9: 3} {
		got, err := commands.LoadAt(ctx, x, counter, "test", "c1", version)
		if err != nil || got != want {
			t.Errorf("state at %d = %d, %v; want %d", version, got, err, want)
		}
	}
}

func TestExecuteAtDecidesOnlyOnTheVersionGiven(t *testing.T) {
	x, store := newExecutor()
	ctx := context.Background()
	if _, err := increment(ctx, x, commands.Meta{Realm: "test"}); err != nil {
		t.Fatal(err)
	}
	_, err := commands.ExecuteAt(ctx, x, counter, commands.Meta{Realm: "test"}, "c1", -1, addOne)
	if !errors.Is(err, commands.ErrMoved) {
		t.Fatalf("a stream past the version: %v, want moved", err)
	}
	res, err := commands.ExecuteAt(ctx, x, counter, commands.Meta{Realm: "test"}, "c1", 0, addOne)
	if err != nil || res.Version != 1 || res.CommandID == uuid.Nil {
		t.Fatalf("at its version: %+v, %v", res, err)
	}
	if events, _ := store.ReadStream(ctx, kernel.StreamName("test", "counter", "c1"), 0, 0); len(events) != 2 {
		t.Fatalf("%d events, want 2: a moved stream gets nothing", len(events))
	}
	// A writer slipping in between the read and the append loses nothing:
	// the append expecting the old version fails as moved.
	racing := &racingStore{Store: store, x: x}
	x.Store = racing
	_, err = commands.ExecuteAt(ctx, x, counter, commands.Meta{Realm: "test"}, "c1", 1, addOne)
	if !errors.Is(err, commands.ErrMoved) || !racing.raced {
		t.Fatalf("raced append: %v (raced %v)", err, racing.raced)
	}
	// A new stream is expected to be absent.
	if _, err := commands.ExecuteAt(ctx, x, counter, commands.Meta{Realm: "test"}, "c2", -1, addOne); err != nil {
		t.Fatalf("a new stream: %v", err)
	}
}

// racingStore appends one event of its own before the first append it is
// asked for.
type racingStore struct {
	eventstore.Store
	x     *commands.Executor
	raced bool
}

func (s *racingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if !s.raced {
		s.raced = true
		if _, err := s.Store.Append(ctx, stream, eventstore.Any, []eventstore.EventData{{ID: uuid.New(), Type: incremented{}.EventType(), Data: []byte(`{"by":5}`)}}); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	return s.Store.Append(ctx, stream, expected, events)
}

func TestRecordAppendsWhateverTheVersionUnderOneCommand(t *testing.T) {
	x, store := newExecutor()
	ctx := context.Background()
	meta := commands.Meta{Realm: "test", Command: "Note"}.Grouped()
	for range 2 {
		res, err := commands.Record(ctx, x, "counter", meta, "c1", incremented{By: 1})
		if err != nil || res.CommandID != meta.CommandID {
			t.Fatalf("record: %+v, %v", res, err)
		}
	}
	events, _ := store.ReadStream(ctx, kernel.StreamName("test", "counter", "c1"), 0, 0)
	if len(events) != 2 {
		t.Fatalf("%d events recorded, want 2", len(events))
	}
	for _, e := range events {
		md, err := eventstore.DecodeMetadata(e.Metadata)
		if err != nil || md.CommandID != meta.CommandID || md.Command != "Note" {
			t.Fatalf("recorded metadata %+v, %v", md, err)
		}
	}
}

func TestGroupedKeepsACommandIDAndGivesOneOtherwise(t *testing.T) {
	id := uuid.New()
	if got := (commands.Meta{CommandID: id}).Grouped().CommandID; got != id {
		t.Fatalf("grouped replaced the command id %s with %s", id, got)
	}
	if (commands.Meta{}).Grouped().CommandID == uuid.Nil {
		t.Fatal("grouped gave no command id")
	}
}
