package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/logsubscriber"
	"github.com/annals-dev/annals/adapters/postgres"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
)

// ErrNotCaughtUp is returned (wrapped) by WaitFor when the read models did
// not reach the position within the configured bound.
var ErrNotCaughtUp = errors.New("projections: read models did not catch up in time")

// Config configures a Runtime.
type Config struct {
	// Pool holds the read models and the checkpoints: one database, so a
	// projector's rows and its checkpoint commit together.
	Pool     *pgxpool.Pool
	Store    eventstore.Store
	Registry *kernel.Registry
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics receives the runtime's collectors; a private registry when nil.
	Metrics prometheus.Registerer

	// WaitTimeout bounds WaitFor.
	WaitTimeout time.Duration
	// RetryBackoff is the wait before a failed event is retried; it doubles
	// on each consecutive failure up to MaxRetryBackoff.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// ApplyTimeout bounds one event's transaction. It is not tied to Run's
	// context, so a stop lets a started transaction finish.
	ApplyTimeout time.Duration
	// FlushInterval is how often the progress made by skipping events is
	// written to the checkpoints. Losing it in a crash only means skipping
	// those events again.
	FlushInterval time.Duration
	// StopTimeout bounds how long Run waits for in-flight events on stop.
	StopTimeout time.Duration
	// LagScanLimit caps how many events Status reads to count a lag.
	LagScanLimit int
}

// Defaults of Config.
const (
	DefaultWaitTimeout     = 5 * time.Second
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultMaxRetryBackoff = 10 * time.Second
	DefaultApplyTimeout    = 30 * time.Second
	DefaultFlushInterval   = time.Second
	DefaultStopTimeout     = 30 * time.Second
	DefaultLagScanLimit    = 10000
)

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	setDefault(&c.WaitTimeout, DefaultWaitTimeout)
	setDefault(&c.RetryBackoff, DefaultRetryBackoff)
	setDefault(&c.MaxRetryBackoff, DefaultMaxRetryBackoff)
	setDefault(&c.ApplyTimeout, DefaultApplyTimeout)
	setDefault(&c.FlushInterval, DefaultFlushInterval)
	setDefault(&c.StopTimeout, DefaultStopTimeout)
	setDefault(&c.LagScanLimit, DefaultLagScanLimit)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Pool == nil {
		errs = append(errs, errors.New("pool is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("event store is required"))
	}
	if c.Registry == nil {
		errs = append(errs, errors.New("event registry is required"))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"wait timeout", c.WaitTimeout}, {"retry backoff", c.RetryBackoff}, {"apply timeout", c.ApplyTimeout},
		{"flush interval", c.FlushInterval}, {"stop timeout", c.StopTimeout},
	} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, errors.New("max retry backoff must be at least retry backoff"))
	}
	if c.LagScanLimit < 0 {
		errs = append(errs, errors.New("lag scan limit must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("projections config: %w", err)
	}
	return nil
}

// Runtime feeds registered projectors from the event log and tracks where
// each stands. It implements Waiter.
type Runtime struct {
	cfg     Config
	metrics *metrics

	mu          sync.Mutex
	projections []*projection
	byName      map[string]*projection
	started     bool
	running     bool
}

var _ Waiter = (*Runtime)(nil)

// New returns a runtime with cfg's defaults filled in.
func New(cfg Config) (*Runtime, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, byName: map[string]*projection{}}
	m, err := newMetrics(r, cfg.Metrics)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// Register adds projectors. Names must be unique; registering after Run has
// started is refused.
func (r *Runtime) Register(projectors ...Projector) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("projections: register after run")
	}
	for _, p := range projectors {
		if _, dup := r.byName[p.Name()]; dup {
			return fmt.Errorf("projections: projector %q registered twice", p.Name())
		}
		pr := newProjection(p)
		r.projections = append(r.projections, pr)
		r.byName[p.Name()] = pr
	}
	return nil
}

