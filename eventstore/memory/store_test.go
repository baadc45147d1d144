package memory_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
	"github.com/annals-dev/annals/eventstore/storetest"
)

func newStore(*testing.T) eventstore.Store { return memory.New() }

func TestConformance(t *testing.T) { storetest.Run(t, newStore) }

func TestStrictIdempotency(t *testing.T) { storetest.RunStrictIdempotency(t, newStore) }

// TestStoredEventsAreCopies guards what a database gives for free: neither
// the appender's buffers nor a reader's slices alias what is stored.
func TestStoredEventsAreCopies(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	data := []byte(`{"n":1}`)
	if _, err := s.Append(ctx, "memtest:copies", eventstore.NoStream, []eventstore.EventData{{ID: uuid.New(), Type: "t", Data: data}}); err != nil {
		t.Fatalf("append: %v", err)
	}
	data[6] = '2'
	read, err := s.ReadStream(ctx, "memtest:copies", 0, 0)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	read[0].Data[6] = '3'
	again, err := s.ReadAll(ctx, eventstore.Start, 0)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	if got := string(again[0].Data); got != `{"n":1}` {
		t.Fatalf("stored data became %s", got)
	}
}
