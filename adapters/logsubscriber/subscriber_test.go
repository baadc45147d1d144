package logsubscriber_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/logsubscriber"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
)

// receiveTimeout bounds every wait for a message; reaching it fails a test.
const receiveTimeout = 5 * time.Second

func appendEvents(t *testing.T, store eventstore.Store, stream string, n int) []eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	data := make([]eventstore.EventData, n)
	for i := range data {
		data[i] = eventstore.EventData{
			ID:       uuid.New(),
			Type:     "Thing",
			Data:     fmt.Appendf(nil, `{"n":%d}`, i),
			Metadata: []byte(`{"realm":"test"}`),
		}
	}
	if _, err := store.Append(ctx, stream, eventstore.Any, data); err != nil {
		t.Fatalf("append: %v", err)
	}
	recorded, err := store.ReadStream(ctx, stream, 0, 0)
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return recorded[len(recorded)-n:]
}

func newSubscriber(t *testing.T, store eventstore.Store, from eventstore.Position) *logsubscriber.Subscriber {
	t.Helper()
	return newBatchingSubscriber(t, store, from, 0)
}

func newBatchingSubscriber(t *testing.T, store eventstore.Store, from eventstore.Position, maxBatch int) *logsubscriber.Subscriber {
	t.Helper()
	sub, err := logsubscriber.New(logsubscriber.Config{
		Store: store,
		Checkpoints: logsubscriber.CheckpointFunc(func(context.Context, string) (eventstore.Position, error) {
			return from, nil
		}),
		Backoff:    time.Millisecond,
		MaxBackoff: 4 * time.Millisecond,
		MaxBatch:   maxBatch,
	})
	if err != nil {
		t.Fatalf("new subscriber: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func receive(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatal("channel closed while a message was expected")
		}
		return msg
	case <-time.After(receiveTimeout):
		t.Fatal("no message received")
	}
	return nil
}

