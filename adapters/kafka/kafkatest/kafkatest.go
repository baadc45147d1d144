// Package kafkatest runs in-process Kafka clusters for tests and reads topics
// back for assertions.
package kafkatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Brokers starts a cluster that creates topics on first use and returns its
// addresses; the cluster stops when the test ends.
func Brokers(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	cluster, err := kfake.NewCluster(append([]kfake.Opt{kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: start cluster: %v", err)
	}
	t.Cleanup(cluster.Close)
	return cluster.ListenAddrs()
}

// ReadUntil consumes topic from its beginning in a fresh consumer group
// until done approves the messages so far (in arrival order, which is offset
// order within each partition). It fails the test when timeout passes first.
func ReadUntil(t testing.TB, brokers []string, topic string, timeout time.Duration, done func([]kafka.Message) bool) []kafka.Message {
	t.Helper()
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           brokers,
		GroupID:           "kafkatest-" + uuid.NewString(),
		Topic:             topic,
		StartOffset:       kafka.FirstOffset,
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
	})
	defer reader.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var msgs []kafka.Message
	for !done(msgs) {
		m, err := reader.FetchMessage(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("kafkatest: %s not complete after %s: %d messages read", topic, timeout, len(msgs))
		}
		if err != nil {
			t.Fatalf("kafkatest: read %s: %v", topic, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// Count is how many messages topic holds over all its partitions.
func Count(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		t.Fatalf("kafkatest: metadata of %s: %v %+v", topic, err, meta)
	}
	var requests []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		requests = append(requests, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offsets, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: requests}})
	if err != nil {
		t.Fatalf("kafkatest: offsets of %s: %v", topic, err)
	}
	var n int64
	for _, p := range offsets.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("kafkatest: offsets of %s partition %d: %v", topic, p.Partition, p.Error)
		}
		n += p.LastOffset - p.FirstOffset
	}
	return n
}
