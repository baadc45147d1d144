package esdb

import (
	"context"
	"fmt"
	"sync"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/annals-dev/annals/eventstore"
)

// Subscription is a catch-up subscription to $all without system events.
// Besides the port's Events and Err, it tells when the history has been
// delivered and how far the server has searched the log.
type Subscription struct {
	events   chan eventstore.RecordedEvent
	caughtUp chan struct{}

	mu         sync.Mutex
	checkpoint eventstore.Position
	err        error
}

var _ eventstore.Subscription = (*Subscription)(nil)

// Events delivers the events in global order; it is closed when the
// subscription ends.
func (s *Subscription) Events() <-chan eventstore.RecordedEvent { return s.events }

// Err tells why the subscription ended once Events is closed: nil when its
// context was cancelled.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// CaughtUp is closed once every event stored when the subscription started
// has been sent to Events and the subscription follows live appends. It stays
// open on servers that do not report catching up (those before 23.10).
func (s *Subscription) CaughtUp() <-chan struct{} { return s.caughtUp }

// Checkpoint is how far the log has been searched: every non-system event at
// or before it has been sent, or is being handed, to Events. It moves with delivered events and
// with the server's checkpoints, which pass over runs of system events.
func (s *Subscription) Checkpoint() eventstore.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoint
}

func (s *Subscription) advance(p eventstore.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checkpoint.Less(p) {
		s.checkpoint = p
	}
}

// Subscribe starts a catch-up subscription to $all after from, filtered on
// the server to leave system events out. It returns a *Subscription.
func (s *Store) Subscribe(ctx context.Context, from eventstore.Position) (eventstore.Subscription, error) {
	// Registering under the lock lets Close wait for every subscription
	// that got past this point.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	s.subs.Add(1)
	s.mu.Unlock()

	subCtx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(s.closing, cancel)
	stream, err := s.client.SubscribeToAll(subCtx, esdbclient.SubscribeToAllOptions{
		From:   allPosition(from),
		Filter: esdbclient.ExcludeSystemEventsFilter(),
	})
	if err != nil {
		stopOnClose()
		cancel()
		s.subs.Done()
		return nil, fmt.Errorf("esdb: subscribe to $all after %s: %w", from, err)
	}

	sub := &Subscription{
		events:     make(chan eventstore.RecordedEvent, s.buffer),
		caughtUp:   make(chan struct{}),
		checkpoint: from,
	}
	// ended tells why the subscription stopped: the caller's cancellation
	// is a normal end, the store's closing or the server's drop are not.
	ended := func(cause error) error {
		switch {
		case ctx.Err() != nil:
			return nil
		case s.closing.Err() != nil:
			return errClosed
		default:
			return fmt.Errorf("esdb: subscription to $all dropped: %w", cause)
		}
	}
	go func() {
		defer s.subs.Done()
		defer stopOnClose()
		defer cancel()
		defer stream.Close()
		err := sub.run(subCtx, stream)
		sub.mu.Lock()
		sub.err = ended(err)
		sub.mu.Unlock()
		close(sub.events)
	}()
	return sub, nil
}

// run relays the server's messages until the subscription drops or ctx ends,
// and returns the cause.
func (s *Subscription) run(ctx context.Context, stream *esdbclient.Subscription) error {
	var caughtUp sync.Once
	last := s.Checkpoint()
	for {
		msg := stream.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			return msg.SubscriptionDropped.Error
		case msg.EventAppeared != nil:
			e := recorded(msg.EventAppeared.OriginalEvent())
			// The server starts after the position and filters system
			// events; checking again keeps both promises whatever it does.
			if isSystem(e.Type) || !last.Less(e.Position) {
				continue
			}
			// Advance before handing the event over, so that a reader who
			// has received it never sees an older checkpoint.
			last = e.Position
			s.advance(e.Position)
			select {
			case s.events <- e:
			case <-ctx.Done():
				return ctx.Err()
			}
		case msg.CheckPointReached != nil:
			s.advance(eventstore.Position{Commit: msg.CheckPointReached.Commit, Prepare: msg.CheckPointReached.Prepare})
		case msg.CaughtUp != nil:
			caughtUp.Do(func() { close(s.caughtUp) })
		}
	}
}
