package esdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/esdb"
	"github.com/annals-dev/annals/eventstore/esdb/esdbtest"
)

// waitTimeout bounds waits for a subscription.
const waitTimeout = 10 * time.Second

func event(eventType string) eventstore.EventData {
	id := uuid.New()
	return eventstore.EventData{
		ID:       id,
		Type:     eventType,
		Data:     fmt.Appendf(nil, `{"id":%q}`, id),
		Metadata: fmt.Appendf(nil, `{"realm":"esdb-test","command_id":%q}`, uuid.New()),
	}
}

func mustAppend(t *testing.T, s *esdb.Store, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, expected, events)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func subscribe(t *testing.T, s *esdb.Store, ctx context.Context, from eventstore.Position) *esdb.Subscription {
	t.Helper()
	sub, err := s.Subscribe(ctx, from)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return sub.(*esdb.Subscription)
}

// next waits for the subscription's next event.
func next(t *testing.T, sub *esdb.Subscription) eventstore.RecordedEvent {
	t.Helper()
	select {
	case e, ok := <-sub.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return e
	case <-time.After(waitTimeout):
		t.Fatalf("no event within %v", waitTimeout)
		return eventstore.RecordedEvent{}
	}
}

// ended waits for the subscription to end and returns why.
func ended(t *testing.T, sub *esdb.Subscription) error {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return sub.Err()
			}
		case <-timeout:
			t.Fatalf("subscription still open after %v", waitTimeout)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		cfg     esdb.Config
		wantErr string
	}{
		{"zero value uses the defaults", esdb.Config{}, ""},
		{"single node without TLS", esdb.Config{URL: "esdb://127.0.0.1:2113?tls=false", SubscriptionBuffer: 1}, ""},
		{"negative subscription buffer", esdb.Config{SubscriptionBuffer: -1}, "negative"},
		{"not a connection string", esdb.Config{URL: "postgres://localhost/db"}, "connection string"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if c.wantErr == "" && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.wantErr)
		}
	}
	if _, err := esdb.New(esdb.Config{URL: "postgres://localhost/db"}); err == nil {
		t.Error("New accepted an invalid configuration")
	}
}

func TestNewFailsWithoutServer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	s, err := esdb.New(esdb.Config{URL: "esdb://" + addr + "?tls=false"})
	if err == nil {
		_ = s.Close()
		t.Fatal("New succeeded with nothing listening")
	}
	if !strings.Contains(err.Error(), "connect") {
		t.Fatalf("err = %v, want a connection failure", err)
	}
}