// Migrate brings the runtime's checkpoint schema up to date.
func (r *Runtime) Migrate(ctx context.Context) error {
	if err := postgres.Migrate(ctx, r.cfg.Pool, migrations(), versionTable); err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	return nil
}

// Run feeds every projector until ctx is cancelled, then waits for the
// events being applied (up to StopTimeout) and stores the progress made by
// skipping events. It runs once per Runtime.
func (r *Runtime) Run(ctx context.Context) error {
	projections, err := r.begin()
	if err != nil {
		return err
	}
	defer r.setRunning(false)
	if err := r.load(ctx, projections); err != nil {
		return err
	}
	subscriber, err := logsubscriber.New(logsubscriber.Config{
		Store:       r.cfg.Store,
		Checkpoints: logsubscriber.CheckpointFunc(r.checkpoint),
		Logger:      r.cfg.Logger,
		Backoff:     r.cfg.RetryBackoff,
		MaxBackoff:  r.cfg.MaxRetryBackoff,
	})
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	defer subscriber.Close()
	// Watermill's lifecycle messages are routine; its errors stay errors.
	logger := watermill.NewSlogLoggerWithLevelMapping(r.cfg.Logger.With("component", "projections"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: r.cfg.StopTimeout}, logger)
	if err != nil {
		return fmt.Errorf("projections: router: %w", err)
	}
	for _, p := range projections {
		router.AddConsumerHandler(p.Name(), p.Name(), subscriber, r.handler(p))
	}
	// A router without handlers would not notice ctx ending, and one with
	// handlers closes itself once they all stop; closing on ctx covers both.
	stopRouter := context.AfterFunc(ctx, func() {
		if err := router.Close(); err != nil {
			r.cfg.Logger.Error("projections: stop", "error", err)
		}
	})
	defer stopRouter()

	flushCtx, stopFlushing := context.WithCancel(ctx)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		r.flushEvery(flushCtx, projections)
	}()
	r.setRunning(true)
	var runErr error
	if len(projections) == 0 {
		<-ctx.Done()
	} else {
		runErr = router.Run(ctx)
	}
	stopFlushing()
	<-flushed
	if runErr != nil {
		return fmt.Errorf("projections: router: %w", runErr)
	}
	// The last flush must outlive ctx, which is cancelled by now.
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.StopTimeout)
	defer cancel()
	return r.flush(final, projections)
}

// begin marks the runtime started and returns the projections to run.
func (r *Runtime) begin() ([]*projection, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return nil, errors.New("projections: run called twice")
	}
	r.started = true
	return append([]*projection(nil), r.projections...), nil
}

func (r *Runtime) setRunning(v bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = v
}

func (r *Runtime) isRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

func (r *Runtime) registered() []*projection {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*projection(nil), r.projections...)
}

// load creates missing checkpoints and starts each projection from its own.
func (r *Runtime) load(ctx context.Context, projections []*projection) error {
	for _, p := range projections {
		if err := ensureCheckpoint(ctx, r.cfg.Pool, p); err != nil {
			return fmt.Errorf("projections: %w", err)
		}
	}
	stored, err := readCheckpoints(ctx, r.cfg.Pool)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	for _, p := range projections {
		p.start(stored[keyOf(p)])
	}
	return nil
}

// checkpoint tells the log subscriber where a projector stands in memory,
// which is at or past its stored checkpoint.
func (r *Runtime) checkpoint(_ context.Context, name string) (eventstore.Position, error) {
	r.mu.Lock()
	p, ok := r.byName[name]
	r.mu.Unlock()
	if !ok {
		return eventstore.Position{}, fmt.Errorf("projections: no projector %q", name)
	}
	s := p.snapshot()
	if !s.loaded {
		return eventstore.Position{}, fmt.Errorf("projections: checkpoint of %q not loaded", name)
	}
	return s.pos, nil
}

