package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
	// ApplyTimeout bounds one transaction applying events. It is not tied
	// to Run's context, so a stop lets a started transaction finish.
	ApplyTimeout time.Duration
	// ApplyBatch is the most events read from the log that a projector
	// applies in one transaction: those that arrived while it applied the
	// last ones, never waiting for more.
	ApplyBatch int
	// FlushInterval is how often the progress made by skipping events is
	// written to the checkpoints, or, with a Feed, how often the checkpoints
	// are moved over what the workers applied. Losing it in a crash only
	// means skipping those events again.
	FlushInterval time.Duration
	// StopTimeout bounds how long Run waits for in-flight events on stop.
	StopTimeout time.Duration
	// LagScanLimit caps how many events Status reads to count a lag.
	LagScanLimit int

	// ParkAfter is how many attempts in a row at one event fail before the
	// projector parks it and goes on. Failures that are the database's
	// (lost connection, lock or serialization trouble) never park.
	ParkAfter int
	// RebuildBatch is how many events a rebuild reads and applies per
	// transaction.
	RebuildBatch int
	// CopyRows is the fewest new rows in a row that a rebuild copies with
	// COPY rather than inserting them one statement each.
	CopyRows int
	// SwapLockTimeout bounds each lock the swap of a rebuilt schema waits
	// for (the live checkpoints, the live tables, which readers hold); a
	// swap that times out catches up again and retries, and readers are
	// never the ones to give way.
	SwapLockTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultWaitTimeout     = 5 * time.Second
	DefaultPollInterval    = 20 * time.Millisecond
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultMaxRetryBackoff = 10 * time.Second
	DefaultApplyTimeout    = 30 * time.Second
	DefaultApplyBatch      = 100
	DefaultFlushInterval   = time.Second
	DefaultStopTimeout     = 30 * time.Second
	DefaultLagScanLimit    = 10000
	DefaultParkAfter       = 5
	DefaultRebuildBatch    = 2000
	DefaultCopyRows        = 32
	DefaultSwapLockTimeout = 2 * time.Second
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
	setDefault(&c.ApplyBatch, DefaultApplyBatch)
	setDefault(&c.FlushInterval, DefaultFlushInterval)
	setDefault(&c.StopTimeout, DefaultStopTimeout)
	setDefault(&c.LagScanLimit, DefaultLagScanLimit)
	setDefault(&c.ParkAfter, DefaultParkAfter)
	setDefault(&c.RebuildBatch, DefaultRebuildBatch)
	setDefault(&c.CopyRows, DefaultCopyRows)
	setDefault(&c.SwapLockTimeout, DefaultSwapLockTimeout)
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
		{"swap lock timeout", c.SwapLockTimeout},
	} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, errors.New("max retry backoff must be at least retry backoff"))
	}
	for _, n := range []struct {
		name  string
		value int
	}{
		{"lag scan limit", c.LagScanLimit}, {"park after", c.ParkAfter}, {"apply batch", c.ApplyBatch},
		{"rebuild batch", c.RebuildBatch}, {"copy rows", c.CopyRows},
	} {
		if n.value < 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", n.name))
		}
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
	// units are the read-model schemas, by name.
	units   map[string]*unit
	started bool
	running bool
}

var _ Waiter = (*Runtime)(nil)

// New returns a runtime with cfg's defaults filled in.
func New(cfg Config) (*Runtime, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, byName: map[string]*projection{}, units: map[string]*unit{}}
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
		if err := r.addToUnit(pr); err != nil {
			return err
		}
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
//
// A schema whose projectors changed version since its live tables were
// built is first rebuilt blue-green (see Rebuild), in the background: its
// projectors start once it has been swapped in, while the others run.
func (r *Runtime) Run(ctx context.Context) error {
	if r.cfg.Remote {
		return errors.New("projections: a remote runtime does not run projectors")
	}
	projections, err := r.begin()
	if err != nil {
		return err
	}
	defer r.setRunning(false)
	stale, err := r.staleUnits(ctx)
	if err != nil {
		return err
	}
	live := r.startRebuilding(projections, stale)
	if err := r.load(ctx, live); err != nil {
		return err
	}
	// Watermill's lifecycle messages are routine; its errors stay errors.
	logger := watermill.NewSlogLoggerWithLevelMapping(r.cfg.Logger.With("component", "projections"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: r.cfg.StopTimeout}, logger)
	if err != nil {
		return fmt.Errorf("projections: router: %w", err)
	}
	routes, err := r.newRouting(router)
	if err != nil {
		return err
	}
	defer routes.close()
	for _, p := range live {
		if err := routes.add(p); err != nil {
			return err
		}
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
	rebuilt := r.rebuildInBackground(ctx, router, routes, stale)
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
		runErr = fmt.Errorf("projections: router: %w", runErr)
	}
	if err := errors.Join(runErr, rebuilt()); err != nil {
		return err
	}
	// The last write must outlive ctx, which is cancelled by now.
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.StopTimeout)
	defer cancel()
	return r.persist(final, projections)
}

