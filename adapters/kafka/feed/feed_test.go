package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/envelope"
	"github.com/annals-dev/annals/adapters/kafka/feed"
	"github.com/annals-dev/annals/adapters/kafka/kafkatest"
	"github.com/annals-dev/annals/adapters/kafka/relay"
	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
	"github.com/annals-dev/annals/projections"
)

// waitLimit bounds every wait; reaching it fails the test.
const waitLimit = 30 * time.Second

const (
	realm      = "alpha"
	topic      = "annals.alpha.events"
	partitions = 4
)

type itemAdded struct {
	N int `json:"n"`
}

func (itemAdded) EventType() string { return "ItemAdded" }

// itemsProjector counts how often each event reaches its table, and which
// worker applied it.
type itemsProjector struct {
	worker string
	// gate, if set, runs before each event is written.
	gate func()
}

func (p *itemsProjector) Name() string                  { return "test.items" }
func (p *itemsProjector) Version() int                  { return 1 }
func (p *itemsProjector) Realm() string                 { return realm }
func (p *itemsProjector) Handles(eventType string) bool { return eventType == "ItemAdded" }

func (p *itemsProjector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	if p.gate != nil {
		p.gate()
	}
	_, err := tx.Exec(ctx, `
INSERT INTO items (event_id, stream, worker, applied) VALUES ($1, $2, $3, 1)
ON CONFLICT (event_id) DO UPDATE SET applied = items.applied + 1`, e.ID, e.StreamID, p.worker)
	return err
}

// env is one test's event store, database, Kafka cluster and relay.
type env struct {
	t        *testing.T
	store    *memory.Store
	db       *pgxpool.Pool
	registry *kernel.Registry
	brokers  []string
	pub      *kafka.Publisher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	brokers := kafkatest.Brokers(t, kfake.DefaultNumPartitions(partitions))
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, AllowAutoTopicCreation: true}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	db := pgtest.Pool(t, pgtest.New(t))
	if _, err := db.Exec(t.Context(), `
CREATE TABLE items (event_id uuid PRIMARY KEY, stream text NOT NULL, worker text NOT NULL, applied int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	registry := kernel.NewRegistry()
	registry.Register(itemAdded{})
	return &env{t: t, store: memory.New(), db: db, registry: registry, brokers: brokers, pub: pub}
}

// appendRoundRobin appends n events to each of streams fresh streams, one
// per stream in turn, so that the streams interleave in the log.
func (e *env) appendRoundRobin(n, streams int) []eventstore.RecordedEvent {
	e.t.Helper()
	names := make([]string, streams)
	for i := range names {
		names[i] = kernel.StreamName(realm, "item", uuid.NewString())
	}
	meta, err := json.Marshal(eventstore.Metadata{Realm: realm, ActorID: "actor"})
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range n {
		for _, s := range names {
			typ, data, err := e.registry.Encode(itemAdded{N: i})
			if err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.store.Append(context.Background(), s, eventstore.Any,
				[]eventstore.EventData{{ID: uuid.New(), Type: typ, Data: data, Metadata: meta}}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	all, err := e.store.ReadAll(context.Background(), eventstore.Start, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return all
}

func (e *env) head() eventstore.Position {
	e.t.Helper()
	head, err := e.store.Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return head
}

// startRelay runs a relay until the test ends and waits until it has
// published the log up to its head.
func (e *env) startRelay() {
	e.t.Helper()
	r, err := relay.New(relay.Config{RetryInterval: 20 * time.Millisecond}, e.store, e.db, e.pub, watermill.NopLogger{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("relay: %v", err)
		}
	})
	head := e.head()
	eventually(e.t, "the relay published the log", func() bool { return r.Status().Checkpoint == head })
}

// worker is one projector process: a runtime fed from Kafka.
type worker struct {
	name    string
	runtime *projections.Runtime
	metrics *prometheus.Registry
	stop    func()
}

func (e *env) startWorker(p *itemsProjector) *worker {
	e.t.Helper()
	f, err := feed.New(feed.Config{Subscriber: kafka.SubscriberConfig{
		Brokers:           e.brokers,
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RetryInterval:     10 * time.Millisecond,
	}}, watermill.NopLogger{})
	if err != nil {
		e.t.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(f.LagCollector())
	rt, err := projections.New(projections.Config{
		Pool: e.db, Store: e.store, Registry: e.registry, Feed: f, Metrics: metrics,
		FlushInterval: 10 * time.Millisecond, PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := rt.Register(p); err != nil {
		e.t.Fatal(err)
	}
	if err := rt.Migrate(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	var once sync.Once
	w := &worker{name: p.worker, runtime: rt, metrics: metrics}
	w.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("worker %s: %v", p.worker, err)
				}
			case <-time.After(waitLimit):
				e.t.Errorf("worker %s did not stop", p.worker)
			}
		})
	}
	e.t.Cleanup(w.stop)
	return w
}

// value is the value of the single series of a gauge or counter, 0 when
// the metric has no series yet.
func (w *worker) value(name string) float64 {
	families, err := w.metrics.Gather()
	if err != nil {
		return -1 // a failing scrape matches no expected value
	}
	for _, mf := range families {
		if mf.GetName() != name || len(mf.GetMetric()) != 1 {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return 0
}

// applications returns how often each event was applied, and by which
// worker.
func (e *env) applications() (applied map[uuid.UUID]int, workerOf map[uuid.UUID]string, streamOf map[uuid.UUID]string) {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT event_id, stream, worker, applied FROM items`)
	if err != nil {
		e.t.Fatal(err)
	}
	applied, workerOf, streamOf = map[uuid.UUID]int{}, map[uuid.UUID]string{}, map[uuid.UUID]string{}
	var (
		id             uuid.UUID
		stream, worker string
		n              int
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &stream, &worker, &n}, func() error {
		applied[id], workerOf[id], streamOf[id] = n, worker, stream
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return applied, workerOf, streamOf
}

