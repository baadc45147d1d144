package projections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/readmodels/schema"
)

// drivenStore hands its subscriptions the events the test sends, one at a
// time, and nothing else. The runtime reads ahead one event at a time too,
// so once a send returns, every event sent two sends before it is waiting
// to be taken into the projector's next transaction.
type drivenStore struct {
	eventstore.Store
	events chan eventstore.RecordedEvent
}

func (s drivenStore) Subscribe(ctx context.Context, _ eventstore.Position) (eventstore.Subscription, error) {
	out := make(chan eventstore.RecordedEvent)
	go func() {
		defer close(out)
		for {
			select {
			case e := <-s.events:
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return drivenSubscription(out), nil
}

type drivenSubscription <-chan eventstore.RecordedEvent

func (s drivenSubscription) Events() <-chan eventstore.RecordedEvent { return s }
func (drivenSubscription) Err() error                                { return nil }

// holder holds the first event a projector applies until released.
type holder struct {
	held, release chan struct{}
	holding       atomic.Bool
}

func newHolder() *holder {
	return &holder{held: make(chan struct{}), release: make(chan struct{})}
}

func (h *holder) hold() {
	if h.holding.CompareAndSwap(false, true) {
		close(h.held)
		<-h.release
	}
}

// txProjector records the transaction each event was applied in, fails on
// items named "poison", and holds its first event.
type txProjector struct {
	*itemsProjector
	*holder

	mu  sync.Mutex
	txs map[uuid.UUID]int64
}

func newTxProjector() *txProjector {
	return &txProjector{itemsProjector: &itemsProjector{realm: "alpha"}, holder: newHolder(), txs: map[uuid.UUID]int64{}}
}

func (p *txProjector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	p.hold()
	if e.Payload.(itemAdded).Name == "poison" {
		return errors.New("poison on purpose")
	}
	if err := p.itemsProjector.Apply(ctx, tx, e); err != nil {
		return err
	}
	var id int64
	if err := tx.QueryRow(ctx, `SELECT txid_current()`).Scan(&id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.txs[e.ID] = id
	return nil
}

func (p *txProjector) tx(id uuid.UUID) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.txs[id]
}

// batchFixture runs p on a driven store; send hands the runtime events.
type batchFixture struct {
	*fixture
	rt     *projections.Runtime
	driven drivenStore
}

// newBatchFixture prepares f with prepare, if given, then starts p.
func newBatchFixture(t *testing.T, p projections.Projector, configure func(*projections.Config), prepare ...func(*fixture)) *batchFixture {
	t.Helper()
	f := newFixture(t)
	for _, fn := range prepare {
		fn(f)
	}
	driven := drivenStore{Store: f.store, events: make(chan eventstore.RecordedEvent)}
	cfg := f.config()
	cfg.Store = driven
	cfg.ApplyBatch = 10 // room for every event sent while one is held
	configure(&cfg)
	rt := f.runtime(t, cfg, p)
	start(t, rt)
	return &batchFixture{fixture: f, rt: rt, driven: driven}
}

func (f *batchFixture) send(t *testing.T, events ...eventstore.RecordedEvent) {
	t.Helper()
	for _, e := range events {
		select {
		case f.driven.events <- e:
		case <-t.Context().Done():
			t.Fatal("the runtime stopped reading")
		}
	}
}

// hold has the projector apply a first event, which h holds.
func (f *batchFixture) hold(t *testing.T, h *holder, first eventstore.RecordedEvent) {
	t.Helper()
	f.send(t, first)
	<-h.held
}

// sendBehind sends events, which follow the held one in the log, then two
// more, so that events are all waiting when the projector is released, and
// waits for all of them. It returns the two more.
func (f *batchFixture) sendBehind(t *testing.T, h *holder, events ...eventstore.RecordedEvent) []eventstore.RecordedEvent {
	t.Helper()
	f.send(t, events...)
	more := []eventstore.RecordedEvent{f.add(t, "alpha", itemAdded{Name: "y"}), f.add(t, "alpha", itemAdded{Name: "z"})}
	f.send(t, more...)
	close(h.release)
	waitFor(t, f.rt, "alpha", more[1].Position)
	return more
}

func TestAppliesTheEventsWaitingInOneTransaction(t *testing.T) {
	p := newTxProjector()
	f := newBatchFixture(t, p, func(*projections.Config) {})
	first := f.add(t, "alpha", itemAdded{Name: "first"})
	f.hold(t, p.holder, first)
	a := f.add(t, "alpha", itemAdded{Name: "a"})
	skipped := f.add(t, "alpha", itemNoted{})
	b := f.add(t, "beta", itemAdded{Name: "b"})
	c := f.add(t, "alpha", itemAdded{Name: "c"})
	more := f.sendBehind(t, p.holder, a, skipped, b, c)

	f.assertAppliedOnce(t, append(more, first, a, c)...)
	if p.tx(a.ID) != p.tx(c.ID) {
		t.Fatalf("a and c applied in transactions %d and %d, want one", p.tx(a.ID), p.tx(c.ID))
	}
	if got := f.storedCheckpoint(t, p); got.Less(c.Position) {
		t.Fatalf("checkpoint %s, want at least %s", got, c.Position)
	}
}

func TestParksTheFailingEventOfABatchAlone(t *testing.T) {
	p := newTxProjector()
	f := newBatchFixture(t, p, func(cfg *projections.Config) { cfg.ParkAfter = 2 })
	first := f.add(t, "alpha", itemAdded{Name: "first"})
	f.hold(t, p.holder, first)
	a := f.add(t, "alpha", itemAdded{Name: "a"})
	poison := f.add(t, "alpha", itemAdded{Name: "poison"})
	b := f.add(t, "alpha", itemAdded{Name: "b"})
	more := f.sendBehind(t, p.holder, a, poison, b)

	f.assertAppliedOnce(t, append(more, first, a, b)...)
	var parked []uuid.UUID
	rows, err := f.pool.Query(t.Context(), `SELECT event_id FROM annals_projections.parked WHERE name = $1`, p.Name())
	if err != nil {
		t.Fatalf("read parked: %v", err)
	}
	if parked, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
		t.Fatalf("read parked: %v", err)
	}
	if len(parked) != 1 || parked[0] != poison.ID {
		t.Fatalf("parked %v, want only %s", parked, poison.ID)
	}
}

// heldDefined is a Defined projector whose first event is held.
type heldDefined struct {
	*projections.Defined
	*holder
}

func (p heldDefined) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	p.hold()
	return p.Defined.Apply(ctx, tx, e)
}

func TestPipelinesTheWritesOfADefinedProjectorInOneTransaction(t *testing.T) {
	marks := schema.Schema{Name: "batched", Migrations: fstest.MapFS{"00001_marks.sql": {Data: []byte(`-- +goose Up
CREATE TABLE marks (id uuid PRIMARY KEY, tx bigint NOT NULL, n integer NOT NULL DEFAULT 1);
CREATE TABLE texts (id uuid PRIMARY KEY, text text NOT NULL);
-- +goose Down
DROP TABLE marks, texts;
`)}}}
	texts := projections.Into("texts", "id", "text")
	p := heldDefined{holder: newHolder(), Defined: projections.Define(
		projections.Definition{Name: "test.marks", Version: 1, Realm: "alpha", Schema: marks},
		projections.On(func(e entryAdded) []projections.Write {
			return []projections.Write{
				projections.Exec(`INSERT INTO marks (id, tx) VALUES ($1, txid_current())
ON CONFLICT (id) DO UPDATE SET n = marks.n + 1`, e.ID),
				texts.Row(e.ID, e.Text),
			}
		}))}
	f := newBatchFixture(t, p, func(*projections.Config) {}, func(f *fixture) {
		f.registry.Register(entryAdded{})
		if err := marks.Migrate(t.Context(), f.pool); err != nil {
			t.Fatalf("migrate %s: %v", marks.Name, err)
		}
	})
	f.hold(t, p.holder, f.add(t, "alpha", entryAdded{ID: uuid.New(), Text: "first"}))
	var (
		batch []eventstore.RecordedEvent
		ids   []uuid.UUID
	)
	for _, text := range []string{"a", "b", "c"} {
		ids = append(ids, uuid.New())
		batch = append(batch, f.add(t, "alpha", entryAdded{ID: ids[len(ids)-1], Text: text}))
	}
	f.sendBehind(t, p.holder, batch...)

	rows, err := f.pool.Query(t.Context(), `
SELECT m.tx, m.n, t.text FROM batched.marks m JOIN batched.texts t USING (id) WHERE id = ANY($1)`, ids)
	if err != nil {
		t.Fatalf("read marks: %v", err)
	}
	txs := map[int64]int{}
	var (
		tx, n int64
		text  string
	)
	if _, err := pgx.ForEachRow(rows, []any{&tx, &n, &text}, func() error {
		if n != 1 {
			return fmt.Errorf("%s applied %d times", text, n)
		}
		txs[tx]++
		return nil
	}); err != nil {
		t.Fatalf("read marks: %v", err)
	}
	if len(txs) != 1 {
		t.Fatalf("the batch's events were applied in transactions %v, want one", txs)
	}
	for _, count := range txs {
		if count != len(batch) {
			t.Fatalf("%d of the batch's %d events were applied", count, len(batch))
		}
	}
}
