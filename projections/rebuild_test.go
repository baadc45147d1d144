package projections_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/logsubscriber"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/projections/projectionstest"
	"github.com/annals-dev/annals/readmodels/schema"
)

// The rebuild tests' read model: lists and their entries, written by two
// projectors into one schema.
var listsSchema = schema.Schema{Name: "rbtest", Migrations: fstest.MapFS{
	"00001_lists.sql": {Data: []byte(`-- +goose Up
CREATE TABLE lists (id text PRIMARY KEY, name text NOT NULL, entries integer NOT NULL DEFAULT 0);
CREATE TABLE entries (id uuid PRIMARY KEY, list_id text NOT NULL REFERENCES lists (id), text text NOT NULL, seq bigserial);
CREATE TABLE words (word text PRIMARY KEY, n integer NOT NULL);
-- +goose Down
DROP TABLE entries, lists, words;
`)},
}}

type listOpened struct {
	List string `json:"list"`
	Name string `json:"name"`
}

func (listOpened) EventType() string { return "ListOpened" }

// entryAdded adds an entry and counts it on its list.
type entryAdded struct {
	ID   uuid.UUID `json:"id"`
	List string    `json:"list"`
	Text string    `json:"text"`
}

func (entryAdded) EventType() string { return "EntryAdded" }

// entryImported adds an entry without counting it: a new row and nothing
// else.
type entryImported struct {
	ID   uuid.UUID `json:"id"`
	List string    `json:"list"`
	Text string    `json:"text"`
}

func (entryImported) EventType() string { return "EntryImported" }

var (
	listRows  = projections.Into("lists", "id", "name")
	entryRows = projections.Into("entries", "id", "list_id", "text")
)

// listsProjector builds lists and entries; version 2 shows list names in
// capitals. While poisoned is set, an entry whose text is "poison" fails.
func listsProjector(version int, poisoned *atomic.Bool) projections.Projector {
	name := func(s string) string {
		if version >= 2 {
			return strings.ToUpper(s)
		}
		return s
	}
	return projections.Define(projections.Definition{Name: "test.lists", Version: version, Realm: "alpha", Schema: listsSchema},
		projections.On(func(e listOpened) []projections.Write {
			return []projections.Write{listRows.Row(e.List, name(e.Name))}
		}),
		projections.On(func(e entryAdded) []projections.Write {
			if e.Text == "poison" && poisoned.Load() {
				return []projections.Write{projections.Exec(`SELECT 1/0`)}
			}
			return []projections.Write{
				entryRows.Row(e.ID, e.List, e.Text),
				projections.Exec(`UPDATE lists SET entries = entries + 1 WHERE id = $1`, e.List),
			}
		}),
		projections.On(func(e entryImported) []projections.Write {
			return []projections.Write{entryRows.Row(e.ID, e.List, e.Text)}
		}),
	)
}

// wordsProjector counts entries by text, so that an entry applied twice
// shows.
func wordsProjector() projections.Projector {
	return projections.Define(projections.Definition{Name: "test.words", Version: 1, Realm: "alpha", Schema: listsSchema},
		projections.On(func(e entryAdded) []projections.Write {
			return []projections.Write{projections.Exec(`
INSERT INTO words (word, n) VALUES ($1, 1) ON CONFLICT (word) DO UPDATE SET n = words.n + 1`, e.Text)}
		}),
	)
}

type listsFixture struct {
	*fixture
	poisoned atomic.Bool

	mu   sync.Mutex
	last eventstore.Position // of the last event appended
}

func newListsFixture(t *testing.T) *listsFixture {
	t.Helper()
	f := &listsFixture{fixture: newPostgresFixture(t)}
	f.registry.Register(listOpened{}, entryAdded{}, entryImported{})
	if err := listsSchema.Migrate(t.Context(), f.pool); err != nil {
		t.Fatalf("migrate %s: %v", listsSchema.Name, err)
	}
	return f
}

// runtime makes a runtime of the lists schema's projectors, listsProjector
// at version.
func (f *listsFixture) runtime(t *testing.T, cfg projections.Config, version int) *projections.Runtime {
	t.Helper()
	return f.fixture.runtime(t, cfg, listsProjector(version, &f.poisoned), wordsProjector())
}

