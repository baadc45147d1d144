package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/kafkatest"
)

const waitLimit = 30 * time.Second

// receive takes the next message or fails the test after waitLimit.
func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-msgs:
		if !ok {
			t.Fatal("messages channel closed")
		}
		return msg
	case <-time.After(waitLimit):
		t.Fatal("no message within the wait limit")
	}
	return nil
}

func newSubscriber(t *testing.T, brokers []string, group string) *kafka.Subscriber {
	t.Helper()
	sub, err := kafka.NewSubscriber(fastSubscriberConfig(brokers, group), watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func newPublisher(t *testing.T, brokers []string) *kafka.Publisher {
	t.Helper()
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, AllowAutoTopicCreation: true}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return pub
}

func lag(t *testing.T, sub *kafka.Subscriber, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	n, err := sub.Lag(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A nacked message comes again, an acked one is committed before the next
// is delivered, and an unacked one is delivered to the group's next member.
// Lag follows the committed offsets.
func TestSubscriberCommitsOnlyAckedMessages(t *testing.T) {
	brokers := kafkatest.Brokers(t, kfake.DefaultNumPartitions(1))
	const topic, group = "commits", "commits-group"
	pub := newPublisher(t, brokers)
	var published []*message.Message
	for i := range 3 {
		msg := message.NewMessage(watermill.NewUUID(), []byte(strconv.Itoa(i)))
		published = append(published, msg)
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
	}

	first := newSubscriber(t, brokers, group)
	if got := lag(t, first, topic); got != 3 {
		t.Fatalf("lag before consuming = %d, want 3", got)
	}
	msgs, err := first.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, msgs)
	if m.UUID != published[0].UUID {
		t.Fatalf("first delivery %s, want %s", m.UUID, published[0].UUID)
	}
	m.Nack()
	select {
	case <-m.Context().Done():
	case <-time.After(waitLimit):
		t.Fatal("message context still live after Nack")
	}
	m = receive(t, msgs)
	if m.UUID != published[0].UUID || string(m.Payload) != "0" {
		t.Fatalf("after nack got %s %q, want the same message again", m.UUID, m.Payload)
	}
	m.Ack()
	if m = receive(t, msgs); m.UUID != published[1].UUID {
		t.Fatalf("after ack got %s, want %s", m.UUID, published[1].UUID)
	}
	if got := lag(t, first, topic); got != 2 {
		t.Fatalf("lag with one message acked = %d, want 2", got)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-msgs; open {
		t.Fatal("messages channel open after Close")
	}

	second := newSubscriber(t, brokers, group)
	msgs, err = second.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range published[1:] {
		m := receive(t, msgs)
		if m.UUID != want.UUID {
			t.Fatalf("next member got %s, want %s", m.UUID, want.UUID)
		}
		m.Ack()
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lag(t, second, topic); got != 0 {
		t.Fatalf("lag after acking everything and closing = %d, want 0", got)
	}
}

// Messages sharing a partition key land in one partition and reach a
// two-member group in publish order; keyless messages carry no key.
func TestPublisherKeepsKeyOrderAcrossPartitions(t *testing.T) {
	brokers := kafkatest.Brokers(t, kfake.DefaultNumPartitions(4))
	const topic, keys, perKey = "keyed", 8, 25
	pub := newPublisher(t, brokers)

	want := map[string][]string{} // key -> message UUIDs in publish order
	var batch []*message.Message
	for i := range keys * perKey {
		key := fmt.Sprintf("stream-%d", i%keys)
		msg := message.NewMessage(watermill.NewUUID(), []byte(key))
		msg.Metadata.Set(kafka.DefaultKeyMetadata, key)
		msg.Metadata.Set("seq", strconv.Itoa(i))
		want[key] = append(want[key], msg.UUID)
		batch = append(batch, msg)
		if len(batch) == 20 {
			if err := pub.Publish(topic, batch...); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	keyless := message.NewMessage(watermill.NewUUID(), []byte("keyless"))
	if err := pub.Publish(topic, keyless); err != nil {
		t.Fatal(err)
	}

	// Two members of one group share the partitions.
	merged := make(chan *message.Message)
	for range 2 {
		msgs, err := newSubscriber(t, brokers, "keyed-group").Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for m := range msgs {
				merged <- m
			}
		}()
	}
	got := map[string][]string{}
	seen := map[string]bool{}
	for len(seen) < keys*perKey+1 {
		m := receive(t, merged)
		if !seen[m.UUID] { // a rebalance may redeliver; only first deliveries carry the order
			seen[m.UUID] = true
			key := string(m.Payload)
			got[key] = append(got[key], m.UUID)
		}
		m.Ack()
	}
	for key, ids := range want {
		if fmt.Sprint(got[key]) != fmt.Sprint(ids) {
			t.Errorf("key %s delivered out of publish order", key)
		}
	}

	partitionOf := map[string]int{}
	used := map[int]bool{}
	records := kafkatest.ReadUntil(t, brokers, topic, waitLimit, func(ms []kafkago.Message) bool { return len(ms) == keys*perKey+1 })
	for _, r := range records {
		if string(r.Value) == "keyless" {
			if r.Key != nil {
				t.Errorf("keyless message has key %q", r.Key)
			}
			continue
		}
		if string(r.Key) != string(r.Value) {
			t.Fatalf("record key %q, want the partition_key metadata %q", r.Key, r.Value)
		}
		if p, ok := partitionOf[string(r.Key)]; ok && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", r.Key, p, r.Partition)
		}
		partitionOf[string(r.Key)] = r.Partition
		used[r.Partition] = true
		if !hasHeader(r, kafka.UUIDHeader) || !hasHeader(r, "seq") {
			t.Fatalf("record lacks the uuid or metadata headers: %v", r.Headers)
		}
	}
	if len(used) < 2 {
		t.Fatalf("keys landed in %d partition(s); the test needs them spread", len(used))
	}
}

func hasHeader(m kafkago.Message, key string) bool {
	for _, h := range m.Headers {
		if h.Key == key {
			return true
		}
	}
	return false
}

func TestClosedPublisherAndSubscriberRefuseWork(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	pub := newPublisher(t, brokers)
	sub := newSubscriber(t, brokers, "closed")
	for _, closer := range []interface{ Close() error }{pub, sub, pub, sub} {
		if err := closer.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
	if err := pub.Publish("t", message.NewMessage(watermill.NewUUID(), nil)); !errors.Is(err, kafka.ErrClosed) {
		t.Fatalf("publish after close: %v, want ErrClosed", err)
	}
	if _, err := sub.Subscribe(context.Background(), "t"); !errors.Is(err, kafka.ErrClosed) {
		t.Fatalf("subscribe after close: %v, want ErrClosed", err)
	}
}

func TestSubscribeRefusesAnEmptyTopic(t *testing.T) {
	sub := newSubscriber(t, kafkatest.Brokers(t), "empty")
	if _, err := sub.Subscribe(context.Background(), ""); err == nil {
		t.Fatal("subscribed to an empty topic name")
	}
}

func TestConfigValidation(t *testing.T) {
	brokers := []string{"127.0.0.1:9092"}
	for name, err := range map[string]error{
		"publisher without brokers": publisherErr(kafka.PublisherConfig{}),
		"publisher negative batch":  publisherErr(kafka.PublisherConfig{Brokers: brokers, BatchSize: -1}),
		"subscriber without group":  subscriberErr(kafka.SubscriberConfig{Brokers: brokers}),
		"subscriber bad offset":     subscriberErr(kafka.SubscriberConfig{Brokers: brokers, ConsumerGroup: "g", StartOffset: 42}),
		"subscriber slow heartbeat": subscriberErr(kafka.SubscriberConfig{Brokers: brokers, ConsumerGroup: "g", HeartbeatInterval: time.Minute}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := publisherErr(kafka.PublisherConfig{Brokers: brokers}); err != nil {
		t.Errorf("publisher defaults rejected: %v", err)
	}
	if err := subscriberErr(kafka.SubscriberConfig{Brokers: brokers, ConsumerGroup: "g", StartOffset: kafkago.LastOffset}); err != nil {
		t.Errorf("subscriber defaults rejected: %v", err)
	}
}

func publisherErr(c kafka.PublisherConfig) error {
	p, err := kafka.NewPublisher(c, nil)
	if err == nil {
		_ = p.Close()
	}
	return err
}

func subscriberErr(c kafka.SubscriberConfig) error {
	s, err := kafka.NewSubscriber(c, nil)
	if err == nil {
		_ = s.Close()
	}
	return err
}
