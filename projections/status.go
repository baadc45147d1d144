package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/annals-dev/annals/eventstore"
)

// State is what a projector is doing.
type State string

// States of a projector.
const (
	StateStopped    State = "stopped"     // the runtime is not running
	StateCatchingUp State = "catching_up" // behind the head of the log
	StateLive       State = "live"        // at the head of the log
	StateFailing    State = "failing"     // its last attempt at an event failed; it retries
)

// Status is where one projector stands.
type Status struct {
	Name    string
	Version int
	Realm   string
	State   State
	// Position is the last event processed. Checkpoint is the stored one; it
	// trails Position by skipped events until the next flush.
	Position   eventstore.Position
	Checkpoint eventstore.Position
	// Head is the last event of the log.
	Head eventstore.Position
	// LagEvents counts the events after Position; counting stops at the
	// runtime's LagScanLimit, and LagCapped says so.
	LagEvents int
	LagCapped bool
	// LagSeconds is the age of the oldest event not processed yet.
	LagSeconds float64
	// Error is the last failure while State is StateFailing.
	Error string
}

// Status reports every registered projector. Without a running runtime (a
// separate command, say) it reports the stored checkpoints.
func (r *Runtime) Status(ctx context.Context) ([]Status, error) {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections status: head: %w", err)
	}
	stored, err := readCheckpoints(ctx, r.cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("projections status: %w", err)
	}
	running := r.isRunning()
	// Projectors usually stand at the same position: count each lag once.
	lags := map[eventstore.Position]lag{}
	var out []Status
	for _, p := range r.registered() {
		s := p.snapshot()
		st := Status{Name: p.Name(), Version: p.Version(), Realm: p.Realm(), Checkpoint: stored[keyOf(p)], Head: head}
		st.Position = st.Checkpoint
		if s.loaded {
			st.Position = s.pos
		}
		l, ok := lags[st.Position]
		if !ok {
			if l, err = r.lag(ctx, st.Position, head, r.cfg.LagScanLimit); err != nil {
				return nil, fmt.Errorf("projections status: %s: %w", p.Name(), err)
			}
			lags[st.Position] = l
		}
		st.LagEvents, st.LagCapped, st.LagSeconds = l.events, l.capped, l.seconds
		switch {
		case !running:
			st.State = StateStopped
		case s.failure != nil:
			st.State, st.Error = StateFailing, s.failure.Error()
		case l.events > 0:
			st.State = StateCatchingUp
		default:
			st.State = StateLive
		}
		out = append(out, st)
	}
	return out, nil
}

// CaughtUp returns nil when the runtime is running and every projector is
// at most maxLag events behind the head of the log.
func (r *Runtime) CaughtUp(ctx context.Context, maxLag int) error {
	if !r.isRunning() {
		return errors.New("projections: not running")
	}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: head: %w", err)
	}
	for _, p := range r.registered() {
		l, err := r.lag(ctx, p.snapshot().pos, head, maxLag+1)
		if err != nil {
			return fmt.Errorf("projections: %s: %w", p.Name(), err)
		}
		if l.events > maxLag {
			return fmt.Errorf("projections: %s is more than %d events behind", p.Name(), maxLag)
		}
	}
	return nil
}

type lag struct {
	events  int
	capped  bool
	seconds float64
}

// lag measures how far from is behind head, reading at most limit events.
func (r *Runtime) lag(ctx context.Context, from, head eventstore.Position, limit int) (lag, error) {
	if !from.Less(head) {
		return lag{}, nil
	}
	events, err := r.cfg.Store.ReadAll(ctx, from, limit)
	if err != nil {
		return lag{}, fmt.Errorf("read log after %s: %w", from, err)
	}
	if len(events) == 0 {
		return lag{}, nil
	}
	return lag{
		events:  len(events),
		capped:  len(events) == limit,
		seconds: time.Since(events[0].RecordedAt).Seconds(),
	}, nil
}
