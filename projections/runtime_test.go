package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
	pgstore "github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/projections"
)

type itemAdded struct {
	Name string `json:"name"`
}

func (itemAdded) EventType() string { return "ItemAdded" }

// itemNoted is registered but not handled by the test projector.
type itemNoted struct{}

func (itemNoted) EventType() string { return "ItemNoted" }

// itemsProjector counts how often each event reaches its table, so a double
// application shows as applied > 1.
type itemsProjector struct {
	realm string
	// failures makes Apply fail this many times, after writing its row.
	failures atomic.Int32
	// gate, if set, runs inside Apply after the row is written.
	gate func()
}

func (p *itemsProjector) Name() string                  { return "test.items" }
func (p *itemsProjector) Version() int                  { return 1 }
func (p *itemsProjector) Realm() string                 { return p.realm }
func (p *itemsProjector) Handles(eventType string) bool { return eventType == "ItemAdded" }

func (p *itemsProjector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	added := e.Payload.(itemAdded)
	_, err := tx.Exec(ctx, `
INSERT INTO items (event_id, name, actor, applied) VALUES ($1, $2, $3, 1)
ON CONFLICT (event_id) DO UPDATE SET applied = items.applied + 1`, e.ID, added.Name, e.Meta.ActorID)
	if err != nil {
		return err
	}
	if p.gate != nil {
		p.gate()
	}
	if p.failures.Add(-1) >= 0 {
		return errors.New("projector failure on purpose")
	}
	return nil
}

type fixture struct {
	pool     *pgxpool.Pool
	store    eventstore.Store
	registry *kernel.Registry
}

// newFixture keeps events in memory.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixtureWithoutStore(t)
	f.store = memory.New()
	return f
}

// newPostgresFixture keeps events in the default backend, in the read
// models' database.
func newPostgresFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixtureWithoutStore(t)
	store, err := pgstore.New(f.pool, pgstore.Config{})
	if err != nil {
		t.Fatalf("postgres store: %v", err)
	}
	t.Cleanup(store.Close)
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate store: %v", err)
	}
	f.store = store
	return f
}

func newFixtureWithoutStore(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.New(t))
	if _, err := pool.Exec(t.Context(), `
CREATE TABLE items (event_id uuid PRIMARY KEY, name text NOT NULL, actor text NOT NULL, applied int NOT NULL)`); err != nil {
		t.Fatalf("create items: %v", err)
	}
	registry := kernel.NewRegistry()
	registry.Register(itemAdded{}, itemNoted{})
	return &fixture{pool: pool, registry: registry}
}

func (f *fixture) config() projections.Config {
	return projections.Config{
		Pool: f.pool, Store: f.store, Registry: f.registry,
		Metrics:      prometheus.NewRegistry(),
		RetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond,
	}
}

func (f *fixture) runtime(t *testing.T, cfg projections.Config, ps ...projections.Projector) *projections.Runtime {
	t.Helper()
	rt, err := projections.New(cfg)
	if err != nil {
		t.Fatalf("new runtime: %v", err)
	}
	if err := rt.Register(ps...); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := rt.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return rt
}

// start runs rt until the returned stop is called (or the test ends); stop
// returns Run's error.
func start(t *testing.T, rt *projections.Runtime) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	var result error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return stop
}

// add appends one event to a fresh stream of realm and returns it.
func (f *fixture) add(t *testing.T, realm string, e kernel.Event) eventstore.RecordedEvent {
	t.Helper()
	return f.addTo(t, kernel.StreamName(realm, "item", uuid.NewString()), e)
}

// addTo appends one event to the end of stream and returns it.
func (f *fixture) addTo(t *testing.T, stream string, e kernel.Event) eventstore.RecordedEvent {
	t.Helper()
	typ, data, err := f.registry.Encode(e)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	md, err := json.Marshal(eventstore.Metadata{Realm: projections.RealmOf(stream), ActorID: "actor-1"})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	res, err := f.store.Append(t.Context(), stream, eventstore.Any,
		[]eventstore.EventData{{ID: uuid.New(), Type: typ, Data: data, Metadata: md}})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	recorded, err := f.store.ReadStream(t.Context(), stream, res.NextExpectedVersion, 1)
	if err != nil || len(recorded) != 1 {
		t.Fatalf("read back %s: %v (%d events)", stream, err, len(recorded))
	}
	return recorded[0]
}

