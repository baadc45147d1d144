package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/annals-dev/annals/eventstore"
)

// Subscribe implements eventstore.Store. The subscription reads the log in
// batches, and when it has caught up waits for a wake-up (an append through
// this store, or a notification to its shared listener) or for the poll
// interval, whichever comes first.
func (s *Store) Subscribe(ctx context.Context, from eventstore.Position) (eventstore.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribe after %v: %w", from, err)
	}
	s.start(&s.listenOnce, s.listener.run)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, fmt.Errorf("subscribe after %v: %w", from, ErrClosed)
	}
	sub := &subscription{events: make(chan eventstore.RecordedEvent)}
	s.running.Go(func() {
		defer close(sub.events)
		sub.err = s.follow(ctx, from, sub.events)
	})
	return sub, nil
}

// start runs f in the background until Close, once, and not at all once
// the store is closed.
func (s *Store) start(once *sync.Once, f func(context.Context)) {
	once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closing {
			s.running.Go(func() { f(s.closed) })
		}
	})
}

// heldBackRetry is the first wait before reading again past an event that
// committed but is held back; it doubles while the event stays held back,
// up to the poll interval.
const heldBackRetry = 2 * time.Millisecond

// follow delivers the log after from until ctx ends (nil) or the store is
// closed or fails (the error).
func (s *Store) follow(parent context.Context, from eventstore.Position, out chan<- eventstore.RecordedEvent) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	defer context.AfterFunc(s.closed, cancel)()
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	// retry is armed only while an event is held back.
	retry := time.NewTimer(s.cfg.PollInterval)
	retry.Stop()
	backoff := heldBackRetry
	for {
		// Taken before reading, so that a commit between the read and the
		// wait still wakes the wait.
		changed := s.wake.changed()
		batch, err := s.ReadAll(ctx, from, s.cfg.BatchSize)
		if err != nil {
			return s.ended(parent, err)
		}
		for _, e := range batch {
			select {
			case out <- e:
				from = e.Position
			case <-ctx.Done():
				return s.ended(parent, ctx.Err())
			}
		}
		if len(batch) == s.cfg.BatchSize {
			continue
		}
		// When an event this store appended has committed but is not
		// readable yet, an older transaction, anywhere on the server,
		// still runs, and nothing will announce its end: look again soon
		// rather than at the next poll, backing off while it lasts.
		heldBack := from.Less(s.wake.lastAppended())
		if !heldBack || len(batch) > 0 {
			backoff = heldBackRetry
		}
		var soon <-chan time.Time
		if heldBack {
			retry.Reset(backoff)
			soon = retry.C
			backoff = min(2*backoff, s.cfg.PollInterval)
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-soon:
		case <-ctx.Done():
			return s.ended(parent, ctx.Err())
		}
	}
}

// ended tells why a subscription stopped: nil when its own context was
// cancelled, as the port asks, ErrClosed when the store was closed.
func (s *Store) ended(parent context.Context, err error) error {
	switch {
	case parent.Err() != nil:
		return nil
	case s.closed.Err() != nil:
		return ErrClosed
	default:
		return fmt.Errorf("subscription: %w", err)
	}
}

type subscription struct {
	events chan eventstore.RecordedEvent
	err    error // written before events is closed
}

func (s *subscription) Events() <-chan eventstore.RecordedEvent { return s.events }
func (s *subscription) Err() error                              { return s.err }
