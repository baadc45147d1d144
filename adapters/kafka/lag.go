package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// Lag is how many messages of topic the subscriber's consumer group has not
// committed yet, summed over the topic's partitions. It asks the brokers, so
// it is right whether or not this process is consuming, and suits a gauge
// scraped now and then. A partition the group never committed counts from
// where StartOffset would begin.
func (s *Subscriber) Lag(ctx context.Context, topic string) (int64, error) {
	partitions, err := s.partitions(ctx, topic)
	if err != nil {
		return 0, err
	}

	requests := make([]kafka.OffsetRequest, 0, 2*len(partitions))
	for _, p := range partitions {
		requests = append(requests, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	ends, err := s.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: requests}})
	if err != nil {
		return 0, fmt.Errorf("lag of %s: list offsets: %w", topic, err)
	}
	committed, err := s.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: s.config.ConsumerGroup, Topics: map[string][]int{topic: partitions}})
	if err != nil {
		return 0, fmt.Errorf("lag of %s for group %s: fetch offsets: %w", topic, s.config.ConsumerGroup, err)
	}
	// A group that never committed may be unknown to the brokers: it simply
	// has no committed offsets yet.
	if committed.Error != nil && !errors.Is(committed.Error, kafka.GroupIdNotFound) {
		return 0, fmt.Errorf("lag of %s for group %s: fetch offsets: %w", topic, s.config.ConsumerGroup, committed.Error)
	}
	committedAt := map[int]int64{}
	for _, p := range committed.Topics[topic] {
		if p.Error != nil {
			return 0, fmt.Errorf("lag of %s partition %d for group %s: %w", topic, p.Partition, s.config.ConsumerGroup, p.Error)
		}
		committedAt[p.Partition] = p.CommittedOffset
	}

	var lag int64
	for _, p := range ends.Topics[topic] {
		if p.Error != nil {
			return 0, fmt.Errorf("lag of %s partition %d: %w", topic, p.Partition, p.Error)
		}
		from, ok := committedAt[p.Partition]
		if !ok || from < 0 {
			from = p.FirstOffset
			if s.config.StartOffset == kafka.LastOffset {
				from = p.LastOffset
			}
		}
		lag += max(p.LastOffset-from, 0)
	}
	return lag, nil
}

// partitions lists the partition ids of topic.
func (s *Subscriber) partitions(ctx context.Context, topic string) ([]int, error) {
	meta, err := s.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("lag of %s: metadata: %w", topic, err)
	}
	for _, t := range meta.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("lag of %s: metadata: %w", topic, t.Error)
		}
		ids := make([]int, len(t.Partitions))
		for i, p := range t.Partitions {
			ids[i] = p.ID
		}
		return ids, nil
	}
	return nil, fmt.Errorf("lag of %s: topic not in metadata", topic)
}
