package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultKeyMetadata is the message metadata field whose value becomes the
// Kafka message key unless PublisherConfig.KeyMetadata says otherwise.
const DefaultKeyMetadata = "partition_key"

// PublisherConfig configures a Publisher. Zero fields take the defaults
// documented on each field.
type PublisherConfig struct {
	// Brokers are the bootstrap addresses (host:port). Required.
	Brokers []string

	// KeyMetadata names the metadata field whose value is the message key.
	// Messages with the same key land on the same partition, in publish
	// order; messages without it are spread round-robin. Default
	// DefaultKeyMetadata.
	KeyMetadata string

	// Balancer picks a message's partition. Default: FNV-1a hash of the key
	// (the same mapping as Sarama), round-robin for keyless messages.
	Balancer kafka.Balancer

	// BatchTimeout bounds how long a partition's batch waits to fill before
	// it is sent. Publish waits for the acknowledgement, so this is added to
	// every publish's latency: keep it small. Default 5ms.
	BatchTimeout time.Duration

	// BatchSize is the most messages sent to a partition in one request. A
	// Publish call of at most BatchSize messages per partition goes out as
	// one request per partition, so it either lands whole or fails whole
	// there. Default 1000.
	BatchSize int

	// BatchBytes is the largest request payload. Default 1 MiB, Kafka's
	// default message size limit.
	BatchBytes int64

	// WriteTimeout bounds one produce request. Default 10s.
	WriteTimeout time.Duration

	// MaxAttempts is how often a failing produce request is tried before
	// Publish fails. Default 10.
	MaxAttempts int

	// AllowAutoTopicCreation asks the brokers to create missing topics (with
	// their default settings) when they allow it.
	AllowAutoTopicCreation bool
}

func (c *PublisherConfig) setDefaults() {
	if c.KeyMetadata == "" {
		c.KeyMetadata = DefaultKeyMetadata
	}
	if c.Balancer == nil {
		c.Balancer = &kafka.Hash{}
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = 5 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
}

// Validate reports every invalid setting, after defaults are applied.
func (c PublisherConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("missing brokers"))
	}
	if c.BatchTimeout < 0 || c.WriteTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if c.BatchSize < 0 || c.BatchBytes < 0 || c.MaxAttempts < 0 {
		errs = append(errs, errors.New("batch size, batch bytes and max attempts must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid kafka publisher config: %w", err)
	}
	return nil
}

// SubscriberConfig configures a Subscriber. Zero fields take the defaults
// documented on each field.
type SubscriberConfig struct {
	// Brokers are the bootstrap addresses (host:port). Required.
	Brokers []string

	// ConsumerGroup shares a topic's partitions between every subscription
	// of the group and keeps the group's committed offsets. Required.
	ConsumerGroup string

	// StartOffset is where a group without a committed offset starts:
	// kafka.FirstOffset (default) or kafka.LastOffset.
	StartOffset int64

	// MaxWait bounds one fetch's wait for new messages. Closing a
	// subscription and giving up partitions in a rebalance wait for the
	// running fetch, so it is also their latency. Default 1s.
	MaxWait time.Duration

	// HeartbeatInterval is how often group membership is confirmed; a
	// rebalance is noticed at the next heartbeat. Default 3s.
	HeartbeatInterval time.Duration

	// SessionTimeout is how long the group waits for a silent member before
	// giving its partitions to others. Default 30s.
	SessionTimeout time.Duration

	// RebalanceTimeout is how long a rebalance waits for members to rejoin.
	// Default 30s.
	RebalanceTimeout time.Duration

	// RetryInterval is the pause before a nacked message is delivered again
	// and before fetching again after a failed fetch. Default 100ms.
	RetryInterval time.Duration

	// CommitTimeout bounds committing an acknowledged message's offset,
	// including while a rebalance is in progress or the subscription is
	// closing. Default 10s.
	CommitTimeout time.Duration
}

func (c *SubscriberConfig) setDefaults() {
	if c.StartOffset == 0 {
		c.StartOffset = kafka.FirstOffset
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 30 * time.Second
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = 30 * time.Second
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = 100 * time.Millisecond
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = 10 * time.Second
	}
}

// Validate reports every invalid setting, after defaults are applied.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("missing brokers"))
	}
	if c.ConsumerGroup == "" {
		errs = append(errs, errors.New("missing consumer group"))
	}
	if c.StartOffset != kafka.FirstOffset && c.StartOffset != kafka.LastOffset {
		errs = append(errs, fmt.Errorf("start offset %d is neither kafka.FirstOffset nor kafka.LastOffset", c.StartOffset))
	}
	if c.MaxWait < 0 || c.HeartbeatInterval < 0 || c.SessionTimeout < 0 ||
		c.RebalanceTimeout < 0 || c.RetryInterval < 0 || c.CommitTimeout < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, fmt.Errorf("heartbeat interval %s must be shorter than session timeout %s", c.HeartbeatInterval, c.SessionTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid kafka subscriber config: %w", err)
	}
	return nil
}