// routing adds projectors to a running router: each reads the Feed, or the
// one subscriber of the event log they share.
type routing struct {
	r      *Runtime
	router *message.Router
	log    *logsubscriber.Subscriber // nil with a Feed

	mu          sync.Mutex
	subscribers []message.Subscriber
}

func (r *Runtime) newRouting(router *message.Router) (*routing, error) {
	rt := &routing{r: r, router: router}
	if r.cfg.Feed != nil {
		return rt, nil
	}
	subscriber, err := logsubscriber.New(logsubscriber.Config{
		Store:       r.cfg.Store,
		Checkpoints: logsubscriber.CheckpointFunc(r.checkpoint),
		Logger:      r.cfg.Logger,
		Backoff:     r.cfg.RetryBackoff,
		MaxBackoff:  r.cfg.MaxRetryBackoff,
		MaxBatch:    r.cfg.ApplyBatch,
	})
	if err != nil {
		return nil, fmt.Errorf("projections: %w", err)
	}
	rt.log = subscriber
	rt.subscribers = append(rt.subscribers, subscriber)
	return rt, nil
}

// add gives p a handler; a router already running also needs RunHandlers.
func (rt *routing) add(p *projection) error {
	if rt.log != nil {
		rt.router.AddConsumerHandler(p.Name(), p.Name(), rt.log, rt.r.handler(p, logOrder{}))
		return nil
	}
	sub, topic, err := rt.r.cfg.Feed.Subscriber(p)
	if err != nil {
		return fmt.Errorf("projections: feed %s: %w", p.Name(), err)
	}
	rt.mu.Lock()
	rt.subscribers = append(rt.subscribers, sub)
	rt.mu.Unlock()
	rt.router.AddConsumerHandler(p.Name(), topic, sub, rt.r.handler(p, streamOrder{feed: rt.r.cfg.Feed}))
	return nil
}

// close closes the subscribers made.
func (rt *routing) close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, s := range rt.subscribers {
		if err := s.Close(); err != nil {
			rt.r.cfg.Logger.Warn("projections: close subscriber", "error", err)
		}
	}
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

// handler processes the events of a message for one projector: in one
// transaction when there are several, else, or when that fails, one event
// per transaction, so that a failing event is retried and parked alone.
// Returning an error nacks the message, and the subscriber redelivers it
// after a backoff; an event that fails ParkAfter times in a row is parked
// instead.
func (r *Runtime) handler(p *projection, o order) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		recs, err := o.decode(msg)
		if err != nil {
			_, err := r.failed(p, uuid.Nil, err)
			return err
		}
		if len(recs) > 1 {
			// Only the log sends several events at once, and it sends them
			// all again when one failed: those before it are processed.
			pos := p.snapshot().pos
			recs = slices.DeleteFunc(recs, func(rec eventstore.RecordedEvent) bool { return !pos.Less(rec.Position) })
			if r.handleAll(msg.Context(), p, o, recs) {
				return nil
			}
		}
		for _, rec := range recs {
			if err := r.handle(msg.Context(), p, o, rec); err != nil {
				return err
			}
		}
		return nil
	}
}

// handleAll applies the events p wants of recs in one transaction and notes
// all of recs processed. It reports false, with nothing done, when the
// transaction failed or found some of them applied already.
func (r *Runtime) handleAll(msgCtx context.Context, p *projection, o order, recs []eventstore.RecordedEvent) bool {
	wanted := slices.DeleteFunc(slices.Clone(recs), func(rec eventstore.RecordedEvent) bool { return !wants(p, rec) })
	if len(wanted) > 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(msgCtx), r.cfg.ApplyTimeout)
		defer cancel()
		applied, err := r.apply(ctx, p, o, wanted)
		if err != nil {
			r.cfg.Logger.Debug("projections: batch failed; applying its events one by one",
				"projector", p.Name(), "events", len(recs), "error", err)
		}
		if !applied {
			return false
		}
		r.metrics.applied.WithLabelValues(p.Name()).Add(float64(len(wanted)))
	}
	for _, rec := range recs {
		o.processed(p, rec, wants(p, rec))
	}
	return true
}

// handle processes one event in a transaction of its own.
func (r *Runtime) handle(msgCtx context.Context, p *projection, o order, rec eventstore.RecordedEvent) error {
	if !wants(p, rec) {
		o.processed(p, rec, false)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(msgCtx), r.cfg.ApplyTimeout)
	defer cancel()
	applied, err := r.apply(ctx, p, o, []eventstore.RecordedEvent{rec})
	if err != nil {
		attempts, failure := r.failed(p, rec.ID, err)
		if attempts < r.cfg.ParkAfter || systemic(err) {
			return failure
		}
		if err := r.park(ctx, p, o, rec, err, attempts); err != nil {
			r.cfg.Logger.Error("projections: park event", "projector", p.Name(), "event_id", rec.ID, "error", err)
			return failure
		}
		return nil
	}
	o.processed(p, rec, applied)
	if applied {
		r.metrics.applied.WithLabelValues(p.Name()).Inc()
	} else {
		r.metrics.duplicates.WithLabelValues(p.Name()).Inc()
	}
	return nil
}