// buildLive runs rt until it has applied the whole log, then stops it.
func (f *listsFixture) buildLive(t *testing.T, rt *projections.Runtime) {
	t.Helper()
	stop := start(t, rt)
	waitFor(t, rt, "alpha", f.written())
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// add appends e to a fresh stream of realm.
func (f *listsFixture) add(t *testing.T, realm string, e kernel.Event) eventstore.RecordedEvent {
	t.Helper()
	rec := f.fixture.add(t, realm, e)
	f.appended(rec.Position)
	return rec
}

func (f *listsFixture) appended(pos eventstore.Position) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = later(f.last, pos)
}

// written is where the last event appended landed. The log's head is not
// enough: it is what readers can see, and a commit becomes visible only
// once every older transaction of the server has ended.
func (f *listsFixture) written() eventstore.Position {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func later(a, b eventstore.Position) eventstore.Position {
	if a.Less(b) {
		return b
	}
	return a
}

func (f *listsFixture) dump(t *testing.T) map[string]string {
	t.Helper()
	d, err := projectionstest.Dump(t.Context(), f.pool, listsSchema.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 3 {
		t.Fatalf("dumped tables %v, want lists, entries and words", slices.Sorted(maps.Keys(d)))
	}
	return d
}

// appendEntry appends an entry to a fresh stream; unlike add, it may run
// outside the test's goroutine.
func (f *listsFixture) appendEntry(ctx context.Context, e entryAdded) error {
	typ, data, err := f.registry.Encode(e)
	if err != nil {
		return err
	}
	res, err := f.store.Append(ctx, "alpha:entry-"+e.ID.String(), eventstore.NoStream,
		[]eventstore.EventData{{ID: uuid.New(), Type: typ, Data: data, Metadata: []byte(`{"realm":"alpha"}`)}})
	if err == nil {
		f.appended(res.Position)
	}
	return err
}

// history appends lists and entries of every kind, and returns how many
// entries each list counts.
func (f *listsFixture) history(t *testing.T, lists, entries int) map[string]int {
	t.Helper()
	counted := map[string]int{}
	for i := range lists {
		id := "list-" + string(rune('a'+i))
		f.add(t, "alpha", listOpened{List: id, Name: "List " + id})
		counted[id] = 0
	}
	for i := range entries {
		list := "list-" + string(rune('a'+i%lists))
		if i%3 == 0 {
			f.add(t, "alpha", entryImported{ID: uuid.New(), List: list, Text: "imported"})
			continue
		}
		f.add(t, "alpha", entryAdded{ID: uuid.New(), List: list, Text: []string{"red", "green", "blue"}[i%3]})
		counted[list]++
	}
	return counted
}

func (f *listsFixture) rebuildRowCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM annals_projections.rebuilds`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *listsFixture) schemaExists(t *testing.T, name string) bool {
	t.Helper()
	var ok bool
	if err := f.pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestRebuildEqualsTheLiveBuildRowForRow(t *testing.T) {
	f := newListsFixture(t)
	cfg := f.config()
	cfg.RebuildBatch, cfg.CopyRows = 7, 3
	f.history(t, 4, 120)
	f.add(t, "beta", entryAdded{ID: uuid.New(), List: "elsewhere", Text: "not ours"})
	rt := f.runtime(t, cfg, 1)
	f.buildLive(t, rt)
	live := f.dump(t)

	var last projections.RebuildProgress
	if err := rt.Rebuild(t.Context(), listsSchema.Name, projections.RebuildOptions{
		Progress: func(p projections.RebuildProgress) { last = p },
	}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if rebuilt := f.dump(t); !maps.Equal(rebuilt, live) {
		t.Fatalf("rebuilt model differs from the live one:\n live    %v\n rebuilt %v", live, rebuilt)
	}
	if !last.Swapped || last.Events != 125 || last.Fraction() != 1 || last.Fallbacks != 0 || last.Parked != 0 {
		t.Fatalf("last progress %+v: want swapped after all 125 events, without fallback", last)
	}
	if f.rebuildRowCount(t) != 0 || f.schemaExists(t, "annals_rebuild_"+listsSchema.Name) {
		t.Fatal("the rebuild left its record or its shadow schema behind")
	}
	for _, p := range []projections.Projector{listsProjector(1, &f.poisoned), wordsProjector()} {
		if got := f.storedCheckpoint(t, p); got != last.Position {
			t.Fatalf("checkpoint of %s at %s after the swap, want %s", p.Name(), got, last.Position)
		}
	}
}

func TestRebuildUnderLiveWritesAppliesEveryEventOnce(t *testing.T) {
	f := newListsFixture(t)
	cfg := f.config()
	cfg.RebuildBatch, cfg.CopyRows = 16, 4
	counted := f.history(t, 3, 150)
	rt := f.runtime(t, cfg, 1)
	start(t, rt)
	waitFor(t, rt, "alpha", f.written())

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var writes atomic.Int64
	writeErrs := make(chan error, 1)
	wg.Go(func() { // keeps appending while the rebuild runs
		defer close(writeErrs)
		for ctx.Err() == nil {
			// Not cancelled midway, so that every append is counted.
			if err := f.appendEntry(t.Context(), entryAdded{ID: uuid.New(), List: "list-a", Text: "red"}); err != nil {
				writeErrs <- err
				return
			}
			writes.Add(1)
		}
	})
	readErrs := make(chan error, 1)
	wg.Go(func() { // reads the live model and never sees it go back
		defer close(readErrs)
		seen := 0
		for ctx.Err() == nil {
			var n int
			if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM rbtest.entries`).Scan(&n); err != nil {
				if ctx.Err() == nil {
					readErrs <- err
				}
				return
			}
			if n < seen || n == 0 {
				readErrs <- errors.New("the live model lost entries during the rebuild")
				return
			}
			seen = n
		}
	})
	err := rt.Rebuild(t.Context(), listsSchema.Name, projections.RebuildOptions{})
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if err := <-readErrs; err != nil {
		t.Fatalf("read during the rebuild: %v", err)
	}
	if err := <-writeErrs; err != nil {
		t.Fatalf("append during the rebuild: %v", err)
	}
	// The live runtime goes on after the swap, on the new tables.
	after := f.add(t, "alpha", entryAdded{ID: uuid.New(), List: "list-b", Text: "green"})
	waitFor(t, rt, "alpha", after.Position)
	counted["list-a"] += int(writes.Load())
	counted["list-b"]++

	got := map[string]int{}
	rows, err := f.pool.Query(t.Context(), `SELECT id, entries FROM rbtest.lists`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	if !maps.Equal(got, counted) {
		t.Fatalf("entries counted per list %v, want %v: an event was lost or applied twice", got, counted)
	}
	var words, distinct int
	if err := f.pool.QueryRow(t.Context(), `SELECT sum(n), count(*) FROM rbtest.words`).Scan(&words, &distinct); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range counted {
		total += n
	}
	if words != total {
		t.Fatalf("words counted %d entries, want %d", words, total)
	}
}

