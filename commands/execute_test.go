package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
)

type incremented struct {
	By int `json:"by"`
}

func (incremented) EventType() string { return "test.Incremented" }

var counter = kernel.Aggregate[int]{Kind: "counter", Evolve: func(n int, e kernel.Event) int {
	return n + e.(incremented).By
}}

func newExecutor() (*commands.Executor, *memory.Store) {
	store := memory.New()
	r := kernel.NewRegistry()
	r.Register(incremented{})
	x := commands.NewExecutor(store, r)
	x.Now = func() time.Time { return time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC) }
	return x, store
}

func increment(ctx context.Context, x *commands.Executor, meta commands.Meta) (commands.Result, error) {
	return commands.Execute(ctx, x, counter, meta, "c1", func(int) ([]kernel.Event, error) {
		return []kernel.Event{incremented{By: 1}}, nil
	})
}

func TestConcurrentCommandsAllLandThroughRetries(t *testing.T) {
	x, _ := newExecutor()
	ctx := context.Background()
	const writers = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := increment(ctx, x, commands.Meta{Realm: "test"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a command failed: %v", err)
		}
	}
	n, version, err := commands.Load(ctx, x, counter, "test", "c1")
	if err != nil || n != writers || version != writers-1 {
		t.Fatalf("state %d at version %d (%v), want %d at %d", n, version, err, writers, writers-1)
	}
}

func TestMetadataIsStampedOnEveryEvent(t *testing.T) {
	x, store := newExecutor()
	ctx := context.Background()
	cmdID, corr := uuid.New(), uuid.New()
	meta := commands.Meta{Realm: "test", ActorID: "u9", Command: "Increment", CommandID: cmdID, CorrelationID: corr,
		Request: &eventstore.RequestInfo{RequestID: "r1", ClientAddr: "127.0.0.1:1", UserAgent: "ua"}}
	res, err := commands.Execute(ctx, x, counter, meta, "c1", func(int) ([]kernel.Event, error) {
		return []kernel.Event{incremented{By: 1}, incremented{By: 2}}, nil
	})
	if err != nil || res.CommandID != cmdID || res.Version != 1 || !res.Appended() {
		t.Fatalf("result %+v, %v", res, err)
	}
	recorded, err := store.ReadStream(ctx, kernel.StreamName("test", "counter", "c1"), 0, 0)
	if err != nil || len(recorded) != 2 {
		t.Fatalf("stream: %d events, %v", len(recorded), err)
	}
	ids := map[uuid.UUID]bool{}
	for _, r := range recorded {
		md, err := eventstore.DecodeMetadata(r.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		want := eventstore.Metadata{Realm: "test", ActorID: "u9", Command: "Increment", CommandID: cmdID,
			CorrelationID: corr, CausationID: cmdID, OccurredAt: x.Now(), Request: meta.Request}
		if md.Request == nil || *md.Request != *want.Request {
			t.Fatalf("request info %+v", md.Request)
		}
		md.Request, want.Request = nil, nil
		if md != want {
			t.Fatalf("metadata\n got  %+v\n want %+v", md, want)
		}
		ids[r.ID] = true
	}
	if len(ids) != 2 || ids[uuid.Nil] {
		t.Fatalf("event ids not unique and set: %v", ids)
	}
}

func TestRefusalsAndNoOpsAppendNothing(t *testing.T) {
	x, store := newExecutor()
	ctx := context.Background()
	refused := kernel.Rule("nope", "refused")
	if _, err := commands.Execute(ctx, x, counter, commands.Meta{Realm: "test"}, "c1", func(int) ([]kernel.Event, error) {
		return nil, refused
	}); !errors.Is(err, refused) {
		t.Fatalf("refusal lost: %v", err)
	}
	res, err := commands.Execute(ctx, x, counter, commands.Meta{Realm: "test"}, "c1", func(int) ([]kernel.Event, error) {
		return nil, nil
	})
	if err != nil || res.Appended() || res.Version != -1 {
		t.Fatalf("no-op: %+v %v", res, err)
	}
	if head, err := store.Head(ctx); err != nil || head != eventstore.Start {
		t.Fatalf("something was appended: head %v, %v", head, err)
	}
}

func TestPersistentConflictBecomesConflictError(t *testing.T) {
	x, store := newExecutor()
	x.MaxAttempts = 3
	ctx := context.Background()
	stream := kernel.StreamName("test", "counter", "c1")
	attempts := 0
	_, err := commands.Execute(ctx, x, counter, commands.Meta{Realm: "test"}, "c1", func(int) ([]kernel.Event, error) {
		attempts++
		// Another writer always gets in between our read and our append.
		if _, err := store.Append(ctx, stream, eventstore.Any, []eventstore.EventData{{ID: uuid.New(), Type: "test.Incremented", Data: []byte(`{"by":1}`)}}); err != nil {
			t.Fatal(err)
		}
		return []kernel.Event{incremented{By: 1}}, nil
	})
	if !errors.Is(err, kernel.ErrConflict) || attempts != 3 {
		t.Fatalf("err %v after %d attempts, want a conflict after 3", err, attempts)
	}
}
