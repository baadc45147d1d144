package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// Subscriber consumes Kafka topics in a consumer group. Each Subscribe call is
// one group member with one message in flight: the next message is delivered
// only once the current one is acked and its offset committed; a nacked
// message is delivered again. Parallelism comes from more members (more
// Subscribe calls or instances), up to the topic's partition count.
type Subscriber struct {
	config SubscriberConfig
	logger watermill.LoggerAdapter
	// client and transport serve Lag's requests to the brokers.
	client    *kafka.Client
	transport *kafka.Transport

	// ctx is cancelled by Close and ends every subscription.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and adding to running
	closed bool
	// running counts subscriptions whose reader is not closed yet.
	running sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber validates config (after defaults) and returns a Subscriber.
func NewSubscriber(config SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	config.setDefaults()
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	transport := &kafka.Transport{}
	return &Subscriber{
		config:    config,
		logger:    logger,
		client:    &kafka.Client{Addr: kafka.TCP(config.Brokers...), Transport: transport},
		transport: transport,
		ctx:       ctx,
		cancel:    cancel,
	}, nil
}

// Subscribe joins the consumer group for topic. The channel is closed when
// ctx is cancelled or the Subscriber is closed; a message's context is
// cancelled once it is acked or nacked, or the subscription ends.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}

	readerConfig := kafka.ReaderConfig{
		Brokers:           s.config.Brokers,
		GroupID:           s.config.ConsumerGroup,
		Topic:             topic,
		StartOffset:       s.config.StartOffset,
		MaxWait:           s.config.MaxWait,
		HeartbeatInterval: s.config.HeartbeatInterval,
		SessionTimeout:    s.config.SessionTimeout,
		RebalanceTimeout:  s.config.RebalanceTimeout,
		// Zero: CommitMessages returns once the broker stored the offset.
		CommitInterval: 0,
		Logger:         kafkaLogger(s.logger.Trace),
		ErrorLogger:    kafkaLogger(s.logger.Info),
	}
	// NewReader panics on what Validate refuses, such as an empty topic.
	if err := readerConfig.Validate(); err != nil {
		return nil, fmt.Errorf("subscribe to kafka topic %q: %w", topic, err)
	}
	reader := kafka.NewReader(readerConfig)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	out := make(chan *message.Message)
	logFields := watermill.LogFields{"topic": topic, "consumer_group": s.config.ConsumerGroup}

	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer close(out)
		defer func() {
			if err := reader.Close(); err != nil {
				s.logger.Error("Cannot close Kafka reader", err, logFields)
			}
		}()
		defer stop()
		defer cancel()
		s.consume(ctx, reader, out, logFields)
	}()
	return out, nil
}

// consume delivers the reader's messages one at a time until ctx ends.
func (s *Subscriber) consume(ctx context.Context, reader *kafka.Reader, out chan<- *message.Message, logFields watermill.LogFields) {
	for {
		km, err := reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Error("Cannot fetch Kafka message", err, logFields)
			if !pause(ctx, s.config.RetryInterval) {
				return
			}
			continue
		}
		if !s.deliver(ctx, reader, km, out, logFields) {
			return
		}
	}
}

// deliver sends km until the handler acks it, then commits its offset. It
// reports false when ctx ended first; the offset stays uncommitted and the
// group delivers the message again later.
func (s *Subscriber) deliver(ctx context.Context, reader *kafka.Reader, km kafka.Message, out chan<- *message.Message, logFields watermill.LogFields) bool {
	for {
		msg := fromKafka(km)
		msgCtx, cancelMsg := context.WithCancel(ctx)
		msg.SetContext(msgCtx)

		select {
		case out <- msg:
		case <-ctx.Done():
			cancelMsg()
			return false
		}

		select {
		case <-msg.Acked():
			cancelMsg()
			s.commit(ctx, reader, km, logFields)
			return true
		case <-msg.Nacked():
			cancelMsg()
			if !pause(ctx, s.config.RetryInterval) {
				return false
			}
		case <-ctx.Done():
			// An ack given just before closing still counts.
			select {
			case <-msg.Acked():
				s.commit(ctx, reader, km, logFields)
			default:
			}
			cancelMsg()
			return false
		}
	}
}

// commit stores the offset after km. It also runs when the subscription is
// closing right after the ack, so that a clean shutdown does not redeliver
// handled messages; a failed commit only means a redelivery.
func (s *Subscriber) commit(ctx context.Context, reader *kafka.Reader, km kafka.Message, logFields watermill.LogFields) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.config.CommitTimeout)
	defer cancel()
	if err := reader.CommitMessages(ctx, km); err != nil {
		s.logger.Error("Cannot commit Kafka offset, the message will be delivered again", err,
			logFields.Add(watermill.LogFields{"partition": km.Partition, "offset": km.Offset}))
	}
}

// Close ends every subscription, waits until their readers have left the
// group, and closes their channels. Further calls do nothing.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	s.cancel()
	s.running.Wait()
	s.transport.CloseIdleConnections()
	return nil
}

// pause waits d unless ctx ends first, and reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