// TestStoredAsEventStoreDBEvents checks what other EventStoreDB clients see:
// the stream as named, our event ids, JSON content and our metadata as the
// user metadata.
func TestStoredAsEventStoreDBEvents(t *testing.T) {
	srv, s := startDouble(t)
	stream := "realm-kind-" + uuid.NewString()
	want := event("kind.Created")
	before := time.Now()
	res := mustAppend(t, s, stream, eventstore.NoStream, want)
	after := time.Now()

	conf, err := esdbclient.ParseConnectionString(srv.ConnectionString())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	conf.Logger = esdbclient.NoopLogging()
	client, err := esdbclient.NewClient(conf)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer client.Close()
	read, err := client.ReadStream(context.Background(), stream, esdbclient.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer read.Close()
	got, err := read.Recv()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	e := got.OriginalEvent()
	if e.EventID != want.ID || e.EventType != want.Type || e.ContentType != "application/json" ||
		!bytes.Equal(e.Data, want.Data) || !bytes.Equal(e.UserMetadata, want.Metadata) || e.EventNumber != 0 {
		t.Fatalf("stored %+v, want id %s type %s as JSON with our metadata", e, want.ID, want.Type)
	}
	if e.Position.Commit != res.Position.Commit || e.Position.Prepare != res.Position.Prepare {
		t.Fatalf("stored at %v, append reported %v", e.Position, res.Position)
	}

	events, err := s.ReadStream(context.Background(), stream, 0, 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("ReadStream = %d events, %v", len(events), err)
	}
	// The server keeps times in 100ns ticks.
	if at := events[0].RecordedAt; at.Before(before.Truncate(time.Microsecond)) || at.After(after) {
		t.Fatalf("RecordedAt %v, want between %v and %v", at, before, after)
	}
	md, err := eventstore.DecodeMetadata(events[0].Metadata)
	if err != nil || md.Realm != "esdb-test" {
		t.Fatalf("metadata %s decodes to %+v, %v", events[0].Metadata, md, err)
	}
}

func TestSystemEventsLeftOut(t *testing.T) {
	_, s := startDouble(t)
	ctx := context.Background()

	// The server's own events are all there is at first.
	if head, err := s.Head(ctx); err != nil || head != eventstore.Start {
		t.Fatalf("Head of a fresh server = %v, %v; want Start", head, err)
	}
	stream := "sys-" + uuid.NewString()
	mine := mustAppend(t, s, stream, eventstore.NoStream, event("kind.Happened"))
	system := mustAppend(t, s, stream, 0, event("$kind.internal"), event("$kind.internal"))

	head, err := s.Head(ctx)
	if err != nil || head != mine.Position {
		t.Fatalf("Head = %v, %v; want the last non-system event at %v", head, err, mine.Position)
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	if err != nil || len(all) != 1 || all[0].Position != mine.Position {
		t.Fatalf("ReadAll = %+v, %v; want only the non-system event", all, err)
	}

	sub := subscribe(t, s, ctx, eventstore.Start)
	if e := next(t, sub); e.Position != mine.Position {
		t.Fatalf("subscription delivered %v first, want %v", e.Position, mine.Position)
	}
	select {
	case <-sub.CaughtUp():
	case <-time.After(waitTimeout):
		t.Fatalf("not caught up within %v", waitTimeout)
	}
	// Caught up means the history is in the channel: nothing else came.
	if n := len(sub.Events()); n != 0 {
		t.Fatalf("%d more events delivered, want none", n)
	}
	// The server's checkpoint carried the subscription past the system events.
	if cp := sub.Checkpoint(); cp != system.Position {
		t.Fatalf("Checkpoint = %v, want the last system event's %v", cp, system.Position)
	}

	live := mustAppend(t, s, stream, 2, event("kind.Happened"))
	if e := next(t, sub); e.Position != live.Position {
		t.Fatalf("live event at %v, want %v", e.Position, live.Position)
	}
	if cp := sub.Checkpoint(); cp != live.Position {
		t.Fatalf("Checkpoint after a live event = %v, want %v", cp, live.Position)
	}
}

func TestAppendRejectsInvalidInput(t *testing.T) {
	_, s := startDouble(t)
	ctx := context.Background()
	stream := "invalid-" + uuid.NewString()

	if _, err := s.Append(ctx, stream, eventstore.NoStream, nil); err == nil || errors.Is(err, eventstore.ErrWrongVersion) {
		t.Errorf("append of no events: err = %v, want an input error", err)
	}
	if _, err := s.Append(ctx, stream, -3, []eventstore.EventData{event("E")}); err == nil || errors.Is(err, eventstore.ErrWrongVersion) {
		t.Errorf("append at version -3: err = %v, want an input error", err)
	}
	if _, err := s.ReadStream(ctx, stream, -1, 0); err == nil {
		t.Error("read from version -1 succeeded")
	}
	if got, err := s.ReadStream(ctx, stream, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("rejected appends wrote %d events (%v)", len(got), err)
	}
}

func TestIdempotentReappendWithAny(t *testing.T) {
	_, s := startDouble(t)
	stream := "idem-any-" + uuid.NewString()
	events := []eventstore.EventData{event("A"), event("B")}
	first := mustAppend(t, s, stream, eventstore.Any, events...)
	mustAppend(t, s, stream, eventstore.Any, event("C"))
	if again := mustAppend(t, s, stream, eventstore.Any, events...); again != first {
		t.Fatalf("re-append with Any = %+v, want the original %+v", again, first)
	}
	if got, err := s.ReadStream(context.Background(), stream, 0, 0); err != nil || len(got) != 3 {
		t.Fatalf("stream holds %d events (%v), want 3", len(got), err)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	srv := esdbtest.Start(t)
	s, err := esdb.New(esdb.Config{URL: srv.ConnectionString()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	sub := subscribe(t, s, context.Background(), eventstore.Start)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := ended(t, sub); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("subscription of a closed store ended with %v, want the store being closed", err)
	}
	if _, err := s.Subscribe(context.Background(), eventstore.Start); err == nil {
		t.Fatal("Subscribe on a closed store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestServerGoingAwayEndsSubscription(t *testing.T) {
	srv, s := startDouble(t)
	sub := subscribe(t, s, context.Background(), eventstore.Start)
	if err := srv.Close(); err != nil {
		t.Fatalf("stop server: %v", err)
	}
	if err := ended(t, sub); err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("subscription ended with %v, want it dropped by the server", err)
	}
}