func waitFor(t *testing.T, rt *projections.Runtime, realm string, pos eventstore.Position) {
	t.Helper()
	if err := rt.WaitFor(t.Context(), realm, pos); err != nil {
		t.Fatalf("wait for %s: %v", pos, err)
	}
}

// items returns how often each event id was applied.
func (f *fixture) items(t *testing.T) map[uuid.UUID]int {
	t.Helper()
	rows, err := f.pool.Query(t.Context(), `SELECT event_id, applied FROM items`)
	if err != nil {
		t.Fatalf("query items: %v", err)
	}
	out := map[uuid.UUID]int{}
	var (
		id uuid.UUID
		n  int
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil }); err != nil {
		t.Fatalf("scan items: %v", err)
	}
	return out
}

func (f *fixture) assertAppliedOnce(t *testing.T, events ...eventstore.RecordedEvent) {
	t.Helper()
	got := f.items(t)
	if len(got) != len(events) {
		t.Fatalf("%d items in the read model, want %d: %v", len(got), len(events), got)
	}
	for _, e := range events {
		if got[e.ID] != 1 {
			t.Fatalf("event %s applied %d times, want once", e.ID, got[e.ID])
		}
	}
}

func (f *fixture) storedCheckpoint(t *testing.T, p projections.Projector) eventstore.Position {
	t.Helper()
	var c, pr int64
	err := f.pool.QueryRow(t.Context(), `
SELECT position_commit, position_prepare FROM annals_projections.checkpoints WHERE name = $1 AND version = $2`,
		p.Name(), p.Version()).Scan(&c, &pr)
	if err != nil {
		t.Fatalf("read checkpoint: %v", err)
	}
	return eventstore.Position{Commit: uint64(c), Prepare: uint64(pr)}
}

func TestAppliesLiveEvents(t *testing.T) {
	f := newFixture(t)
	p := &itemsProjector{realm: "alpha"}
	cfg := f.config()
	metrics := prometheus.NewRegistry()
	cfg.Metrics = metrics
	rt := f.runtime(t, cfg, p)
	start(t, rt)

	a := f.add(t, "alpha", itemAdded{Name: "a"})
	b := f.add(t, "alpha", itemAdded{Name: "b"})
	waitFor(t, rt, "alpha", b.Position)

	f.assertAppliedOnce(t, a, b)
	var name, actor string
	if err := f.pool.QueryRow(t.Context(), `SELECT name, actor FROM items WHERE event_id = $1`, b.ID).Scan(&name, &actor); err != nil {
		t.Fatalf("read item: %v", err)
	}
	if name != "b" || actor != "actor-1" {
		t.Fatalf("item (%q, %q): payload or metadata not decoded", name, actor)
	}
	// The checkpoint committed with the row.
	if got := f.storedCheckpoint(t, p); got != b.Position {
		t.Fatalf("stored checkpoint %s, want %s", got, b.Position)
	}
	if v := counterValue(t, metrics, "annals_projection_events_applied_total"); v != 2 {
		t.Fatalf("events applied counter %v, want 2", v)
	}
}

// series returns the series of one metric family in a registry.
func series(t *testing.T, g prometheus.Gatherer, name string) []*dto.Metric {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

// counterValue is the value of a counter with a single series.
func counterValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	s := series(t, g, name)
	if len(s) != 1 {
		t.Fatalf("metric %s has %d series, want 1", name, len(s))
	}
	return s[0].GetCounter().GetValue()
}

