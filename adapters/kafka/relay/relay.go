// Package relay publishes the event log to Kafka for outside consumers and
// scale-out projectors: every event, in log order, to its realm's topic,
// keyed by stream. Of all instances sharing a name, the one holding a
// PostgreSQL advisory lock relays; its checkpoint advances only after Kafka
// acknowledged a batch, so a crash loses nothing and at worst publishes the
// batch in flight again (consumers deduplicate by event id).
package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/kafka/envelope"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
)

// saveTimeout bounds saving a checkpoint. A batch Kafka acknowledged is
// checkpointed even when the relay is stopping, to spare consumers the
// duplicates.
const saveTimeout = 10 * time.Second

// Relay copies an event store's log to Kafka.
type Relay struct {
	config    Config
	store     eventstore.Store
	db        *pgxpool.Pool
	publisher message.Publisher
	logger    watermill.LoggerAdapter
	published prometheus.Counter

	mu     sync.Mutex
	status Status
}

// Status is what a relay instance is doing, for health checks and metrics.
type Status struct {
	// Active is true while this instance holds the lock and relays.
	Active bool
	// Checkpoint is the last position this instance saw acknowledged by
	// Kafka (or loaded when it became active).
	Checkpoint eventstore.Position
}

// New returns a relay reading store and writing through publisher, which
// must return only once Kafka acknowledged the messages and must key them by
// the metadata field kafka.DefaultKeyMetadata, as kafka.Publisher does by
// default. db holds the checkpoint and the lock.
func New(config Config, store eventstore.Store, db *pgxpool.Pool, publisher message.Publisher, logger watermill.LoggerAdapter) (*Relay, error) {
	config.setDefaults()
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	r := &Relay{
		config:    config,
		store:     store,
		db:        db,
		publisher: publisher,
		logger:    logger.With(watermill.LogFields{"relay": config.Name}),
	}
	if err := r.registerMetrics(); err != nil {
		return nil, err
	}
	return r, nil
}

// Status reports what the instance is doing now.
func (r *Relay) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *Relay) setStatus(s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = s
}

// Run migrates the checkpoint table, then campaigns for the lock and relays
// while it holds it, until ctx is cancelled (which gives nil). Failures are
// logged and retried after RetryInterval, from the checkpoint.
func (r *Relay) Run(ctx context.Context) error {
	if err := Migrate(ctx, r.db); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.logger.Error("Kafka relay interrupted, starting over from the checkpoint", err, nil)
		select {
		case <-time.After(r.config.RetryInterval):
		case <-ctx.Done():
			return nil
		}
	}
}

// lead waits for the lock, then relays from the checkpoint until a failure
// or ctx ends it.
func (r *Relay) lead(ctx context.Context) error {
	s, err := openSession(ctx, r.db, r.config.Name)
	if err != nil {
		return err
	}
	defer s.close()

	r.logger.Info("Kafka relay waiting for the lock", nil)
	if err := s.lock(ctx); err != nil {
		return err
	}
	from, err := s.checkpoint(ctx)
	if err != nil {
		return err
	}
	r.setStatus(Status{Active: true, Checkpoint: from})
	defer func() { r.setStatus(Status{Checkpoint: from}) }()
	r.logger.Info("Kafka relay active", watermill.LogFields{"checkpoint": from.String()})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the subscription
	sub, err := r.store.Subscribe(ctx, from)
	if err != nil {
		return fmt.Errorf("kafka relay %s: subscribe from %s: %w", r.config.Name, from, err)
	}
	check := time.NewTicker(r.config.LockCheckInterval)
	defer check.Stop()
	for {
		batch, err := r.nextBatch(ctx, sub, s, check.C)
		if err != nil {
			return err
		}
		if err := r.publish(ctx, batch); err != nil {
			return err
		}
		r.published.Add(float64(len(batch)))
		last := batch[len(batch)-1].Position
		saveCtx, cancelSave := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		err = s.save(saveCtx, last)
		cancelSave()
		if err != nil {
			return err
		}
		from = last
		r.setStatus(Status{Active: true, Checkpoint: from})
	}
}

// nextBatch waits for an event, checking the lock session meanwhile, then
// gathers what follows within MaxBatchWait, up to BatchSize events.
func (r *Relay) nextBatch(ctx context.Context, sub eventstore.Subscription, s *session, check <-chan time.Time) ([]eventstore.RecordedEvent, error) {
	// A stopped relay takes no new batch, even with events waiting.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var batch []eventstore.RecordedEvent
	for batch == nil {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				return nil, subscriptionEnded(ctx, sub)
			}
			batch = append(batch, e)
		case <-check:
			if err := s.alive(ctx); err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	wait := time.NewTimer(r.config.MaxBatchWait)
	defer wait.Stop()
	for len(batch) < r.config.BatchSize {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				return batch, nil // publish what came; the next call reports the end
			}
			batch = append(batch, e)
		case <-wait.C:
			return batch, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return batch, nil
}

func subscriptionEnded(ctx context.Context, sub eventstore.Subscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sub.Err(); err != nil {
		return fmt.Errorf("event store subscription failed: %w", err)
	}
	return errors.New("event store subscription ended")
}

// publish sends a batch, one Publish per topic in parallel, retrying the
// topics that failed until all are acknowledged or ctx ends. Each stream
// lives in one topic, in log order, so per-stream order holds.
func (r *Relay) publish(ctx context.Context, batch []eventstore.RecordedEvent) error {
	pending := map[string][]*message.Message{}
	for _, e := range batch {
		msg, err := envelope.NewMessage(e)
		if err != nil {
			return err
		}
		topic := Topic(r.config.TopicPattern, projections.RealmOf(e.StreamID))
		pending[topic] = append(pending[topic], msg)
	}

	for {
		var (
			mu     sync.Mutex
			failed = map[string][]*message.Message{}
			errs   []error
			wg     sync.WaitGroup
		)
		for topic, msgs := range pending {
			wg.Go(func() {
				if err := r.publisher.Publish(topic, msgs...); err != nil {
					mu.Lock()
					defer mu.Unlock()
					failed[topic] = msgs
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(failed) == 0 {
			return nil
		}
		r.logger.Error("Kafka relay could not publish, retrying", errors.Join(errs...), watermill.LogFields{"events": len(batch)})
		select {
		case <-time.After(r.config.RetryInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
		pending = failed
	}
}
