package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/envelope"
	"github.com/annals-dev/annals/adapters/kafka/kafkatest"
	"github.com/annals-dev/annals/adapters/kafka/relay"
	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
)

// waitLimit bounds every wait; reaching it fails the test.
const waitLimit = 30 * time.Second

// env is one test's event store, PostgreSQL database and Kafka cluster.
type env struct {
	t       *testing.T
	store   *memory.Store
	db      *pgxpool.Pool
	brokers []string
	pub     *kafka.Publisher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	brokers := kafkatest.Brokers(t, kfake.DefaultNumPartitions(4))
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, AllowAutoTopicCreation: true}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return &env{t: t, store: memory.New(), db: pgtest.Pool(t, pgtest.New(t)), brokers: brokers, pub: pub}
}

// appendRoundRobin appends n events to each stream, one event per stream in
// turn, so that the streams interleave in the global log.
func (e *env) appendRoundRobin(n int, streams ...string) {
	e.t.Helper()
	for i := range n {
		for _, stream := range streams {
			meta, err := json.Marshal(eventstore.Metadata{
				Realm:         "test",
				ActorID:       "actor-" + stream,
				Command:       "Do",
				CommandID:     uuid.New(),
				CorrelationID: uuid.New(),
				CausationID:   uuid.New(),
				OccurredAt:    time.Now(),
			})
			if err != nil {
				e.t.Fatal(err)
			}
			ev := eventstore.EventData{ID: uuid.New(), Type: "Thing", Data: fmt.Appendf(nil, `{"n":%d}`, i), Metadata: meta}
			if _, err := e.store.Append(context.Background(), stream, eventstore.Any, []eventstore.EventData{ev}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// events is the whole log, by event id.
func (e *env) events() map[string]eventstore.RecordedEvent {
	e.t.Helper()
	all, err := e.store.ReadAll(context.Background(), eventstore.Start, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	byID := map[string]eventstore.RecordedEvent{}
	for _, ev := range all {
		byID[ev.ID.String()] = ev
	}
	return byID
}

func (e *env) head() eventstore.Position {
	e.t.Helper()
	head, err := e.store.Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return head
}

// savedCheckpoint reads the relay's row in PostgreSQL.
func (e *env) savedCheckpoint(name string) eventstore.Position {
	e.t.Helper()
	var c, p int64
	err := e.db.QueryRow(context.Background(),
		`SELECT position_commit, position_prepare FROM annals_kafka_relay.checkpoints WHERE name = $1`, name).Scan(&c, &p)
	if err != nil {
		e.t.Fatal(err)
	}
	return eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}
}

// advisoryLocks counts this database's advisory locks held or awaited.
func (e *env) advisoryLocks(granted bool) int {
	e.t.Helper()
	var n int
	err := e.db.QueryRow(context.Background(), `
SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND l.granted = $1 AND d.datname = current_database()`, granted).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// terminateLockHolder ends the session holding the relay's lock, as a
// network failure or an administrator would, and waits until it is gone.
// It may run outside the test's goroutine, so it reports instead of failing.
func (e *env) terminateLockHolder() error {
	var n int
	err := e.db.QueryRow(context.Background(), `
SELECT count(*) FILTER (WHERE pg_terminate_backend(l.pid, 10000)) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()`).Scan(&n)
	if err != nil || n != 1 {
		return fmt.Errorf("terminate lock holder: %d sessions ended, %v", n, err)
	}
	return nil
}

// testConfig keeps retries and lock checks quick.
func testConfig() relay.Config {
	return relay.Config{BatchSize: 16, RetryInterval: 20 * time.Millisecond, LockCheckInterval: 50 * time.Millisecond}
}

// start runs a relay until ctx ends or the returned stop is called (or the
// test ends); stop waits for Run to return.
func (e *env) start(ctx context.Context, config relay.Config, pub message.Publisher) (r *relay.Relay, stop func()) {
	e.t.Helper()
	r, err := relay.New(config, e.store, e.db, pub, watermill.NopLogger{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("relay run: %v", err)
				}
			case <-time.After(waitLimit):
				e.t.Error("relay did not stop")
			}
		})
	}
	e.t.Cleanup(stop)
	return r, stop
}

// eventually polls cond until it holds, failing the test at waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// readDistinct reads topic until it holds want distinct event ids.
func (e *env) readDistinct(topic string, want int) []kafkago.Message {
	e.t.Helper()
	return kafkatest.ReadUntil(e.t, e.brokers, topic, waitLimit, func(ms []kafkago.Message) bool {
		return len(distinctIDs(ms)) >= want
	})
}

func distinctIDs(ms []kafkago.Message) map[string]bool {
	ids := map[string]bool{}
	for _, m := range ms {
		ids[header(m, envelope.HeaderEventID)] = true
	}
	return ids
}

func header(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// assertStreamsInOrder checks that, reading each partition in offset order
// and skipping redeliveries, every stream's events come as versions 0, 1, …
func assertStreamsInOrder(t *testing.T, ms []kafkago.Message) {
	t.Helper()
	next := map[string]int64{}
	seen := map[string]bool{}
	for _, m := range ms {
		id := header(m, envelope.HeaderEventID)
		if seen[id] {
			continue
		}
		seen[id] = true
		stream := header(m, envelope.HeaderStream)
		if v := header(m, envelope.HeaderStreamVersion); v != fmt.Sprint(next[stream]) {
			t.Fatalf("stream %s: got version %s, want %d", stream, v, next[stream])
		}
		next[stream]++
	}
}

func TestRelayPublishesEveryEventInStreamOrderWithAuditHeaders(t *testing.T) {
	e := newEnv(t)
	sartiq := []string{"sartiq:user-1", "sartiq:user-2", "sartiq:org-1"}
	civic := []string{"civic:user-1", "civic:role-1"}
	e.appendRoundRobin(20, append(sartiq, civic...)...)

	r, _ := e.start(context.Background(), testConfig(), e.pub)
	eventually(t, "the relay caught up", func() bool { return r.Status().Checkpoint == e.head() })
	e.appendRoundRobin(5, "sartiq:user-1", "civic:user-2") // live events after catching up

	stored := e.events()
	for topic, want := range map[string]int{"annals.sartiq.events": 3*20 + 5, "annals.civic.events": 2*20 + 5} {
		ms := e.readDistinct(topic, want)
		assertStreamsInOrder(t, ms)
		for _, m := range ms {
			ev, ok := stored[header(m, envelope.HeaderEventID)]
			if !ok {
				t.Fatalf("%s: unknown event %q", topic, header(m, envelope.HeaderEventID))
			}
			meta, _ := eventstore.DecodeMetadata(ev.Metadata)
			for k, v := range map[string]string{
				envelope.HeaderEventType:     ev.Type,
				envelope.HeaderStream:        ev.StreamID,
				envelope.HeaderStreamVersion: fmt.Sprint(ev.Version),
				envelope.HeaderPosition:      ev.Position.String(),
				envelope.HeaderCorrelationID: meta.CorrelationID.String(),
				envelope.HeaderCausationID:   meta.CausationID.String(),
				envelope.HeaderActorID:       meta.ActorID,
				envelope.HeaderContentType:   envelope.ContentType,
			} {
				if got := header(m, k); got != v {
					t.Fatalf("%s: event %s header %s = %q, want %q", topic, ev.ID, k, got, v)
				}
			}
			if string(m.Key) != ev.StreamID {
				t.Fatalf("key %q, want the stream %q", m.Key, ev.StreamID)
			}
			ce, err := envelope.Decode(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			if ce.ID != ev.ID.String() || ce.Subject != ev.StreamID || ce.Type != ev.Type ||
				ce.Source != "annals/"+ce.Realm || string(ce.Data) != string(ev.Data) || ce.Position != ev.Position.String() {
				t.Fatalf("cloudevent %+v does not match event %+v", ce, ev)
			}
		}
		if n := kafkatest.Count(t, e.brokers, topic); n != int64(want) {
			t.Errorf("%s holds %d messages, want exactly %d in a run without failures", topic, n, want)
		}
	}
	eventually(t, "the checkpoint reached the head", func() bool { return e.savedCheckpoint("default") == e.head() })
}

// hookedPublisher wraps the real publisher to inject a failure or observe
// what Kafka acknowledged.
type hookedPublisher struct {
	message.Publisher
	// before may refuse a publish by returning an error.
	before func(msgs []*message.Message) error
	// after sees every acknowledged publish.
	after func(msgs []*message.Message)
}

func (p *hookedPublisher) Publish(topic string, msgs ...*message.Message) error {
	if p.before != nil {
		if err := p.before(msgs); err != nil {
			return err
		}
	}
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return err
	}
	if p.after != nil {
		p.after(msgs)
	}
	return nil
}

// A relay stopped mid-stream resumes from its checkpoint: nothing is lost.
func TestRelayResumesAfterStopMidStream(t *testing.T) {
	e := newEnv(t)
	streams := []string{"sartiq:a", "sartiq:b", "sartiq:c", "sartiq:d", "sartiq:e"}
	e.appendRoundRobin(60, streams...) // 300 events
	const topic, total = "annals.sartiq.events", 300

	// The hook stops the relay as soon as Kafka acknowledged 100 events:
	// the batch in flight still completes, then the relay stops.
	ctx, cancel := context.WithCancel(context.Background())
	var published atomic.Int64
	hook := &hookedPublisher{Publisher: e.pub, after: func(msgs []*message.Message) {
		if published.Add(int64(len(msgs))) >= 100 {
			cancel()
		}
	}}
	_, stopFirst := e.start(ctx, testConfig(), hook)
	<-ctx.Done()
	stopFirst()

	checkpoint := e.savedCheckpoint("default")
	if checkpoint.Commit != uint64(published.Load()) || checkpoint.Commit >= total {
		t.Fatalf("checkpoint after the stop is %s, want mid-stream at the %d events Kafka acknowledged", checkpoint, published.Load())
	}

	e.start(context.Background(), testConfig(), e.pub)
	ms := e.readDistinct(topic, total)
	assertStreamsInOrder(t, ms)
	if got := len(distinctIDs(ms)); got != total {
		t.Fatalf("%d distinct events in Kafka, want %d", got, total)
	}
	eventually(t, "the second relay checkpointed the head", func() bool { return e.savedCheckpoint("default") == e.head() })
	if n := kafkatest.Count(t, e.brokers, topic); n > total+16 {
		t.Errorf("%d messages for %d events: more duplicates than one batch", n, total)
	}
}

// When the relay dies between Kafka's acknowledgement and the checkpoint
// (here: its session is killed), the batch is published again and nothing
// else is duplicated or lost.
func TestRelayRepublishesOnlyTheUncheckpointedBatchAfterACrash(t *testing.T) {
	e := newEnv(t)
	e.appendRoundRobin(40, "civic:a", "civic:b", "civic:c") // 120 events
	const topic, total = "annals.civic.events", 120

	var batches atomic.Int64
	var lostBatch atomic.Int64
	hook := &hookedPublisher{Publisher: e.pub, after: func(msgs []*message.Message) {
		if batches.Add(1) == 3 {
			// Kafka has the batch; saving its checkpoint will fail.
			if err := e.terminateLockHolder(); err != nil {
				t.Error(err)
			}
			lostBatch.Store(int64(len(msgs)))
		}
	}}
	e.start(context.Background(), testConfig(), hook)

	ms := e.readDistinct(topic, total)
	assertStreamsInOrder(t, ms)
	eventually(t, "the relay recovered and checkpointed the head", func() bool { return e.savedCheckpoint("default") == e.head() })
	if lostBatch.Load() == 0 {
		t.Fatal("the crash was not injected")
	}
	if n, want := kafkatest.Count(t, e.brokers, topic), total+lostBatch.Load(); n != want {
		t.Errorf("%d messages in Kafka, want %d: every event once plus the batch whose checkpoint was lost", n, want)
	}
}

// A second instance waits on the lock without publishing, and takes over
// from the first's checkpoint when it stops.
func TestStandbyRelayTakesOverWhenTheActiveOneStops(t *testing.T) {
	e := newEnv(t)
	const topic = "annals.sartiq.events"
	first, stopFirst := e.start(context.Background(), testConfig(), e.pub)
	eventually(t, "the first relay is active", func() bool { return first.Status().Active })
	second, _ := e.start(context.Background(), testConfig(), e.pub)
	eventually(t, "the second relay waits for the lock", func() bool { return e.advisoryLocks(false) == 1 })

	e.appendRoundRobin(25, "sartiq:a", "sartiq:b") // 50 events
	e.readDistinct(topic, 50)
	eventually(t, "the first relay checkpointed the head", func() bool { return first.Status().Checkpoint == e.head() })
	if second.Status().Active {
		t.Fatal("the standby is active while the first relay holds the lock")
	}
	if n := kafkatest.Count(t, e.brokers, topic); n != 50 {
		t.Fatalf("%d messages for 50 events: the standby published", n)
	}

	stopFirst()
	if got, want := first.Status(), (relay.Status{Checkpoint: e.head()}); got != want {
		t.Fatalf("stopped relay reports %+v, want %+v", got, want)
	}
	eventually(t, "the standby took over", func() bool { return second.Status().Active })
	if got, want := second.Status().Checkpoint, e.head(); got != want {
		t.Fatalf("the standby started at %s, want the first relay's checkpoint %s", got, want)
	}
	e.appendRoundRobin(25, "sartiq:a", "sartiq:c") // 50 more
	ms := e.readDistinct(topic, 100)
	assertStreamsInOrder(t, ms)
	eventually(t, "the standby checkpointed the head", func() bool { return second.Status().Checkpoint == e.head() })
	if n := kafkatest.Count(t, e.brokers, topic); n != 100 {
		t.Errorf("%d messages for 100 events after a clean handover", n)
	}
}

// An active relay whose lock session dies steps down, even while idle, and
// the standby takes over.
func TestActiveRelayStepsDownWhenItsLockSessionDies(t *testing.T) {
	e := newEnv(t)
	first, _ := e.start(context.Background(), testConfig(), e.pub)
	eventually(t, "the first relay is active", func() bool { return first.Status().Active })
	second, _ := e.start(context.Background(), testConfig(), e.pub)
	eventually(t, "the second relay waits for the lock", func() bool { return e.advisoryLocks(false) == 1 })

	if err := e.terminateLockHolder(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the roles swapped", func() bool {
		return second.Status().Active && !first.Status().Active && e.advisoryLocks(false) == 1
	})
	e.appendRoundRobin(10, "civic:a")
	e.readDistinct("annals.civic.events", 10)
	eventually(t, "the new active relay checkpointed the head", func() bool { return second.Status().Checkpoint == e.head() })
}

// While Kafka refuses a batch the checkpoint stays put; the batch goes out
// once Kafka accepts it again.
func TestCheckpointWaitsForKafka(t *testing.T) {
	e := newEnv(t)
	e.appendRoundRobin(5, "notes:a") // one batch
	var refusals atomic.Int64
	hook := &hookedPublisher{Publisher: e.pub, before: func([]*message.Message) error {
		if refusals.Add(1) <= 3 {
			var saved int
			if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM annals_kafka_relay.checkpoints`).Scan(&saved); err != nil {
				t.Error(err)
			}
			if saved != 0 {
				t.Error("checkpoint saved before Kafka accepted the batch")
			}
			return fmt.Errorf("injected: not enough in-sync replicas")
		}
		return nil
	}}
	r, _ := e.start(context.Background(), testConfig(), hook)
	e.readDistinct("annals.notes.events", 5)
	eventually(t, "the checkpoint reached the head", func() bool { return e.savedCheckpoint("default") == e.head() })
	if refusals.Load() < 4 || !r.Status().Active {
		t.Fatalf("relay published after %d attempts, active=%v", refusals.Load(), r.Status().Active)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, c := range map[string]relay.Config{
		"slash in topic":  {TopicPattern: "annals/{realm}"},
		"negative batch":  {BatchSize: -1},
		"negative wait":   {MaxBatchWait: -time.Second},
		"very long topic": {TopicPattern: strings.Repeat("a", 250)},
	} {
		if _, err := relay.New(c, memory.New(), nil, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := relay.New(relay.Config{TopicPattern: "events"}, memory.New(), nil, nil, nil); err != nil {
		t.Errorf("a single topic for every realm rejected: %v", err)
	}
}

// metric is the value of the single series of a gauge or counter.
func metric(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		if len(mf.GetMetric()) != 1 {
			t.Fatalf("%s has %d series, want 1", name, len(mf.GetMetric()))
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// The metrics say which instance is active, how much it published, and how
// far the relay trails the log: the same on every instance, since the lag
// starts at the stored checkpoint.
func TestRelayMetrics(t *testing.T) {
	e := newEnv(t)
	if err := relay.Migrate(context.Background(), e.db); err != nil {
		t.Fatal(err)
	}
	e.appendRoundRobin(10, "sartiq:a", "sartiq:b") // 20 events
	standbyMetrics := prometheus.NewRegistry()
	config := testConfig()
	config.Metrics = standbyMetrics
	// An instance that never gets the lock, as a standby.
	if _, err := relay.New(config, e.store, e.db, e.pub, watermill.NopLogger{}); err != nil {
		t.Fatal(err)
	}
	if lag := metric(t, standbyMetrics, "annals_kafka_relay_lag_events"); lag != 20 {
		t.Fatalf("lag before anything was relayed: %v, want 20", lag)
	}

	activeMetrics := prometheus.NewRegistry()
	config.Metrics = activeMetrics
	active, _ := e.start(context.Background(), config, e.pub)
	eventually(t, "the relay checkpointed the head", func() bool { return active.Status().Checkpoint == e.head() })
	for name, want := range map[string][2]float64{
		"annals_kafka_relay_active":                 {1, 0},
		"annals_kafka_relay_events_published_total": {20, 0},
		"annals_kafka_relay_lag_events":             {0, 0},
	} {
		if got := [2]float64{metric(t, activeMetrics, name), metric(t, standbyMetrics, name)}; got != want {
			t.Errorf("%s (active, standby) = %v, want %v", name, got, want)
		}
	}
}