func assertEvent(t *testing.T, msg *message.Message, want eventstore.RecordedEvent) {
	t.Helper()
	got, err := logsubscriber.Decode(msg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.ID != want.ID || got.Position != want.Position || got.StreamID != want.StreamID ||
		got.Version != want.Version || got.Type != want.Type || string(got.Data) != string(want.Data) ||
		string(got.Metadata) != string(want.Metadata) || !got.RecordedAt.Equal(want.RecordedAt) {
		t.Fatalf("message decodes to %+v, want %+v", got, want)
	}
}

// assertEvents checks that msg carries want, in order.
func assertEvents(t *testing.T, msg *message.Message, want []eventstore.RecordedEvent) {
	t.Helper()
	got, err := logsubscriber.DecodeAll(msg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("message carries %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Position != want[i].Position || got[i].StreamID != want[i].StreamID ||
			got[i].Version != want[i].Version || got[i].Type != want[i].Type || string(got[i].Data) != string(want[i].Data) ||
			string(got[i].Metadata) != string(want[i].Metadata) || !got[i].RecordedAt.Equal(want[i].RecordedAt) {
			t.Fatalf("event %d decodes to %+v, want %+v", i, got[i], want[i])
		}
	}
}

func assertClosed(t *testing.T, ch <-chan *message.Message) {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if ok {
			t.Fatalf("unexpected message %s on a channel that should be closed", msg.UUID)
		}
	case <-time.After(receiveTimeout):
		t.Fatal("channel not closed")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	e := eventstore.RecordedEvent{
		ID: uuid.New(), StreamID: "sartiq:user-1", Version: 7,
		Position: eventstore.Position{Commit: 1 << 40, Prepare: 3}, Type: "UserRegistered",
		Data: []byte(`{"email":"a@b.c"}`), Metadata: []byte(`{"realm":"sartiq"}`),
		RecordedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
	msg := logsubscriber.Encode(e)
	if msg.UUID != e.ID.String() {
		t.Fatalf("message uuid %s, want the event id %s", msg.UUID, e.ID)
	}
	if got := msg.Metadata.Get(logsubscriber.MetaPosition); got != "1099511627776/3" {
		t.Fatalf("position metadata %q", got)
	}
	assertEvent(t, msg, e)

	msg.Metadata.Set(logsubscriber.MetaPosition, "garbage")
	if _, err := logsubscriber.Decode(msg); err == nil {
		t.Fatal("decoding a message with a bad position succeeded")
	}
}

func TestEncodeAllDecodeAllRoundTrip(t *testing.T) {
	events := appendEvents(t, memory.New(), "test:a-1", 3)
	single, err := logsubscriber.EncodeAll(events[:1])
	if err != nil {
		t.Fatalf("encode one: %v", err)
	}
	assertEvent(t, single, events[0])
	assertEvents(t, single, events[:1])
	several, err := logsubscriber.EncodeAll(events)
	if err != nil {
		t.Fatalf("encode several: %v", err)
	}
	assertEvents(t, several, events)
}

func TestSubscribeStartsAfterCheckpointAndGoesLive(t *testing.T) {
	store := memory.New()
	history := appendEvents(t, store, "test:a-1", 3)
	sub := newSubscriber(t, store, history[0].Position)

	ch, err := sub.Subscribe(t.Context(), "projector")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	for _, want := range history[1:] {
		msg := receive(t, ch)
		assertEvent(t, msg, want)
		msg.Ack()
	}
	live := appendEvents(t, store, "test:b-1", 1)
	msg := receive(t, ch)
	assertEvent(t, msg, live[0])
	msg.Ack()
}

func TestOneMessageAtATime(t *testing.T) {
	store := memory.New()
	events := appendEvents(t, store, "test:a-1", 2)
	sub := newSubscriber(t, store, eventstore.Start)
	ch, err := sub.Subscribe(t.Context(), "projector")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	first := receive(t, ch)
	assertEvent(t, first, events[0])
	// Until the first is acked the second must not be handed out.
	select {
	case msg := <-ch:
		t.Fatalf("got %s before acking the previous message", msg.UUID)
	case <-time.After(50 * time.Millisecond):
	}
	first.Ack()
	assertEvent(t, receive(t, ch), events[1])
}

func TestNackRedeliversTheSameEvent(t *testing.T) {
	store := memory.New()
	events := appendEvents(t, store, "test:a-1", 2)
	sub := newSubscriber(t, store, eventstore.Start)
	ch, err := sub.Subscribe(t.Context(), "projector")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	first := receive(t, ch)
	first.Nack()
	select {
	case <-first.Context().Done():
	case <-time.After(receiveTimeout):
		t.Fatal("a nacked message's context stays live")
	}
	for range 2 {
		again := receive(t, ch)
		assertEvent(t, again, events[0])
		if again == first {
			t.Fatal("a nacked message was sent again as the same object; it cannot be acked")
		}
		again.Nack()
	}
	again := receive(t, ch)
	assertEvent(t, again, events[0])
	again.Ack()
	assertEvent(t, receive(t, ch), events[1])
}

// drivenStore's subscription hands out what the test sends on events. The
// subscriber reads ahead one event at a time, so once a send returns, every
// event sent before it waits for the next message.
type drivenStore struct {
	*memory.Store
	events chan eventstore.RecordedEvent
}

func (s drivenStore) Subscribe(context.Context, eventstore.Position) (eventstore.Subscription, error) {
	return drivenSubscription(s.events), nil
}

type drivenSubscription chan eventstore.RecordedEvent

func (s drivenSubscription) Events() <-chan eventstore.RecordedEvent { return s }
func (drivenSubscription) Err() error                                { return nil }

func TestBatchesTheEventsReadWhileAMessageIsHandled(t *testing.T) {
	store := drivenStore{Store: memory.New(), events: make(chan eventstore.RecordedEvent)}
	events := appendEvents(t, store, "test:a-1", 6)
	sub := newBatchingSubscriber(t, store, eventstore.Start, 3)
	// Runs before the subscriber's Close, which waits for it.
	t.Cleanup(func() { close(store.events) })
	ch, err := sub.Subscribe(t.Context(), "projector")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	store.events <- events[0]
	first := receive(t, ch)
	assertEvents(t, first, events[:1]) // a lone event is not held back
	// Read while the first is handled: three wait, the fourth is read.
	for _, e := range events[1:5] {
		store.events <- e
	}
	first.Ack()
	batch := receive(t, ch)
	assertEvents(t, batch, events[1:4])
	batch.Nack()
	again := receive(t, ch)
	assertEvents(t, again, events[1:4])
	again.Ack()
	store.events <- events[5]
	var rest []eventstore.RecordedEvent
	for len(rest) < 2 {
		msg := receive(t, ch)
		got, err := logsubscriber.DecodeAll(msg)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		rest = append(rest, got...)
		msg.Ack()
	}
	if len(rest) != 2 || rest[0].ID != events[4].ID || rest[1].ID != events[5].ID {
		t.Fatalf("last messages carry %v, want the last two events", rest)
	}
}

func TestContextCancelClosesChannel(t *testing.T) {
	store := memory.New()
	appendEvents(t, store, "test:a-1", 1)
	sub := newSubscriber(t, store, eventstore.Start)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := sub.Subscribe(ctx, "projector")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	receive(t, ch) // left unacked: cancel must not wait for it
	cancel()
	assertClosed(t, ch)
}

func TestCloseEndsSubscriptions(t *testing.T) {
	store := memory.New()
	sub := newSubscriber(t, store, eventstore.Start)
	a, err := sub.Subscribe(t.Context(), "a")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	b, err := sub.Subscribe(t.Context(), "b")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	assertClosed(t, a)
	assertClosed(t, b)
	if _, err := sub.Subscribe(t.Context(), "c"); !errors.Is(err, logsubscriber.ErrClosed) {
		t.Fatalf("subscribe after close: %v, want ErrClosed", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestCheckpointFailureFailsSubscribe(t *testing.T) {
	boom := errors.New("boom")
	sub, err := logsubscriber.New(logsubscriber.Config{
		Store: memory.New(),
		Checkpoints: logsubscriber.CheckpointFunc(func(context.Context, string) (eventstore.Position, error) {
			return eventstore.Position{}, boom
		}),
	})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	defer sub.Close()
	if _, err := sub.Subscribe(t.Context(), "p"); !errors.Is(err, boom) {
		t.Fatalf("subscribe: %v, want the checkpoint error", err)
	}
}

// flakyStore's first subscription ends with an error after one event, as a
// backend losing its connection would.
type flakyStore struct {
	*memory.Store
	calls atomic.Int32
	froms chan eventstore.Position
}

func (s *flakyStore) Subscribe(ctx context.Context, from eventstore.Position) (eventstore.Subscription, error) {
	s.froms <- from
	inner, err := s.Store.Subscribe(ctx, from)
	if err != nil || s.calls.Add(1) > 1 {
		return inner, err
	}
	out := &brokenSubscription{events: make(chan eventstore.RecordedEvent)}
	go func() {
		defer close(out.events)
		select {
		case e := <-inner.Events():
			out.events <- e
		case <-ctx.Done():
		}
	}()
	return out, nil
}

type brokenSubscription struct{ events chan eventstore.RecordedEvent }

func (b *brokenSubscription) Events() <-chan eventstore.RecordedEvent { return b.events }
func (b *brokenSubscription) Err() error                              { return errors.New("connection lost") }

func TestResubscribesAfterTheLastAckedEvent(t *testing.T) {
	store := &flakyStore{Store: memory.New(), froms: make(chan eventstore.Position, 4)}
	events := appendEvents(t, store, "test:a-1", 3)
	sub := newSubscriber(t, store, eventstore.Start)
	ch, err := sub.Subscribe(t.Context(), "projector")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	for _, want := range events {
		msg := receive(t, ch)
		assertEvent(t, msg, want)
		msg.Ack()
	}
	if first, second := <-store.froms, <-store.froms; first != eventstore.Start || second != events[0].Position {
		t.Fatalf("subscribed from %s then %s, want start then %s", first, second, events[0].Position)
	}
}

func TestConfigValidate(t *testing.T) {
	store := memory.New()
	cp := logsubscriber.CheckpointFunc(func(context.Context, string) (eventstore.Position, error) { return eventstore.Start, nil })
	for name, cfg := range map[string]logsubscriber.Config{
		"no store":       {Checkpoints: cp},
		"no checkpoints": {Store: store},
		"max below min":  {Store: store, Checkpoints: cp, Backoff: time.Second, MaxBackoff: time.Millisecond},
		"negative batch": {Store: store, Checkpoints: cp, MaxBatch: -1},
	} {
		if _, err := logsubscriber.New(cfg); err == nil {
			t.Errorf("%s: New accepted an invalid config", name)
		}
	}
}