func TestResumesFromCheckpointAfterRestart(t *testing.T) {
	for name, build := range map[string]func(*testing.T) *fixture{
		"memory store":   newFixture,
		"postgres store": newPostgresFixture,
	} {
		t.Run(name, func(t *testing.T) {
			f := build(t)
			p := &itemsProjector{realm: "alpha"}
			first := f.runtime(t, f.config(), p)
			stop := start(t, first)
			a := f.add(t, "alpha", itemAdded{Name: "a"})
			b := f.add(t, "alpha", itemAdded{Name: "b"})
			waitFor(t, first, "alpha", b.Position)
			if err := stop(); err != nil {
				t.Fatalf("run: %v", err)
			}

			// Written while no runtime runs: the next one must catch up from b.
			c := f.add(t, "alpha", itemAdded{Name: "c"})
			second := f.runtime(t, f.config(), p)
			start(t, second)
			waitFor(t, second, "alpha", c.Position)
			f.assertAppliedOnce(t, a, b, c)
		})
	}
}

func TestConcurrentRuntimesApplyEachEventOnce(t *testing.T) {
	f := newFixture(t)
	p := &itemsProjector{realm: "alpha"}
	one := f.runtime(t, f.config(), p)
	two := f.runtime(t, f.config(), p)
	start(t, one)
	start(t, two)
	var events []eventstore.RecordedEvent
	for range 20 {
		events = append(events, f.add(t, "alpha", itemAdded{Name: "x"}))
	}
	last := events[len(events)-1].Position
	waitFor(t, one, "alpha", last)
	waitFor(t, two, "alpha", last)
	f.assertAppliedOnce(t, events...)
}

func TestFailedApplyIsRolledBackAndRetried(t *testing.T) {
	f := newFixture(t)
	p := &itemsProjector{realm: "alpha"}
	p.failures.Store(3)
	cfg := f.config()
	metrics := prometheus.NewRegistry()
	cfg.Metrics = metrics
	rt := f.runtime(t, cfg, p)
	start(t, rt)

	a := f.add(t, "alpha", itemAdded{Name: "a"})
	waitFor(t, rt, "alpha", a.Position)
	// Each failed attempt wrote the row before failing; a single applied
	// count proves those writes were rolled back.
	f.assertAppliedOnce(t, a)
	if v := counterValue(t, metrics, "annals_projection_failures_total"); v != 3 {
		t.Fatalf("failures counter %v, want 3", v)
	}
}

func TestSkipsOtherRealmsAndUnhandledTypes(t *testing.T) {
	f := newFixture(t)
	p := &itemsProjector{realm: "alpha"}
	rt := f.runtime(t, f.config(), p)
	stop := start(t, rt)

	mine := f.add(t, "alpha", itemAdded{Name: "mine"})
	f.add(t, "beta", itemAdded{Name: "theirs"})
	noted := f.add(t, "alpha", itemNoted{})
	// Skipped events still move the position, so waiting on them returns.
	waitFor(t, rt, "alpha", noted.Position)
	f.assertAppliedOnce(t, mine)

	// Skipped progress is stored lazily, and at the latest on stop.
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := f.storedCheckpoint(t, p); got != noted.Position {
		t.Fatalf("stored checkpoint %s after stop, want %s", got, noted.Position)
	}
}

func TestWaitForTimesOut(t *testing.T) {
	f := newFixture(t)
	p := &itemsProjector{realm: "alpha"}
	p.failures.Store(1 << 30) // never succeeds
	cfg := f.config()
	cfg.WaitTimeout = 50 * time.Millisecond
	cfg.ParkAfter = 1 << 30 // parking would move it past the event
	rt := f.runtime(t, cfg, p)
	start(t, rt)

	a := f.add(t, "alpha", itemAdded{Name: "a"})
	began := time.Now()
	err := rt.WaitFor(t.Context(), "alpha", a.Position)
	if !errors.Is(err, projections.ErrNotCaughtUp) {
		t.Fatalf("wait: %v, want ErrNotCaughtUp", err)
	}
	if waited := time.Since(began); waited > 2*time.Second {
		t.Fatalf("wait took %s with a 50ms bound", waited)
	}
	// The caller giving up is not the read models being late.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := rt.WaitFor(cancelled, "alpha", a.Position); !errors.Is(err, context.Canceled) || errors.Is(err, projections.ErrNotCaughtUp) {
		t.Fatalf("wait with a cancelled context: %v, want context.Canceled", err)
	}
	// A realm without projectors has nothing to wait for.
	if err := rt.WaitFor(t.Context(), "gamma", a.Position); err != nil {
		t.Fatalf("wait for a realm without projectors: %v", err)
	}
	statuses, err := rt.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if statuses[0].State != projections.StateFailing || statuses[0].Error == "" || statuses[0].LagEvents != 1 {
		t.Fatalf("status of a failing projector: %+v", statuses[0])
	}
}