// failed records a failed attempt at an event and returns how many in a
// row failed on it, with the error to nack it with.
func (r *Runtime) failed(p *projection, event uuid.UUID, err error) (int, error) {
	attempts := p.fail(event, err)
	r.metrics.failures.WithLabelValues(p.Name()).Inc()
	return attempts, fmt.Errorf("projector %s: %w", p.Name(), err)
}

// wants reports whether a projector handles an event; the others only move
// its position.
func wants(p Projector, rec eventstore.RecordedEvent) bool {
	if realm := p.Realm(); realm != "" && RealmOf(rec.StreamID) != realm {
		return false
	}
	return p.Handles(rec.Type)
}

// decode turns a recorded event into what projectors receive.
func (r *Runtime) decode(rec eventstore.RecordedEvent) (Event, error) {
	return r.decodeFor(rec, true)
}

// decodeFor decodes the event's metadata only when withMeta is set: it
// costs as much as the payload, and projectors that only see payloads
// (Defined ones) need none.
func (r *Runtime) decodeFor(rec eventstore.RecordedEvent, withMeta bool) (Event, error) {
	payload, err := r.cfg.Registry.Decode(rec.Type, rec.Data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s at %s: %w", rec.ID, rec.Position, err)
	}
	e := Event{RecordedEvent: rec, Payload: payload}
	if withMeta {
		if e.Meta, err = eventstore.DecodeMetadata(rec.Metadata); err != nil {
			return Event{}, fmt.Errorf("event %s at %s: %w", rec.ID, rec.Position, err)
		}
	}
	return e, nil
}

// apply writes events, in order, and the record that they are applied, in
// one transaction. It reports false when the record shows any of them
// applied before (by this process before a restart, or by another one),
// leaving everything untouched.
func (r *Runtime) apply(ctx context.Context, p *projection, o order, recs []eventstore.RecordedEvent) (applied bool, err error) {
	_, payloadOnly := p.Projector.(*Defined)
	events := make([]Event, len(recs))
	for i, rec := range recs {
		if events[i], err = r.decodeFor(rec, !payloadOnly); err != nil {
			return false, err
		}
	}
	// The rows and the checkpoint commit together and the events are durable
	// in the log, so a crash that loses the last projector commits only
	// means re-applying them: waiting for the WAL flush buys nothing.
	tx, err := beginIn(ctx, r.cfg.Pool, p.target, "synchronous_commit = off")
	if err != nil {
		return false, err
	}
	defer func() {
		if !applied {
			// Nothing to keep; a rollback error only matters if the work
			// failed, and then err already says why.
			_ = tx.Rollback(ctx)
		}
	}()
	admitted, err := o.admit(ctx, tx, p, recs)
	if err != nil || !admitted {
		return false, err
	}
	if err := write(ctx, tx, p.Projector, events); err != nil {
		return false, err
	}
	last := recs[len(recs)-1]
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit %s at %s: %w", last.ID, last.Position, err)
	}
	return true, nil
}

// write applies events, in order, on tx. The writes of several events of a
// Describer are pipelined; should they fail, the events are applied again
// one per transaction, by Apply, whose errors name the event.
func write(ctx context.Context, tx pgx.Tx, p Projector, events []Event) error {
	d, pipelined := p.(Describer)
	pipelined = pipelined && len(events) > 1
	// Never copying, the writer only pipelines: new rows keep the live
	// path's ON CONFLICT DO NOTHING.
	w := newBulkWriter(tx, nil, math.MaxInt)
	for _, e := range events {
		var err error
		if pipelined {
			err = queue(ctx, w, d, e)
		} else {
			err = p.Apply(ctx, tx, e)
		}
		if err != nil {
			return fmt.Errorf("apply %s %s at %s: %w", e.Type, e.ID, e.Position, err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return fmt.Errorf("apply %d events up to %s: %w", len(events), events[len(events)-1].Position, err)
	}
	return nil
}

// queue adds what e writes to w.
func queue(ctx context.Context, w *bulkWriter, d Describer, e Event) error {
	writes, err := d.Writes(e)
	if err != nil {
		return err
	}
	for _, write := range writes {
		if err := w.add(ctx, write); err != nil {
			return err
		}
	}
	return nil
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
	// Those waiting for their schema's rebuild have nothing to store yet.
	projections = slices.DeleteFunc(slices.Clone(projections), func(p *projection) bool { return !p.snapshot().loaded })
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
