// Package logsubscriber exposes the event log as a Watermill subscriber. A
// topic is the name of a consumer (a projector): its subscription starts
// after the position that consumer has processed and hands out one message at
// a time, so a consumer sees the log strictly in order. A message carries one
// event, or, with Config.MaxBatch, every event already read when it is sent
// (see DecodeAll).
package logsubscriber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/annals-dev/annals/eventstore"
)

// ErrClosed is returned by Subscribe after Close.
var ErrClosed = errors.New("logsubscriber: closed")

// CheckpointSource tells where a topic's consumer stands.
type CheckpointSource interface {
	// Checkpoint returns the position of the last event the consumer has
	// processed; its subscription starts right after it.
	Checkpoint(ctx context.Context, topic string) (eventstore.Position, error)
}

// CheckpointFunc adapts a function to CheckpointSource.
type CheckpointFunc func(ctx context.Context, topic string) (eventstore.Position, error)

// Checkpoint calls f.
func (f CheckpointFunc) Checkpoint(ctx context.Context, topic string) (eventstore.Position, error) {
	return f(ctx, topic)
}

// Config configures a Subscriber.
type Config struct {
	Store       eventstore.Store
	Checkpoints CheckpointSource
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Backoff is the wait before a nacked message is redelivered, or before
	// resubscribing after the store's subscription failed. It doubles on each
	// consecutive failure, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxBatch is the most events one message carries (0 or 1: one). A
	// message never waits for more: it takes those read from the store
	// while the previous one was being handled.
	MaxBatch int
}

const (
	defaultBackoff    = 100 * time.Millisecond
	defaultMaxBackoff = 10 * time.Second
)

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Backoff == 0 {
		c.Backoff = defaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = defaultMaxBackoff
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if c.Checkpoints == nil {
		errs = append(errs, errors.New("checkpoint source is required"))
	}
	if c.Backoff < 0 {
		errs = append(errs, errors.New("backoff must not be negative"))
	}
	if c.MaxBackoff < c.Backoff {
		errs = append(errs, errors.New("max backoff must be at least backoff"))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, errors.New("max batch must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logsubscriber config: %w", err)
	}
	return nil
}

// Subscriber is the event log as a message.Subscriber.
type Subscriber struct {
	cfg Config

	// ctx is cancelled by Close and ends every subscription.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// New returns a subscriber with cfg's defaults filled in.
func New(cfg Config) (*Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{cfg: cfg, ctx: ctx, cancel: cancel}, nil
}

// Subscribe streams the log after the topic's checkpoint. The next message is
// sent only once the previous one is acked; a nacked message is sent again,
// with the same events, after a backoff. The channel is closed when ctx is cancelled or on Close.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()

	from, err := s.cfg.Checkpoints.Checkpoint(ctx, topic)
	if err != nil {
		s.wg.Done()
		return nil, fmt.Errorf("subscribe %s: checkpoint: %w", topic, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	out := make(chan *message.Message)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer stop()
		defer cancel()
		s.stream(ctx, s.cfg.Logger.With("topic", topic), from, out)
	}()
	return out, nil
}

// Close ends every subscription and waits until their channels are closed.
// It is idempotent.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// stream feeds out from the log until ctx ends, resubscribing after the last
// acked event whenever the store's subscription fails.
func (s *Subscriber) stream(ctx context.Context, logger *slog.Logger, from eventstore.Position, out chan<- *message.Message) {
	failures := 0
	for {
		acked, err := s.forward(ctx, logger, from, out)
		if acked != from {
			from, failures = acked, 0
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		logger.Warn("event log subscription failed; resubscribing", "after", from.String(), "error", err)
		if !wait(ctx, s.backoff(failures)) {
			return
		}
	}
}

// forward subscribes to the store after from and delivers its events until
// the subscription or ctx ends; it returns the last acked position and why
// the subscription ended. The events are read ahead into a buffer of
// MaxBatch while a message is being handled, so that each message takes
// what piled up meanwhile.
func (s *Subscriber) forward(ctx context.Context, logger *slog.Logger, from eventstore.Position, out chan<- *message.Message) (eventstore.Position, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.cfg.Store.Subscribe(ctx, from)
	if err != nil {
		return from, err
	}
	ready := make(chan eventstore.RecordedEvent, s.cfg.MaxBatch)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		defer close(ready)
		for e := range sub.Events() {
			select {
			case ready <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	// Ending the subscription ends the pump.
	defer func() {
		cancel()
		<-pumped
	}()
	for {
		batch, ok := s.next(ready)
		if !ok {
			<-pumped // so that sub has ended and Err tells why
			return from, sub.Err()
		}
		last := batch[len(batch)-1].Position
		msg, err := EncodeAll(batch)
		if err != nil {
			return from, err
		}
		if !s.deliver(ctx, logger, msg, last, out) {
			return from, nil
		}
		from = last
	}
}

// next waits for an event and takes those read behind it, up to MaxBatch,
// without waiting for more. ok is false once ready is closed and drained.
func (s *Subscriber) next(ready <-chan eventstore.RecordedEvent) (batch []eventstore.RecordedEvent, ok bool) {
	e, ok := <-ready
	if !ok {
		return nil, false
	}
	batch = append(batch, e)
	for len(batch) < s.cfg.MaxBatch {
		select {
		case e, ok := <-ready:
			if !ok {
				return batch, true
			}
			batch = append(batch, e)
		default:
			return batch, true
		}
	}
	return batch, true
}

// deliver sends msg, whose last event is at last, until it is acked. It
// returns false when ctx ended first.
func (s *Subscriber) deliver(ctx context.Context, logger *slog.Logger, msg *message.Message, last eventstore.Position, out chan<- *message.Message) bool {
	for attempt := 1; ; attempt++ {
		// Each delivery gets a context that ends with its ack or nack, as
		// the Subscriber contract asks.
		msgCtx, done := context.WithCancel(ctx)
		msg.SetContext(msgCtx)
		acked, ok := awaitAck(ctx, msg, out)
		done()
		if !ok {
			return false
		}
		if acked {
			return true
		}
		logger.Debug("event nacked; redelivering", "event_id", msg.UUID, "position", last.String(), "attempt", attempt)
		if !wait(ctx, s.backoff(attempt)) {
			return false
		}
		msg = msg.Copy()
	}
}

// awaitAck sends msg and waits for its ack (true) or nack (false); ok is
// false when ctx ended first.
func awaitAck(ctx context.Context, msg *message.Message, out chan<- *message.Message) (acked, ok bool) {
	select {
	case out <- msg:
	case <-ctx.Done():
		return false, false
	}
	select {
	case <-msg.Acked():
		return true, true
	case <-msg.Nacked():
		return false, true
	case <-ctx.Done():
		return false, false
	}
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (s *Subscriber) backoff(n int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// wait pauses for d; it returns false if ctx ended first.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