func TestStopLetsTheInFlightTransactionCommit(t *testing.T) {
	f := newFixture(t)
	entered, release := make(chan struct{}), make(chan struct{})
	p := &itemsProjector{realm: "alpha", gate: func() {
		close(entered)
		<-release
	}}
	rt := f.runtime(t, f.config(), p)
	stop := start(t, rt)
	a := f.add(t, "alpha", itemAdded{Name: "a"})
	<-entered

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while an event was being applied", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
	f.assertAppliedOnce(t, a)
	if got := f.storedCheckpoint(t, p); got != a.Position {
		t.Fatalf("stored checkpoint %s, want %s", got, a.Position)
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	p := &itemsProjector{realm: "alpha"}
	cfg := f.config()
	metrics := prometheus.NewRegistry()
	cfg.Metrics = metrics
	rt := f.runtime(t, cfg, p)
	f.add(t, "alpha", itemAdded{Name: "a"})
	b := f.add(t, "beta", itemAdded{Name: "b"})

	statuses, err := rt.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	want := projections.Status{Name: "test.items", Version: 1, Realm: "alpha", State: projections.StateStopped,
		Head: b.Position, LagEvents: 2}
	got := statuses[0]
	if got.LagSeconds < 0 || got.LagSeconds > 60 {
		t.Fatalf("lag seconds %v", got.LagSeconds)
	}
	got.LagSeconds = 0
	if len(statuses) != 1 || got != want {
		t.Fatalf("status before run %+v, want %+v", statuses, want)
	}
	if err := rt.CaughtUp(t.Context(), 10); err == nil {
		t.Fatal("a runtime that is not running reports caught up")
	}

	start(t, rt)
	waitFor(t, rt, "alpha", b.Position)
	statuses, err = rt.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	want = projections.Status{Name: "test.items", Version: 1, Realm: "alpha", State: projections.StateLive,
		Position: b.Position, Checkpoint: statuses[0].Checkpoint, Head: b.Position}
	if statuses[0] != want {
		t.Fatalf("status when caught up %+v, want %+v", statuses[0], want)
	}
	if err := rt.CaughtUp(t.Context(), 0); err != nil {
		t.Fatalf("caught up: %v", err)
	}
	for _, name := range []string{"annals_projection_lag_events", "annals_projection_lag_seconds"} {
		s := series(t, metrics, name)
		if len(s) != 1 || s[0].GetGauge().GetValue() != 0 {
			t.Fatalf("%s when caught up: %v", name, s)
		}
	}
}

func TestRegisterRejectsDuplicates(t *testing.T) {
	f := newFixture(t)
	rt, err := projections.New(f.config())
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := rt.Register(&itemsProjector{}, &itemsProjector{}); err == nil {
		t.Fatal("registering one name twice succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	f := newFixture(t)
	for name, mutate := range map[string]func(*projections.Config){
		"no pool":          func(c *projections.Config) { c.Pool = nil },
		"no store":         func(c *projections.Config) { c.Store = nil },
		"no registry":      func(c *projections.Config) { c.Registry = nil },
		"negative timeout": func(c *projections.Config) { c.WaitTimeout = -time.Second },
		"max below min":    func(c *projections.Config) { c.RetryBackoff, c.MaxRetryBackoff = time.Second, time.Millisecond },
	} {
		cfg := f.config()
		mutate(&cfg)
		if _, err := projections.New(cfg); err == nil {
			t.Errorf("%s: New accepted an invalid config", name)
		}
	}
}