func (e *env) assertAppliedOnce(events []eventstore.RecordedEvent) {
	e.t.Helper()
	applied, _, _ := e.applications()
	if len(applied) != len(events) {
		e.t.Fatalf("%d events in the read model, want %d", len(applied), len(events))
	}
	for _, ev := range events {
		if applied[ev.ID] != 1 {
			e.t.Fatalf("event %s applied %d times, want once", ev.ID, applied[ev.ID])
		}
	}
}

// rewind moves the group's committed offsets back to the start of every
// partition, as when a worker crashes after applying events but before
// committing them: the group gets every message again.
func (e *env) rewind(group string) {
	e.t.Helper()
	offsets := make([]kafkago.OffsetCommit, partitions)
	for i := range offsets {
		offsets[i] = kafkago.OffsetCommit{Partition: i, Offset: 0}
	}
	client := &kafkago.Client{Addr: kafkago.TCP(e.brokers...)}
	res, err := client.OffsetCommit(context.Background(), &kafkago.OffsetCommitRequest{
		GroupID: group, GenerationID: -1, Topics: map[string][]kafkago.OffsetCommit{topic: offsets},
	})
	if err != nil {
		e.t.Fatalf("rewind %s: %v", group, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			e.t.Fatalf("rewind %s partition %d: %v", group, p.Partition, p.Error)
		}
	}
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

// Events the relay published twice (as around a relay crash), and a whole
// topic delivered again (as to a worker that crashed before committing), are
// applied once. The consumer lag counts what the group has not committed.
func TestRedeliveredEventsAreNotAppliedTwice(t *testing.T) {
	e := newEnv(t)
	events := e.appendRoundRobin(5, 6) // 30 events
	e.startRelay()
	republished := make([]*message.Message, 10)
	for i, ev := range events[:10] {
		msg, err := envelope.NewMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		republished[i] = msg
	}
	if err := e.pub.Publish(topic, republished...); err != nil {
		t.Fatal(err)
	}
	const messages = 40

	// The first event is held while being applied: nothing is committed.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	first := e.startWorker(&itemsProjector{worker: "first", gate: func() {
		once.Do(func() {
			close(entered)
			<-release
		})
	}})
	<-entered
	if lag := first.value("annals_kafka_consumer_lag_messages"); lag != messages {
		t.Fatalf("consumer lag while the first event is applied: %v, want %d", lag, messages)
	}
	close(release)
	if err := first.runtime.WaitFor(t.Context(), realm, e.head()); err != nil {
		t.Fatalf("wait: %v", err)
	}
	e.assertAppliedOnce(events)
	eventually(t, "the first worker committed every message", func() bool {
		return first.value("annals_kafka_consumer_lag_messages") == 0 &&
			first.value("annals_projection_events_duplicate_total") == messages-float64(len(events))
	})
	first.stop()

	p := &itemsProjector{worker: "second"}
	e.rewind(feed.Group(p))
	second := e.startWorker(p)
	eventually(t, "the second worker went through the topic again", func() bool {
		return second.value("annals_projection_events_duplicate_total") == messages &&
			second.value("annals_kafka_consumer_lag_messages") == 0
	})
	if applied := second.value("annals_projection_events_applied_total"); applied != 0 {
		t.Fatalf("the second worker applied %v events again", applied)
	}
	e.assertAppliedOnce(events)
}

