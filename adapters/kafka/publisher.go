// Package kafka is a Watermill Publisher and Subscriber on segmentio/kafka-go:
// publishing waits for every in-sync replica, keyed messages keep their order
// within a partition, and consumer groups commit an offset only once the
// handler acknowledged the message.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("kafka: closed")

// Publisher publishes Watermill messages to Kafka topics.
type Publisher struct {
	config    PublisherConfig
	writer    *kafka.Writer
	transport *kafka.Transport
	logger    watermill.LoggerAdapter

	// mu makes Close wait for running Publish calls, so that nothing is
	// written through a closed writer.
	mu     sync.RWMutex
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher validates config (after defaults) and returns a Publisher.
func NewPublisher(config PublisherConfig, logger watermill.LoggerAdapter) (*Publisher, error) {
	config.setDefaults()
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	transport := &kafka.Transport{}
	return &Publisher{
		config:    config,
		transport: transport,
		logger:    logger,
		writer: &kafka.Writer{
			Addr:                   kafka.TCP(config.Brokers...),
			Balancer:               config.Balancer,
			MaxAttempts:            config.MaxAttempts,
			BatchSize:              config.BatchSize,
			BatchBytes:             config.BatchBytes,
			BatchTimeout:           config.BatchTimeout,
			WriteTimeout:           config.WriteTimeout,
			RequiredAcks:           kafka.RequireAll,
			AllowAutoTopicCreation: config.AllowAutoTopicCreation,
			Transport:              transport,
			Logger:                 kafkaLogger(logger.Trace),
			ErrorLogger:            kafkaLogger(logger.Info),
		},
	}, nil
}

// Publish writes msgs to topic and returns once every in-sync replica has
// them. Messages with the same key keep their relative order. On error some
// messages may have been written: publishing again is at-least-once.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	kmsgs := make([]kafka.Message, len(msgs))
	for i, msg := range msgs {
		kmsgs[i] = toKafka(topic, p.config.KeyMetadata, msg)
	}
	// Publish has no context of its own: a write is bounded by WriteTimeout
	// and MaxAttempts instead.
	if err := p.writer.WriteMessages(context.Background(), kmsgs...); err != nil {
		return fmt.Errorf("publish %d messages to kafka topic %s: %w", len(msgs), topic, err)
	}
	p.logger.Trace("Published messages to Kafka", watermill.LogFields{"topic": topic, "count": len(msgs)})
	return nil
}

// Close waits for running Publish calls and releases the connections.
// Further calls to Close do nothing.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.writer.Close()
	p.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close kafka publisher: %w", err)
	}
	return nil
}

// kafkaLogger routes kafka-go's log lines to one level of a Watermill logger.
// kafka-go's error lines are mostly failures it retries by itself; the ones
// it gives up on come back as errors, so they are logged at info level.
func kafkaLogger(log func(msg string, fields watermill.LogFields)) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		log(fmt.Sprintf(format, args...), nil)
	})
}
