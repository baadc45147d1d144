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
// separate command, say, or a Remote runtime) it reports the stored
// checkpoints.
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
	lags := map[eventstore.Position]Lag{}
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
		st.LagEvents, st.LagCapped, st.LagSeconds = l.Events, l.Capped, l.Seconds
		switch {
		case !running && !r.cfg.Remote:
			st.State = StateStopped
		case s.failure != nil:
			st.State, st.Error = StateFailing, s.failure.Error()
		case l.Events > 0:
			st.State = StateCatchingUp
		default:
			st.State = StateLive
		}
		out = append(out, st)
	}
	return out, nil
}

// CaughtUp returns nil when every projector is at most maxLag events behind
// the head of the log: as this process's running runtime sees them, or, for
// a Remote runtime, as the stored checkpoints say.
func (r *Runtime) CaughtUp(ctx context.Context, maxLag int) error {
	if !r.cfg.Remote && !r.isRunning() {
		return errors.New("projections: not running")
	}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: head: %w", err)
	}
	var stored map[checkpointKey]eventstore.Position
	if r.cfg.Remote {
		if stored, err = readCheckpoints(ctx, r.cfg.Pool); err != nil {
			return fmt.Errorf("projections: %w", err)
		}
	}
	for _, p := range r.registered() {
		pos := p.snapshot().pos
		if r.cfg.Remote {
			pos = stored[keyOf(p)]
		}
		l, err := r.lag(ctx, pos, head, maxLag+1)
		if err != nil {
			return fmt.Errorf("projections: %s: %w", p.Name(), err)
		}
		if l.Events > maxLag {
			return fmt.Errorf("projections: %s is more than %d events behind", p.Name(), maxLag)
		}
	}
	return nil
}

// Lag is how far a reader of the log trails its head.
type Lag struct {
	// Events counts the events after the reader's position, up to the
	// limit it was measured with; Capped says the limit was reached.
	Events int
	Capped bool
	// Seconds is the age of the oldest event not read yet.
	Seconds float64
}

// MeasureLag reads at most limit events of store's log after from.
func MeasureLag(ctx context.Context, store eventstore.Store, from eventstore.Position, limit int) (Lag, error) {
	events, err := store.ReadAll(ctx, from, limit)
	if err != nil {
		return Lag{}, fmt.Errorf("read log after %s: %w", from, err)
	}
	if len(events) == 0 {
		return Lag{}, nil
	}
	return Lag{
		Events:  len(events),
		Capped:  len(events) == limit,
		Seconds: time.Since(events[0].RecordedAt).Seconds(),
	}, nil
}

// lag measures how far from is behind head, reading at most limit events.
func (r *Runtime) lag(ctx context.Context, from, head eventstore.Position, limit int) (Lag, error) {
	if !from.Less(head) {
		return Lag{}, nil
	}
	return MeasureLag(ctx, r.cfg.Store, from, limit)
}
