package projections_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/logsubscriber"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
)

// replayFeed hands every projector the same script of deliveries, in order,
// as a Kafka consumer would see them after rebalances and relay restarts:
// each stream in its order, the log's order lost, events delivered again.
type replayFeed struct{ script []eventstore.RecordedEvent }

var _ projections.Feed = replayFeed{}

func (f replayFeed) Subscriber(projections.Projector) (message.Subscriber, string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	return &replay{script: f.script, ctx: ctx, cancel: cancel}, "events", nil
}

func (replayFeed) Decode(msg *message.Message) (eventstore.RecordedEvent, error) {
	return logsubscriber.Decode(msg)
}

// replay delivers its script once per subscription, one message at a time,
// again after a nack; it then stays open until closed.
type replay struct {
	script []eventstore.RecordedEvent
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (r *replay) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.ctx, cancel)
	out := make(chan *message.Message)
	r.wg.Go(func() {
		defer close(out)
		defer stop()
		defer cancel()
		for _, e := range r.script {
			if !deliver(ctx, out, e) {
				return
			}
		}
		<-ctx.Done()
	})
	return out, nil
}

func deliver(ctx context.Context, out chan<- *message.Message, e eventstore.RecordedEvent) bool {
	for {
		msg := logsubscriber.Encode(e)
		select {
		case out <- msg:
		case <-ctx.Done():
			return false
		}
		select {
		case <-msg.Acked():
			return true
		case <-msg.Nacked():
		case <-ctx.Done():
			return false
		}
	}
}

func (r *replay) Close() error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// feedConfig makes a runtime read script, with its own metrics.
func (f *fixture) feedConfig(script ...eventstore.RecordedEvent) (projections.Config, *prometheus.Registry) {
	cfg := f.config()
	metrics := prometheus.NewRegistry()
	cfg.Metrics = metrics
	cfg.Feed = replayFeed{script: script}
	cfg.FlushInterval = 10 * time.Millisecond
	return cfg, metrics
}

// count is the value of a counter with at most one series (0 without).
func count(t *testing.T, g prometheus.Gatherer, name string) int {
	t.Helper()
	s := series(t, g, name)
	if len(s) > 1 {
		t.Fatalf("metric %s has %d series, want at most 1", name, len(s))
	}
	if len(s) == 0 {
		return 0
	}
	return int(s[0].GetCounter().GetValue())
}

// Two workers fed every event out of log order, with redeliveries, apply
// each event once between them, and the checkpoint comes to the head.
func TestFeedAppliesEachEventOnceWhateverTheDelivery(t *testing.T) {
	f := newFixture(t)
	streams := []string{kernel.StreamName("alpha", "item", "1"), kernel.StreamName("alpha", "item", "2"), kernel.StreamName("alpha", "item", "3")}
	byStream := map[string][]eventstore.RecordedEvent{}
	var all []eventstore.RecordedEvent
	for range 4 {
		for _, s := range streams {
			e := f.addTo(t, s, itemAdded{Name: s})
			byStream[s] = append(byStream[s], e)
			all = append(all, e)
		}
	}
	one, two, three := byStream[streams[0]], byStream[streams[1]], byStream[streams[2]]
	var script []eventstore.RecordedEvent
	for _, part := range [][]eventstore.RecordedEvent{three, one[:2], three, two, one, two[1:]} {
		script = append(script, part...)
	}

	p := &itemsProjector{realm: "alpha"}
	var registries []prometheus.Gatherer
	var workers []*projections.Runtime
	for range 2 {
		cfg, metrics := f.feedConfig(script...)
		rt := f.runtime(t, cfg, p)
		start(t, rt)
		workers = append(workers, rt)
		registries = append(registries, metrics)
	}
	waitFor(t, workers[0], "alpha", all[len(all)-1].Position)
	f.assertAppliedOnce(t, all...)

	total := func(name string) int {
		n := 0
		for _, g := range registries {
			n += count(t, g, name)
		}
		return n
	}
	eventually(t, "both workers went through their script", func() bool {
		return total("annals_projection_events_applied_total")+total("annals_projection_events_duplicate_total") == 2*len(script)
	})
	if got := total("annals_projection_events_applied_total"); got != len(all) {
		t.Fatalf("applied counters add up to %d, want %d", got, len(all))
	}
	eventually(t, "the checkpoint reached the head", func() bool { return f.storedCheckpoint(t, p) == f.head(t) })
}

// A projector moved from the log to a feed that starts from the beginning
// (a new consumer group) skips what the log applied; moved back to the log,
// it skips what the feed applied beyond its checkpoint. Meanwhile a wait
// for an event does not return before every earlier event is applied.
func TestSwitchingBetweenLogAndFeedAppliesNothingTwice(t *testing.T) {
	f := newFixture(t)
	a, b := kernel.StreamName("alpha", "item", "a"), kernel.StreamName("alpha", "item", "b")
	p := &itemsProjector{realm: "alpha"}

	a0, b0 := f.addTo(t, a, itemAdded{Name: "a0"}), f.addTo(t, b, itemAdded{Name: "b0"})
	logged := f.runtime(t, f.config(), p)
	stop := start(t, logged)
	waitFor(t, logged, "alpha", b0.Position)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}

	a1, b1, a2, b2 := f.addTo(t, a, itemAdded{Name: "a1"}), f.addTo(t, b, itemAdded{Name: "b1"}),
		f.addTo(t, a, itemAdded{Name: "a2"}), f.addTo(t, b, itemAdded{Name: "b2"})
	// Stream a's partition lags: only b's new events come.
	cfg, metrics := f.feedConfig(a0, b0, b1, b2, a0)
	fed := f.runtime(t, cfg, p)
	stop = start(t, fed)
	eventually(t, "the feed went through its script", func() bool {
		return count(t, metrics, "annals_projection_events_applied_total") == 2 &&
			count(t, metrics, "annals_projection_events_duplicate_total") == 3
	})
	waitFor(t, fed, "alpha", b0.Position)
	bounded, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := fed.WaitFor(bounded, "alpha", b2.Position); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for b2 with a1 not applied: %v, want the caller's deadline", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := f.storedCheckpoint(t, p); got != b0.Position {
		t.Fatalf("stored checkpoint %s, want %s: the last event before the first one not applied", got, b0.Position)
	}

	cfg = f.config()
	metrics = prometheus.NewRegistry()
	cfg.Metrics = metrics
	relogged := f.runtime(t, cfg, p)
	start(t, relogged)
	waitFor(t, relogged, "alpha", b2.Position)
	f.assertAppliedOnce(t, a0, b0, a1, b1, a2, b2)
	if got := count(t, metrics, "annals_projection_events_duplicate_total"); got != 2 {
		t.Fatalf("back on the log, %d events found applied, want b1 and b2", got)
	}
}
