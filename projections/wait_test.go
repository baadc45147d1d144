package projections_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
)

// A Remote runtime, in a process that runs no projectors, sees the progress
// another process stores: a wait returns once the other process applied the
// event, and events the projector skips do not hold it up although skipped
// progress is only stored now and then.
func TestRemoteRuntimeWaitsForProgressMadeElsewhere(t *testing.T) {
	f := newFixture(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var holding atomic.Bool
	holding.Store(true)
	p := &itemsProjector{realm: "alpha", gate: func() {
		if holding.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
	}}
	workerConfig := f.config()
	workerConfig.FlushInterval = time.Hour // skipped progress stays in memory
	worker := f.runtime(t, workerConfig, p)
	stopWorker := start(t, worker)
	remoteConfig := f.config()
	remoteConfig.Remote = true
	remote := f.runtime(t, remoteConfig, p)

	a := f.add(t, "alpha", itemAdded{Name: "a"})
	<-entered
	waited := make(chan error, 1)
	go func() { waited <- remote.WaitFor(t.Context(), "alpha", a.Position) }()
	select {
	case err := <-waited:
		t.Fatalf("wait returned (%v) while the event was being applied elsewhere", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-waited; err != nil {
		t.Fatalf("remote wait: %v", err)
	}
	f.assertAppliedOnce(t, a)

	f.add(t, "beta", itemAdded{Name: "theirs"})
	noted := f.add(t, "alpha", itemNoted{})
	waitFor(t, worker, "alpha", noted.Position)
	if got := f.storedCheckpoint(t, p); got != a.Position {
		t.Fatalf("stored checkpoint %s, want %s: the skipped events were stored", got, a.Position)
	}
	waitFor(t, remote, "alpha", noted.Position)
	if err := remote.CaughtUp(t.Context(), 10); err != nil {
		t.Fatalf("remote caught up: %v", err)
	}
	if err := remote.Run(t.Context()); err == nil {
		t.Fatal("a remote runtime ran its projectors")
	}

	// Nobody applies what comes after the worker stopped.
	if err := stopWorker(); err != nil {
		t.Fatalf("run: %v", err)
	}
	late := f.add(t, "alpha", itemAdded{Name: "late"})
	impatientConfig := f.config()
	impatientConfig.Remote, impatientConfig.WaitTimeout = true, 100*time.Millisecond
	impatient := f.runtime(t, impatientConfig, p)
	if err := impatient.WaitFor(t.Context(), "alpha", late.Position); !errors.Is(err, projections.ErrNotCaughtUp) {
		t.Fatalf("wait for an event nobody applies: %v, want ErrNotCaughtUp", err)
	}
	if err := remote.CaughtUp(t.Context(), 0); err == nil {
		t.Fatal("remote reports caught up with an event not applied")
	}
	statuses, err := remote.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if s := statuses[0]; s.State != projections.StateCatchingUp || s.Position != noted.Position || s.LagEvents != 1 {
		t.Fatalf("remote status %+v, want catching up from the stored %s with one event to go", s, noted.Position)
	}
}

// The Remote setting is checked.
func TestRemoteRuntimeTakesNoFeed(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.Remote = true
	cfg.Feed = replayFeed{}
	if _, err := projections.New(cfg); err == nil {
		t.Fatal("a remote runtime with a feed was accepted")
	}
}

// eventually polls cond until it holds, failing the test after a bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func (f *fixture) head(t *testing.T) eventstore.Position {
	t.Helper()
	head, err := f.store.Head(t.Context())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return head
}