func TestRebuildResumesAfterInterruption(t *testing.T) {
	f := newListsFixture(t)
	cfg := f.config()
	cfg.RebuildBatch = 10
	metrics := prometheus.NewRegistry()
	cfg.Metrics = metrics
	f.history(t, 2, 98)
	rt := f.runtime(t, cfg, 1)
	f.buildLive(t, rt)
	live := f.dump(t)

	ctx, interrupt := context.WithCancel(t.Context())
	err := rt.Rebuild(ctx, listsSchema.Name, projections.RebuildOptions{Progress: func(p projections.RebuildProgress) {
		if p.Events >= 30 {
			interrupt()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: %v, want context.Canceled", err)
	}
	if f.rebuildRowCount(t) != 1 || !f.schemaExists(t, "annals_rebuild_"+listsSchema.Name) {
		t.Fatal("an interrupted rebuild must keep its record and its shadow to resume from")
	}
	if got := f.dump(t); !maps.Equal(got, live) {
		t.Fatal("an interrupted rebuild changed the live model")
	}
	statuses, err := rt.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rb := statuses[0].Rebuild; rb == nil || rb.Events < 30 || rb.Version != 1 || rb.Fraction <= 0 || rb.Fraction >= 1 {
		t.Fatalf("status of an interrupted rebuild: %+v", rb)
	}
	progress, events := series(t, metrics, "annals_projection_rebuild_progress"), series(t, metrics, "annals_projection_rebuild_events")
	if len(progress) != 1 || progress[0].GetGauge().GetValue() != statuses[0].Rebuild.Fraction ||
		len(events) != 1 || events[0].GetGauge().GetValue() < 30 {
		t.Fatalf("rebuild metrics: progress %v, events %v", progress, events)
	}

	var first, last projections.RebuildProgress
	if err := rt.Rebuild(t.Context(), listsSchema.Name, projections.RebuildOptions{Progress: func(p projections.RebuildProgress) {
		if first.Events == 0 {
			first = p
		}
		last = p
	}}); err != nil {
		t.Fatalf("resumed rebuild: %v", err)
	}
	if first.Resumed < 30 || last.Events != 100 || !last.Swapped {
		t.Fatalf("resumed from %d to %d events (swapped %v), want from at least 30 to 100", first.Resumed, last.Events, last.Swapped)
	}
	if got := f.dump(t); !maps.Equal(got, live) {
		t.Fatalf("resumed rebuild differs from the live model:\n live    %v\n rebuilt %v", live, got)
	}
}

func TestOneRebuildOfASchemaAtATime(t *testing.T) {
	f := newListsFixture(t)
	cfg := f.config()
	cfg.RebuildBatch = 5
	f.history(t, 1, 20)
	first := f.runtime(t, cfg, 1)
	cfg.Metrics = prometheus.NewRegistry()
	second := f.runtime(t, cfg, 1)

	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- first.Rebuild(t.Context(), listsSchema.Name, projections.RebuildOptions{Progress: func(projections.RebuildProgress) {
			once.Do(func() {
				close(inside)
				<-release
			})
		}})
	}()
	<-inside
	err := second.Rebuild(t.Context(), "test.words", projections.RebuildOptions{})
	close(release)
	if !errors.Is(err, projections.ErrRebuildRunning) {
		t.Fatalf("second rebuild while one runs: %v, want ErrRebuildRunning", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first rebuild: %v", err)
	}
	if err := second.Rebuild(t.Context(), "test.words", projections.RebuildOptions{}); err != nil {
		t.Fatalf("rebuild once the first ended: %v", err)
	}
}

func TestNewVersionIsRebuiltAtStart(t *testing.T) {
	f := newListsFixture(t)
	f.history(t, 2, 30)
	f.buildLive(t, f.runtime(t, f.config(), 1))

	v2 := f.runtime(t, f.config(), 2)
	start(t, v2)
	// Waiting covers the rebuild: version 2 runs once swapped in.
	waitFor(t, v2, "alpha", f.written())
	var upper int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM rbtest.lists WHERE name = upper(name)`).Scan(&upper); err != nil {
		t.Fatal(err)
	}
	if upper != 2 {
		t.Fatalf("%d of 2 lists built by version 2", upper)
	}
	var versions []int
	rows, err := f.pool.Query(t.Context(), `SELECT version FROM annals_projections.checkpoints WHERE name = 'test.lists'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if len(versions) != 1 || versions[0] != 2 {
		t.Fatalf("checkpoints of test.lists at versions %v, want only 2", versions)
	}
	later := f.add(t, "alpha", listOpened{List: "list-z", Name: "late"})
	waitFor(t, v2, "alpha", later.Position)
	var name string
	if err := f.pool.QueryRow(t.Context(), `SELECT name FROM rbtest.lists WHERE id = 'list-z'`).Scan(&name); err != nil || name != "LATE" {
		t.Fatalf("list opened after the swap: %q, %v", name, err)
	}
}

func TestPoisonEventsAreParkedAndRetried(t *testing.T) {
	f := newListsFixture(t)
	f.poisoned.Store(true)
	cfg := f.config()
	cfg.ParkAfter = 3
	metrics := prometheus.NewRegistry()
	cfg.Metrics = metrics
	rt := f.runtime(t, cfg, 1)
	start(t, rt)
	f.add(t, "alpha", listOpened{List: "l", Name: "L"})
	poison := f.add(t, "alpha", entryAdded{ID: uuid.New(), List: "l", Text: "poison"})
	fine := f.add(t, "alpha", entryAdded{ID: uuid.New(), List: "l", Text: "fine"})
	// The projector goes past the poison.
	waitFor(t, rt, "alpha", fine.Position)

	entryTexts := func() []string {
		t.Helper()
		rows, err := f.pool.Query(t.Context(), `SELECT text FROM rbtest.entries ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	if got := entryTexts(); len(got) != 1 || got[0] != "fine" {
		t.Fatalf("entries %v, want only the fine one", got)
	}
	parkedOf := func() int {
		t.Helper()
		statuses, err := rt.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range statuses {
			if s.Name == "test.lists" {
				return s.Parked
			}
		}
		t.Fatal("no status of test.lists")
		return 0
	}
	if n := parkedOf(); n != 1 {
		t.Fatalf("status shows %d parked events, want 1", n)
	}
	gauge := series(t, metrics, "annals_projection_parked_events")
	if len(gauge) != 2 || gauge[0].GetLabel()[0].GetValue() != "test.lists" || gauge[0].GetGauge().GetValue() != 1 {
		t.Fatalf("parked gauge %v", gauge)
	}
	var parkedID uuid.UUID
	var attempts int
	var cause string
	if err := f.pool.QueryRow(t.Context(), `SELECT event_id, attempts, error FROM annals_projections.parked`).Scan(&parkedID, &attempts, &cause); err != nil {
		t.Fatal(err)
	}
	if parkedID != poison.ID || attempts != 3 || !strings.Contains(cause, "division by zero") {
		t.Fatalf("parked %s after %d attempts (%s), want %s after 3 with its error", parkedID, attempts, cause, poison.ID)
	}

	res, err := rt.Retry(t.Context(), "test.lists")
	if err != nil || res != (projections.RetryResult{Failed: 1}) {
		t.Fatalf("retry while still failing: %+v, %v", res, err)
	}
	if n := parkedOf(); n != 1 {
		t.Fatalf("an event that failed again must stay parked; %d are", n)
	}
	f.poisoned.Store(false) // the projector is fixed
	res, err = rt.Retry(t.Context(), listsSchema.Name)
	if err != nil || res != (projections.RetryResult{Applied: 1}) {
		t.Fatalf("retry once fixed: %+v, %v", res, err)
	}
	if got := entryTexts(); len(got) != 2 || got[1] != "poison" {
		t.Fatalf("entries after the retry %v", got)
	}
	if n := parkedOf(); n != 0 {
		t.Fatalf("%d events still parked after a successful retry", n)
	}
}

func TestRebuildParksPoisonAndCopiesParentsFirst(t *testing.T) {
	f := newListsFixture(t)
	f.poisoned.Store(true)
	cfg := f.config()
	cfg.ParkAfter, cfg.CopyRows = 1, 2
	f.add(t, "alpha", listOpened{List: "a", Name: "A"})
	f.add(t, "alpha", entryAdded{ID: uuid.New(), List: "a", Text: "red"})
	// A run of new rows whose first is an entry: COPY must write the list
	// it references first.
	f.add(t, "alpha", entryImported{ID: uuid.New(), List: "a", Text: "x"})
	f.add(t, "alpha", listOpened{List: "b", Name: "B"})
	f.add(t, "alpha", entryImported{ID: uuid.New(), List: "b", Text: "y"})
	f.add(t, "alpha", entryImported{ID: uuid.New(), List: "b", Text: "z"})
	rt := f.runtime(t, cfg, 1)
	f.buildLive(t, rt)
	clean := f.dump(t)

	var last projections.RebuildProgress
	progress := projections.RebuildOptions{Progress: func(p projections.RebuildProgress) { last = p }}
	if err := rt.Rebuild(t.Context(), listsSchema.Name, progress); err != nil {
		t.Fatal(err)
	}
	if last.Fallbacks != 0 || !maps.Equal(f.dump(t), clean) {
		t.Fatalf("copying a run that starts with children fell back %d times or changed the model", last.Fallbacks)
	}

	// A list opened twice (the second is skipped live) and a poison entry:
	// the bulk path fails on them, and the batch is applied event by event.
	f.add(t, "alpha", listOpened{List: "a", Name: "again"})
	f.add(t, "alpha", entryAdded{ID: uuid.New(), List: "b", Text: "poison"})
	cfg.Metrics = prometheus.NewRegistry()
	rt = f.runtime(t, cfg, 1)
	f.buildLive(t, rt)
	live := f.dump(t)
	if err := rt.Rebuild(t.Context(), listsSchema.Name, progress); err != nil {
		t.Fatal(err)
	}
	if last.Fallbacks != 1 || last.Parked != 1 {
		t.Fatalf("rebuild over a conflict and a poison: %d fallbacks, %d parked; want 1 and 1", last.Fallbacks, last.Parked)
	}
	if rebuilt := f.dump(t); !maps.Equal(rebuilt, live) {
		t.Fatalf("rebuilt model differs from the live one:\n live    %v\n rebuilt %v", live, rebuilt)
	}
	var parked int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM annals_projections.parked WHERE NOT rebuilding`).Scan(&parked); err != nil {
		t.Fatal(err)
	}
	if parked != 1 {
		t.Fatalf("%d events parked after the swap, want the rebuild's one in place of the live one", parked)
	}
}

// stagedFeed delivers its first events to every projector, then, once
// released, its second ones, in order, as a Kafka partition that lags
// would.
type stagedFeed struct {
	first, second []eventstore.RecordedEvent
	released      chan struct{}
}

var _ projections.Feed = (*stagedFeed)(nil)

func (f *stagedFeed) Subscriber(projections.Projector) (message.Subscriber, string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	return &staged{feed: f, ctx: ctx, cancel: cancel}, "events", nil
}

func (*stagedFeed) Decode(msg *message.Message) (eventstore.RecordedEvent, error) {
	return logsubscriber.Decode(msg)
}

type staged struct {
	feed   *stagedFeed
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *staged) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	out := make(chan *message.Message)
	s.wg.Go(func() {
		defer close(out)
		defer stop()
		defer cancel()
		for _, stage := range [][]eventstore.RecordedEvent{s.feed.first, s.feed.second} {
			for _, e := range stage {
				if !deliver(ctx, out, e) {
					return
				}
			}
			select {
			case <-s.feed.released:
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	})
	return out, nil
}

func (s *staged) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// TestRebuildUnderStreamFedWorkersAppliesNothingTwice swaps a rebuilt
// schema in while a worker fed by stream has applied some events beyond
// its watermark and has others still to come: those the new tables hold
// already are not applied again.
func TestRebuildUnderStreamFedWorkersAppliesNothingTwice(t *testing.T) {
	f := newListsFixture(t)
	a, b := kernel.StreamName("alpha", "list", "a"), kernel.StreamName("alpha", "list", "b")
	a0, b0 := f.addTo(t, a, listOpened{List: "a", Name: "A"}), f.addTo(t, b, listOpened{List: "b", Name: "B"})
	a1, b1 := f.addTo(t, a, entryAdded{ID: uuid.New(), List: "a", Text: "a1"}), f.addTo(t, b, entryAdded{ID: uuid.New(), List: "b", Text: "b1"})
	a2, b2 := f.addTo(t, a, entryAdded{ID: uuid.New(), List: "a", Text: "a2"}), f.addTo(t, b, entryAdded{ID: uuid.New(), List: "b", Text: "b2"})

	// Stream a's partition lags behind b's.
	feed := &stagedFeed{first: []eventstore.RecordedEvent{a0, b0, b1, b2}, second: []eventstore.RecordedEvent{a1, a2}, released: make(chan struct{})}
	cfg := f.config()
	worker := prometheus.NewRegistry()
	cfg.Metrics, cfg.Feed = worker, feed
	// The worker keeps its watermark from before the swap: the stream
	// versions alone must tell it what the new tables hold.
	cfg.FlushInterval = time.Hour
	fed := f.runtime(t, cfg, 1)
	start(t, fed)
	eventually(t, "the worker applied the first stage", func() bool {
		return sum(t, worker, "annals_projection_events_applied_total") == 6 // a0, b0, b1, b2 for lists, b1, b2 for words
	})

	cfg = f.config()
	if err := f.runtime(t, cfg, 1).Rebuild(t.Context(), listsSchema.Name, projections.RebuildOptions{}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	close(feed.released)
	waitFor(t, fed, "alpha", b2.Position)
	eventually(t, "the worker went through the second stage", func() bool {
		return sum(t, worker, "annals_projection_events_duplicate_total") == 4 // a1 and a2, for both projectors
	})
	var entriesOfA, words int
	if err := f.pool.QueryRow(t.Context(), `SELECT (SELECT entries FROM rbtest.lists WHERE id = 'a'), (SELECT sum(n) FROM rbtest.words)`).
		Scan(&entriesOfA, &words); err != nil {
		t.Fatal(err)
	}
	if entriesOfA != 2 || words != 4 {
		t.Fatalf("list a counts %d entries and words %d, want 2 and 4: the worker applied again what the rebuild had", entriesOfA, words)
	}
}

// sum adds up the series of a counter.
func sum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	total := 0.0
	for _, s := range series(t, g, name) {
		total += s.GetCounter().GetValue()
	}
	return total
}

// A schema also written by a projector this process does not run (another
// dialect's, say) cannot be rebuilt here: the shadow would lack its rows.
func TestRebuildRefusesASchemaWithProjectorsRegisteredElsewhere(t *testing.T) {
	f := newListsFixture(t)
	f.history(t, 1, 3)
	rt := f.runtime(t, f.config(), 1)
	f.buildLive(t, rt)
	if _, err := f.pool.Exec(t.Context(), `
INSERT INTO annals_projections.checkpoints (name, version, schema_name) VALUES ('test.elsewhere', 1, $1)`, listsSchema.Name); err != nil {
		t.Fatal(err)
	}
	live := f.dump(t)
	err := rt.Rebuild(t.Context(), listsSchema.Name, projections.RebuildOptions{})
	if err == nil || !strings.Contains(err.Error(), "also written by test.elsewhere") {
		t.Fatalf("rebuild of a schema shared with an unregistered projector: %v", err)
	}
	if f.rebuildRowCount(t) != 0 || !maps.Equal(f.dump(t), live) {
		t.Fatal("a refused rebuild changed something")
	}
}

// Two schemas whose projectors run the same statement text over tables of
// different column types share one connection: each keeps statements
// prepared for its own tables.
func TestSchemasSharingStatementTextsKeepTheirOwn(t *testing.T) {
	f := newFixture(t)
	f.registry.Register(entryAdded{})
	projector := func(name, idType string) projections.Projector {
		s := schema.Schema{Name: name, Migrations: fstest.MapFS{"00001_marks.sql": {Data: []byte(
			"-- +goose Up\nCREATE TABLE marks (id " + idType + " PRIMARY KEY);\n-- +goose Down\nDROP TABLE marks;\n")}}}
		if err := s.Migrate(t.Context(), f.pool); err != nil {
			t.Fatal(err)
		}
		return projections.Define(projections.Definition{Name: name + ".marks", Version: 1, Realm: "alpha", Schema: s},
			projections.On(func(e entryAdded) []projections.Write {
				return []projections.Write{projections.Exec(`INSERT INTO marks (id) VALUES ($1)`, e.ID.String())}
			}))
	}
	cfg := f.config()
	poolCfg := f.pool.Config()
	poolCfg.MaxConns = 1
	one, err := pgxpool.NewWithConfig(t.Context(), poolCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(one.Close)
	cfg.Pool = one
	rt := f.runtime(t, cfg, projector("marks_text", "text"), projector("marks_uuid", "uuid"))
	start(t, rt)
	var last eventstore.RecordedEvent
	for range 5 {
		last = f.add(t, "alpha", entryAdded{ID: uuid.New(), List: "l", Text: "t"})
	}
	waitFor(t, rt, "alpha", last.Position)
	var n int
	if err := f.pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM marks_text.marks) + (SELECT count(*) FROM marks_uuid.marks)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Fatalf("%d marks, want 5 in each schema", n)
	}
	if got := sum(t, cfg.Metrics.(prometheus.Gatherer), "annals_projection_failures_total"); got != 0 {
		t.Fatalf("%v failed attempts: a statement prepared for one schema ran against the other", got)
	}
}
