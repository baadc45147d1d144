package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	StateRebuilding State = "rebuilding"  // its schema is rebuilt for its version before it runs
)

// Status is where one projector stands.
type Status struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Realm   string `json:"realm"`
	// Schema is the read-model schema it writes ("" when none).
	Schema string `json:"schema,omitempty"`
	State  State  `json:"state"`
	// Position is the last event processed. Checkpoint is the stored one; it
	// trails Position by skipped events until the next flush.
	Position   eventstore.Position `json:"position"`
	Checkpoint eventstore.Position `json:"checkpoint"`
	// Head is the last event of the log.
	Head eventstore.Position `json:"head"`
	// LagEvents counts the events after Position; counting stops at the
	// runtime's LagScanLimit, and LagCapped says so.
	LagEvents int  `json:"lag_events"`
	LagCapped bool `json:"lag_capped,omitempty"`
	// LagSeconds is the age of the oldest event not processed yet.
	LagSeconds float64 `json:"lag_seconds"`
	// Parked counts the events it gave up on (see Retry).
	Parked int `json:"parked"`
	// Rebuild is the rebuild of its schema in progress, in any process.
	Rebuild *RebuildStatus `json:"rebuild,omitempty"`
	// Error is the last failure while State is StateFailing.
	Error string `json:"error,omitempty"`
}

// RebuildStatus is a rebuild in progress as stored: it moves with each
// batch the rebuilding process commits.
type RebuildStatus struct {
	// Version is the projector's version being built.
	Version  int                 `json:"version"`
	Position eventstore.Position `json:"position"`
	// Head is the head of the log when the rebuild's latest run began.
	Head eventstore.Position `json:"head"`
	// Events counts the events replayed so far.
	Events int64 `json:"events"`
	// Fraction estimates the share done (see RebuildProgress.Fraction).
	Fraction  float64   `json:"fraction"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
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
	parked, err := readParkedCounts(ctx, r.cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("projections status: %w", err)
	}
	rebuilds, err := readRebuilds(ctx, r.cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("projections status: %w", err)
	}
	running := r.isRunning()
	// Projectors usually stand at the same position: count each lag once.
	lags := map[eventstore.Position]Lag{}
	var out []Status
	for _, p := range r.registered() {
		s := p.snapshot()
		st := Status{Name: p.Name(), Version: p.Version(), Realm: p.Realm(), Schema: p.target,
			Checkpoint: stored[keyOf(p)], Head: head, Parked: parked[keyOf(p)]}
		if rb, ok := rebuilds[p.target]; ok {
			st.Rebuild = rb.of(p)
		}
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
		case s.rebuilding:
			st.State = StateRebuilding
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

// readParkedCounts counts the events each projector version parked.
func readParkedCounts(ctx context.Context, q querier) (map[checkpointKey]int, error) {
	rows, err := q.Query(ctx, `
SELECT name, version, count(*) FROM annals_projections.parked WHERE NOT rebuilding GROUP BY name, version`)
	if err != nil {
		return nil, fmt.Errorf("count parked events: %w", err)
	}
	out := map[checkpointKey]int{}
	var (
		k checkpointKey
		n int
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.name, &k.version, &n}, func() error {
		out[k] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count parked events: %w", err)
	}
	return out, nil
}

// storedRebuild is a rebuild as stored.
type storedRebuild struct {
	versions map[string]int
	status   RebuildStatus
}

// of is the rebuild as p sees it: nil when p is not part of it.
func (rb storedRebuild) of(p Projector) *RebuildStatus {
	v, ok := rb.versions[p.Name()]
	if !ok {
		return nil
	}
	st := rb.status
	st.Version = v
	return &st
}

// readRebuilds returns the rebuilds in progress by schema.
func readRebuilds(ctx context.Context, q querier) (map[string]storedRebuild, error) {
	rows, err := q.Query(ctx, `
SELECT schema_name, versions, position_commit, position_prepare, head_commit, head_prepare, events, started_at, updated_at
FROM annals_projections.rebuilds`)
	if err != nil {
		return nil, fmt.Errorf("read rebuilds: %w", err)
	}
	out := map[string]storedRebuild{}
	var (
		name                   string
		versions               []byte
		pc, pp, hc, hp, events int64
		started, updated       time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &versions, &pc, &pp, &hc, &hp, &events, &started, &updated}, func() error {
		rb := storedRebuild{status: RebuildStatus{
			Position: eventstore.Position{Commit: uint64(pc), Prepare: uint64(pp)},
			Head:     eventstore.Position{Commit: uint64(hc), Prepare: uint64(hp)},
			Events:   events, StartedAt: started, UpdatedAt: updated,
		}}
		rb.status.Fraction = fraction(rb.status.Position, rb.status.Head)
		if err := json.Unmarshal(versions, &rb.versions); err != nil {
			return fmt.Errorf("decode the versions of %s: %w", name, err)
		}
		out[name] = rb
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read rebuilds: %w", err)
	}
	return out, nil
}
