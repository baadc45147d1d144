// Package memory is an in-process event store for fast tests of code that
// uses the eventstore port. It keeps the port's promises (optimistic
// concurrency, idempotent re-appends, one gapless global order, catch-up then
// live subscriptions) but nothing survives the process.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Store holds every event in one slice; an event's global position is its
// 1-based index, as Position{Commit: n, Prepare: n}.
type Store struct {
	mu      sync.RWMutex
	log     []eventstore.RecordedEvent
	streams map[string][]int  // stream -> indexes into log, by version
	ids     map[uuid.UUID]int // event id -> index into log
	changed chan struct{}     // closed and replaced on every append
}

// New returns an empty store.
func New() *Store {
	return &Store{
		streams: map[string][]int{},
		ids:     map[uuid.UUID]int{},
		changed: make(chan struct{}),
	}
}

// Append implements eventstore.Store.
func (s *Store) Append(_ context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: no events", stream)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	if res, ok := s.replayed(stream, expected, events); ok {
		return res, nil
	}
	for _, e := range events {
		if _, ok := s.ids[e.ID]; ok {
			return eventstore.AppendResult{}, fmt.Errorf("append to %q: event %s: %w", stream, e.ID, eventstore.ErrDuplicateEvent)
		}
	}
	version := int64(len(s.streams[stream])) - 1
	if expected != eventstore.Any && int64(expected) != version {
		return eventstore.AppendResult{}, &eventstore.WrongVersionError{Stream: stream, Expected: expected, Actual: version}
	}
	if dup, ok := firstRepeatedID(events); ok {
		return eventstore.AppendResult{}, fmt.Errorf("append to %q: event %s twice: %w", stream, dup, eventstore.ErrDuplicateEvent)
	}

	at := time.Now()
	for _, e := range events {
		version++
		n := uint64(len(s.log) + 1)
		s.streams[stream] = append(s.streams[stream], len(s.log))
		s.ids[e.ID] = len(s.log)
		s.log = append(s.log, eventstore.RecordedEvent{
			ID:         e.ID,
			StreamID:   stream,
			Version:    version,
			Position:   eventstore.Position{Commit: n, Prepare: n},
			Type:       e.Type,
			Data:       bytes.Clone(e.Data),
			Metadata:   bytes.Clone(e.Metadata),
			RecordedAt: at,
		})
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return eventstore.AppendResult{NextExpectedVersion: version, Position: s.log[len(s.log)-1].Position}, nil
}

// replayed reports the original result when events already sit in the
// stream, in order, right after the expected version: a retry of an append
// whose outcome the caller did not learn.
func (s *Store) replayed(stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, bool) {
	var last eventstore.RecordedEvent
	for i, e := range events {
		at, ok := s.ids[e.ID]
		if !ok {
			return eventstore.AppendResult{}, false
		}
		rec := s.log[at]
		var inPlace bool
		if i == 0 {
			inPlace = expected == eventstore.Any || int64(expected) == rec.Version-1
		} else {
			inPlace = rec.Version == last.Version+1
		}
		if rec.StreamID != stream || !inPlace {
			return eventstore.AppendResult{}, false
		}
		last = rec
	}
	return eventstore.AppendResult{NextExpectedVersion: last.Version, Position: last.Position}, true
}

func firstRepeatedID(events []eventstore.EventData) (uuid.UUID, bool) {
	seen := make(map[uuid.UUID]bool, len(events))
	for _, e := range events {
		if seen[e.ID] {
			return e.ID, true
		}
		seen[e.ID] = true
	}
	return uuid.UUID{}, false
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(_ context.Context, stream string, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	indexes := s.streams[stream]
	from = min(max(from, 0), int64(len(indexes)))
	indexes = window(indexes[from:], limit)
	events := make([]eventstore.RecordedEvent, len(indexes))
	for i, at := range indexes {
		events[i] = clone(s.log[at])
	}
	return events, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(_ context.Context, from eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	events := window(s.log[s.after(from):], limit)
	out := make([]eventstore.RecordedEvent, len(events))
	for i, e := range events {
		out[i] = clone(e)
	}
	return out, nil
}

// Head implements eventstore.Store.
func (s *Store) Head(context.Context) (eventstore.Position, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.log) == 0 {
		return eventstore.Start, nil
	}
	return s.log[len(s.log)-1].Position, nil
}

// after is the index of the first event strictly after pos.
func (s *Store) after(pos eventstore.Position) int {
	return sort.Search(len(s.log), func(i int) bool { return pos.Less(s.log[i].Position) })
}

// Subscribe implements eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, from eventstore.Position) (eventstore.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	sub := &subscription{events: make(chan eventstore.RecordedEvent)}
	s.mu.RLock()
	next := s.after(from)
	s.mu.RUnlock()
	go func() {
		defer close(sub.events)
		for {
			// The log only grows, so the events taken here stay valid after
			// the lock is released; changed is taken with them so that no
			// append between reading and waiting goes unnoticed.
			s.mu.RLock()
			pending, changed := s.log[next:], s.changed
			s.mu.RUnlock()
			for _, e := range pending {
				select {
				case sub.events <- clone(e):
					next++
				case <-ctx.Done():
					return
				}
			}
			if len(pending) == 0 {
				select {
				case <-changed:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return sub, nil
}

// subscription ends only when its context is cancelled, so Err is always nil.
type subscription struct {
	events chan eventstore.RecordedEvent
}

func (s *subscription) Events() <-chan eventstore.RecordedEvent { return s.events }
func (s *subscription) Err() error                              { return nil }

// window applies the port's limit convention (<= 0: everything).
func window[T any](items []T, limit int) []T {
	if limit > 0 && limit < len(items) {
		return items[:limit]
	}
	return items
}

// clone copies the payloads so that no caller can change what is stored.
func clone(e eventstore.RecordedEvent) eventstore.RecordedEvent {
	e.Data, e.Metadata = bytes.Clone(e.Data), bytes.Clone(e.Metadata)
	return e
}