// Two workers in one consumer group split the topic's partitions: each
// applies the streams of its own partitions, together they apply every
// event once, and a write waited for on either is visible. When one stops,
// the other takes its partitions over.
func TestTwoWorkersInOneGroupSplitThePartitions(t *testing.T) {
	e := newEnv(t)
	e.createTopic()
	one := e.startWorker(&itemsProjector{worker: "one"})
	two := e.startWorker(&itemsProjector{worker: "two"})
	e.awaitMembers(feed.Group(&itemsProjector{}), 2)

	events := e.appendRoundRobin(5, 8) // 40 events
	e.startRelay()
	for _, w := range []*worker{one, two} {
		if err := w.runtime.WaitFor(t.Context(), realm, e.head()); err != nil {
			t.Fatalf("wait: %v", err)
		}
	}
	e.assertAppliedOnce(events)

	_, workerOf, streamOf := e.applications()
	workersOfStream := map[string]map[string]bool{}
	applied := map[string]int{}
	for id, w := range workerOf {
		s := streamOf[id]
		if workersOfStream[s] == nil {
			workersOfStream[s] = map[string]bool{}
		}
		workersOfStream[s][w] = true
		applied[w]++
	}
	for s, ws := range workersOfStream {
		if len(ws) != 1 {
			t.Errorf("stream %s applied by %d workers, want the one owning its partition", s, len(ws))
		}
	}
	if applied["one"] == 0 || applied["two"] == 0 {
		t.Fatalf("events applied per worker: %v; want both to take a share", applied)
	}
	for _, w := range []*worker{one, two} {
		if got := w.value("annals_projection_events_applied_total"); got != float64(applied[w.name]) {
			t.Errorf("worker %s counted %v events applied, the read model shows %d", w.name, got, applied[w.name])
		}
	}
	eventually(t, "the group committed every message", func() bool {
		return one.value("annals_kafka_consumer_lag_messages") == 0 && two.value("annals_kafka_consumer_lag_messages") == 0
	})

	two.stop()
	events = e.appendRoundRobin(2, 8) // 16 more, in every partition
	if err := one.runtime.WaitFor(t.Context(), realm, e.head()); err != nil {
		t.Fatalf("wait after a worker stopped: %v", err)
	}
	e.assertAppliedOnce(events)
}

// createTopic creates the realm's topic, so that workers get partitions
// assigned as soon as they join.
func (e *env) createTopic() {
	e.t.Helper()
	client := &kafkago.Client{Addr: kafkago.TCP(e.brokers...)}
	res, err := client.CreateTopics(context.Background(), &kafkago.CreateTopicsRequest{
		Topics: []kafkago.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := res.Errors[topic]; err != nil {
		e.t.Fatal(err)
	}
}

// awaitMembers waits until group is stable with n members, each assigned
// some partitions.
func (e *env) awaitMembers(group string, n int) {
	e.t.Helper()
	client := &kafkago.Client{Addr: kafkago.TCP(e.brokers...)}
	eventually(e.t, fmt.Sprintf("group %s has %d members with partitions", group, n), func() bool {
		res, err := client.DescribeGroups(context.Background(), &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil || len(res.Groups) != 1 || res.Groups[0].GroupState != "Stable" || len(res.Groups[0].Members) != n {
			return false
		}
		for _, m := range res.Groups[0].Members {
			if len(m.MemberAssignments.Topics) == 0 || len(m.MemberAssignments.Topics[0].Partitions) == 0 {
				return false
			}
		}
		return true
	})
}

// allRealms projects every realm, which no single topic holds.
type allRealms struct{ *itemsProjector }

func (allRealms) Realm() string { return "" }

func TestConfigAndProjectorsAreChecked(t *testing.T) {
	brokers := []string{"127.0.0.1:9092"}
	for name, config := range map[string]feed.Config{
		"no brokers":         {},
		"a group for all":    {Subscriber: kafka.SubscriberConfig{Brokers: brokers, ConsumerGroup: "shared"}},
		"slash in the topic": {Subscriber: kafka.SubscriberConfig{Brokers: brokers}, TopicPattern: "annals/{realm}"},
	} {
		if _, err := feed.New(config, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	f, err := feed.New(feed.Config{Subscriber: kafka.SubscriberConfig{Brokers: brokers}, TopicPattern: "prod.{realm}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Subscriber(allRealms{&itemsProjector{}}); err == nil {
		t.Error("a projector of every realm got a subscriber")
	}
	sub, topic, err := f.Subscriber(&itemsProjector{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if topic != "prod.alpha" {
		t.Errorf("topic %q, want the pattern's prod.alpha", topic)
	}
}
