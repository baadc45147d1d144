package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/envelope"
	"github.com/annals-dev/annals/adapters/kafka/kafkatest"
	"github.com/annals-dev/annals/eventstore"
)

// The consumer prints each event once, with its audit fields, although the
// topics hold duplicates, as after a relay crash.
func TestPrintsEachEventOnceAsAJSONLine(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, AllowAutoTopicCreation: true}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	want := map[string]eventstore.RecordedEvent{}
	duplicates := 0
	for i := range 10 {
		realm := []string{"sartiq", "civic"}[i%2]
		meta, _ := json.Marshal(eventstore.Metadata{ActorID: "admin", CorrelationID: uuid.New()})
		e := eventstore.RecordedEvent{
			ID: uuid.New(), StreamID: realm + ":user-1", Version: int64(i / 2),
			Position: eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)},
			Type:     "UserRenamed", Data: fmt.Appendf(nil, `{"n":%d}`, i), Metadata: meta, RecordedAt: time.Now(),
		}
		want[e.ID.String()] = e
		msg, err := envelope.NewMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		// Every third event is published twice.
		copies := []*message.Message{msg}
		if i%3 == 0 {
			copies = append(copies, msg.Copy())
			duplicates++
		}
		if err := pub.Publish("annals."+realm+".events", copies...); err != nil {
			t.Fatal(err)
		}
	}

	out, printed := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{
			brokers: brokers, topics: []string{"annals.sartiq.events", "annals.civic.events"},
			group: "audit", dedupeWindow: 100, maxWait: 100 * time.Millisecond,
		}, printed)
		printed.Close()
	}()
	var texts []string // read once scanned is closed
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		for sc := bufio.NewScanner(out); sc.Scan(); {
			texts = append(texts, sc.Text())
		}
	}()
	if n := kafkatest.Count(t, brokers, "annals.sartiq.events") + kafkatest.Count(t, brokers, "annals.civic.events"); n != int64(len(want)+duplicates) {
		t.Fatalf("topics hold %d messages, want %d with the duplicates", n, len(want)+duplicates)
	}

	// Offsets are committed after printing: once the group has no lag,
	// every message, duplicates included, went through the consumer.
	groupLag, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: brokers, ConsumerGroup: "audit"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer groupLag.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for caughtUp := false; !caughtUp; {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the consumer group did not catch up")
		}
		caughtUp = true
		for _, topic := range []string{"annals.sartiq.events", "annals.civic.events"} {
			n, err := groupLag.Lag(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			caughtUp = caughtUp && n == 0
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	<-scanned

	got := map[string]line{}
	for _, text := range texts {
		var l line
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			t.Fatalf("not a JSON line: %q", text)
		}
		if _, dup := got[l.EventID]; dup {
			t.Fatalf("event %s printed twice", l.EventID)
		}
		got[l.EventID] = l
	}
	if len(got) != len(want) {
		t.Fatalf("%d events printed, want %d", len(got), len(want))
	}
	for id, e := range want {
		l := got[id]
		meta, _ := eventstore.DecodeMetadata(e.Metadata)
		if l.Type != e.Type || l.Stream != e.StreamID || l.Version != e.Version || l.Position != e.Position.String() ||
			l.ActorID != "admin" || l.CorrelationID != meta.CorrelationID.String() || string(l.Data) != string(e.Data) {
			t.Errorf("printed %+v for event %+v", l, e)
		}
	}

}
