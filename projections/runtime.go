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

	// Feed, when set, feeds the projectors instead of the event log: see
	// Feed. The checkpoint of a projector then trails what its workers
	// applied, moved every FlushInterval over the events applied without a
	// gap.
	Feed Feed
	// Remote is for processes that write but run no projectors: the
	// projectors run in other processes, so Run is refused, and WaitFor,
	// Status and CaughtUp observe the progress stored in the database.
	Remote bool

	// WaitTimeout bounds WaitFor.
	WaitTimeout time.Duration
	// PollInterval is how often WaitFor checks the stored progress when it
	// cannot follow the projectors in memory: the runtime is Remote, or
	// fed by a Feed, whose workers may run anywhere.
	PollInterval time.Duration
	// RetryBackoff is the wait before a failed event is retried; it doubles
	// on each consecutive failure up to MaxRetryBackoff.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// ApplyTimeout bounds one event's transaction. It is not tied to Run's
	// context, so a stop lets a started transaction finish.
	ApplyTimeout time.Duration
	// FlushInterval is how often the progress made by skipping events is
	// written to the checkpoints, or, with a Feed, how often the checkpoints
	// are moved over what the workers applied. Losing it in a crash only
	// means skipping those events again.
	FlushInterval time.Duration
	// StopTimeout bounds how long Run waits for in-flight events on stop.
	StopTimeout time.Duration
	// LagScanLimit caps how many events Status reads to count a lag.
	LagScanLimit int
}

// Defaults of Config.
const (
	DefaultWaitTimeout     = 5 * time.Second
	DefaultPollInterval    = 20 * time.Millisecond
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
	setDefault(&c.PollInterval, DefaultPollInterval)
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
	if c.Remote && c.Feed != nil {
		errs = append(errs, errors.New("a remote runtime runs no projectors to feed"))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"wait timeout", c.WaitTimeout}, {"poll interval", c.PollInterval},
		{"retry backoff", c.RetryBackoff}, {"apply timeout", c.ApplyTimeout},
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

// Runtime feeds registered projectors from the event log or a Feed and
// tracks where each stands. It implements Waiter.
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
// events being applied (up to StopTimeout) and stores the progress made. It
// runs once per Runtime, and not at all when the runtime is Remote.
func (r *Runtime) Run(ctx context.Context) error {
	if r.cfg.Remote {
		return errors.New("projections: a remote runtime does not run projectors")
	}
	projections, err := r.begin()
	if err != nil {
		return err
	}
	defer r.setRunning(false)
	if err := r.load(ctx, projections); err != nil {
		return err
	}
	// Watermill's lifecycle messages are routine; its errors stay errors.
	logger := watermill.NewSlogLoggerWithLevelMapping(r.cfg.Logger.With("component", "projections"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: r.cfg.StopTimeout}, logger)
	if err != nil {
		return fmt.Errorf("projections: router: %w", err)
	}
	closeSubscribers, err := r.route(router, projections)
	defer closeSubscribers()
	if err != nil {
		return err
	}
	// A router without handlers would not notice ctx ending, and one with
	// handlers closes itself once they all stop; closing on ctx covers both.
	stopRouter := context.AfterFunc(ctx, func() {
		if err := router.Close(); err != nil {
			r.cfg.Logger.Error("projections: stop", "error", err)
		}
	})
	defer stopRouter()

	persistCtx, stopPersisting := context.WithCancel(ctx)
	persisted := make(chan struct{})
	go func() {
		defer close(persisted)
		r.persistEvery(persistCtx, projections)
	}()
	r.setRunning(true)
	var runErr error
	if len(projections) == 0 {
		<-ctx.Done()
	} else {
		runErr = router.Run(ctx)
	}
	stopPersisting()
	<-persisted
	if runErr != nil {
		return fmt.Errorf("projections: router: %w", runErr)
	}
	// The last write must outlive ctx, which is cancelled by now.
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.StopTimeout)
	defer cancel()
	return r.persist(final, projections)
}

// route adds a handler per projector to router, reading the event log or
// the Feed. The returned function closes the subscribers made.
func (r *Runtime) route(router *message.Router, projections []*projection) (closeAll func(), err error) {
	var subscribers []message.Subscriber
	closeAll = func() {
		for _, s := range subscribers {
			if err := s.Close(); err != nil {
				r.cfg.Logger.Warn("projections: close subscriber", "error", err)
			}
		}
	}
	if r.cfg.Feed != nil {
		o := streamOrder{feed: r.cfg.Feed}
		for _, p := range projections {
			sub, topic, err := r.cfg.Feed.Subscriber(p)
			if err != nil {
				return closeAll, fmt.Errorf("projections: feed %s: %w", p.Name(), err)
			}
			subscribers = append(subscribers, sub)
			router.AddConsumerHandler(p.Name(), topic, sub, r.handler(p, o))
		}
		return closeAll, nil
	}
	subscriber, err := logsubscriber.New(logsubscriber.Config{
		Store:       r.cfg.Store,
		Checkpoints: logsubscriber.CheckpointFunc(r.checkpoint),
		Logger:      r.cfg.Logger,
		Backoff:     r.cfg.RetryBackoff,
		MaxBackoff:  r.cfg.MaxRetryBackoff,
	})
	if err != nil {
		return closeAll, fmt.Errorf("projections: %w", err)
	}
	subscribers = append(subscribers, subscriber)
	for _, p := range projections {
		router.AddConsumerHandler(p.Name(), p.Name(), subscriber, r.handler(p, logOrder{}))
	}
	return closeAll, nil
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
// Reading the log, it also finds where the stream versions of an earlier
// stream-ordered run end.
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
	streamed := map[checkpointKey]eventstore.Position{}
	if r.cfg.Feed == nil {
		if streamed, err = readStreamedUntil(ctx, r.cfg.Pool); err != nil {
			return fmt.Errorf("projections: %w", err)
		}
	}
	for _, p := range projections {
		p.start(stored[keyOf(p)], streamed[keyOf(p)])
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
func (r *Runtime) handler(p *projection, o order) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		rec, err := o.decode(msg)
		if err != nil {
			return r.failed(p, err)
		}
		if !wants(p, rec) {
			o.processed(p, rec, false)
			return nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(msg.Context()), r.cfg.ApplyTimeout)
		defer cancel()
		applied, err := r.apply(ctx, p, o, rec)
		if err != nil {
			return r.failed(p, err)
		}
		o.processed(p, rec, applied)
		if applied {
			r.metrics.applied.WithLabelValues(p.Name()).Inc()
		} else {
			r.metrics.duplicates.WithLabelValues(p.Name()).Inc()
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

// apply writes one event, and the record that it is applied, in one
// transaction. It reports false when the record shows the event applied
// before (by this process before a restart, or by another one), leaving
// everything untouched.
func (r *Runtime) apply(ctx context.Context, p *projection, o order, rec eventstore.RecordedEvent) (applied bool, err error) {
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
	admitted, err := o.admit(ctx, tx, p, rec)
	if err != nil || !admitted {
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

// persistEvery stores progress every FlushInterval until ctx ends.
func (r *Runtime) persistEvery(ctx context.Context, projections []*projection) {
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.persist(ctx, projections); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("projections: store progress", "error", err)
			}
		}
	}
}

// persist stores the progress the checkpoints do not show yet: skipped
// events when reading the log, the watermark when reading a Feed.
func (r *Runtime) persist(ctx context.Context, projections []*projection) error {
	if r.cfg.Feed != nil {
		return r.advanceWatermarks(ctx, projections)
	}
	return r.flush(ctx, projections)
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