// handler processes one event for one projector. Returning an error nacks
// the message, and the subscriber redelivers it after a backoff.
func (r *Runtime) handler(p *projection) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		rec, err := logsubscriber.Decode(msg)
		if err != nil {
			return r.failed(p, err)
		}
		if !wants(p, rec) {
			p.advance(rec.Position, false)
			return nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), r.cfg.ApplyTimeout)
		defer cancel()
		applied, err := r.apply(ctx, p, rec)
		if err != nil {
			return r.failed(p, err)
		}
		p.advance(rec.Position, true)
		if applied {
			r.metrics.applied.WithLabelValues(p.Name()).Inc()
		}
		return nil
	}
}

func (r *Runtime) failed(p *projection, err error) error {
	p.fail(err)
	r.metrics.failures.WithLabelValues(p.Name()).Inc()
	return fmt.Errorf("projector %s: %w", p.Name(), err)
}

// wants reports whether a projector handles an event; the others only move
// its position.
func wants(p Projector, rec eventstore.RecordedEvent) bool {
	if realm := p.Realm(); realm != "" && RealmOf(rec.StreamID) != realm {
		return false
	}
	return p.Handles(rec.Type)
}

// apply writes one event and the checkpoint in one transaction. It reports
// false when the checkpoint was already past the event (applied before, by
// this process before a restart or by another one), leaving it untouched.
func (r *Runtime) apply(ctx context.Context, p *projection, rec eventstore.RecordedEvent) (applied bool, err error) {
	payload, err := r.cfg.Registry.Decode(rec.Type, rec.Data)
	if err != nil {
		return false, fmt.Errorf("event %s at %s: %w", rec.ID, rec.Position, err)
	}
	meta, err := eventstore.DecodeMetadata(rec.Metadata)
	if err != nil {
		return false, fmt.Errorf("event %s at %s: %w", rec.ID, rec.Position, err)
	}
	tx, err := r.cfg.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if !applied {
			// Nothing to keep; a rollback error only matters if the work
			// failed, and then err already says why.
			_ = tx.Rollback(ctx)
		}
	}()
	// The checkpoint goes first: it takes the row lock that serialises
	// concurrent processes before any row is written.
	ahead, err := advanceCheckpoint(ctx, tx, p, rec.Position)
	if err != nil || !ahead {
		return false, err
	}
	if err := p.Apply(ctx, tx, Event{RecordedEvent: rec, Payload: payload, Meta: meta}); err != nil {
		return false, fmt.Errorf("apply %s %s at %s: %w", rec.Type, rec.ID, rec.Position, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit %s at %s: %w", rec.ID, rec.Position, err)
	}
	return true, nil
}

// flushEvery stores skipped progress every FlushInterval until ctx ends.
func (r *Runtime) flushEvery(ctx context.Context, projections []*projection) {
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.flush(ctx, projections); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("projections: store skipped progress", "error", err)
			}
		}
	}
}

// flush writes the position of every projection that moved past its stored
// checkpoint by skipping events.
func (r *Runtime) flush(ctx context.Context, projections []*projection) error {
	var errs []error
	for _, p := range projections {
		s := p.snapshot()
		if !s.persisted.Less(s.pos) {
			continue
		}
		if _, err := advanceCheckpoint(ctx, r.cfg.Pool, p, s.pos); err != nil {
			errs = append(errs, err)
			continue
		}
		p.stored(s.pos)
	}
	return errors.Join(errs...)
}

// WaitFor returns once every projector of realm, and every projector of all
// realms, has processed pos. It gives up with ErrNotCaughtUp after
// WaitTimeout.
func (r *Runtime) WaitFor(ctx context.Context, realm string, pos eventstore.Position) error {
	bounded, cancel := context.WithTimeout(ctx, r.cfg.WaitTimeout)
	defer cancel()
	for _, p := range r.registered() {
		if p.Realm() != "" && p.Realm() != realm {
			continue
		}
		if err := p.waitFor(bounded, pos); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("wait for %s to reach %s: %w", p.Name(), pos, ctx.Err())
			}
			return fmt.Errorf("%w: %s has not reached %s after %s", ErrNotCaughtUp, p.Name(), pos, r.cfg.WaitTimeout)
		}
	}
	return nil
}
