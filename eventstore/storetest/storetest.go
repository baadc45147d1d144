// Package storetest is the conformance suite every eventstore.Store backend
// runs. It speaks only the port, so a backend passes it by honouring the
// contract, not by sharing an implementation.
//
// newStore may hand every subtest the same store: each subtest writes to
// streams of its own, and the subtests run one after the other, so one
// subtest never sees another writing while it checks the global log. Events
// written before a subtest (by earlier subtests, or earlier runs against a
// long-lived server) are tolerated; writers outside the suite during a run
// are not.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
)

// WaitTimeout bounds every wait for something a backend must eventually do
// (deliver an event, make a commit visible). It is generous because a
// PostgreSQL backend may legitimately hold events back while an unrelated
// transaction on the same server stays open.
const WaitTimeout = 30 * time.Second

// Run runs the conformance suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	t.Run("AppendAndReadStream", func(t *testing.T) { testAppendAndReadStream(t, newStore(t)) })
	t.Run("ExpectedVersion", func(t *testing.T) { testExpectedVersion(t, newStore(t)) })
	t.Run("ConcurrentWritersOneWinnerPerVersion", func(t *testing.T) { testConcurrentWriters(t, newStore(t)) })
	t.Run("ConcurrentAnyWriters", func(t *testing.T) { testConcurrentAnyWriters(t, newStore(t)) })
	t.Run("IdempotentReappend", func(t *testing.T) { testIdempotentReappend(t, newStore(t)) })
	t.Run("ReadAllAndHead", func(t *testing.T) { testReadAllAndHead(t, newStore(t)) })
	t.Run("CatchUpThenLive", func(t *testing.T) { testCatchUpThenLive(t, newStore(t)) })
	t.Run("SubscribeAfterPosition", func(t *testing.T) { testSubscribeAfterPosition(t, newStore(t)) })
	t.Run("CancelStopsSubscription", func(t *testing.T) { testCancelStopsSubscription(t, newStore(t)) })
}

// RunStrictIdempotency checks what a backend that keeps event ids unique
// across the whole log promises beyond the port's minimum: a re-append is
// recognised even after the stream has moved on, and an id reused anywhere
// else fails with eventstore.ErrDuplicateEvent.
func RunStrictIdempotency(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	t.Run("ReappendAfterStreamMovedOn", func(t *testing.T) { testReappendAfterStreamMovedOn(t, newStore(t)) })
	t.Run("DuplicateEventIDs", func(t *testing.T) { testDuplicateEventIDs(t, newStore(t)) })
}

func testAppendAndReadStream(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	stream := streamName("read")

	first := newEvents(3)
	res := mustAppend(t, s, stream, eventstore.NoStream, first)
	if res.NextExpectedVersion != 2 {
		t.Fatalf("after 3 events NextExpectedVersion = %d, want 2", res.NextExpectedVersion)
	}
	second := newEvents(2)
	res = mustAppend(t, s, stream, 2, second)
	if res.NextExpectedVersion != 4 {
		t.Fatalf("after 5 events NextExpectedVersion = %d, want 4", res.NextExpectedVersion)
	}
	all := append(slices.Clone(first), second...)

	got := mustReadStream(t, s, stream, 0, 0)
	assertStream(t, got, stream, all, 0)
	if got[4].Position != res.Position {
		t.Errorf("last event position %v, append reported %v", got[4].Position, res.Position)
	}
	for i := 1; i < len(got); i++ {
		if !got[i-1].Position.Less(got[i].Position) {
			t.Errorf("stream positions not increasing: %v then %v", got[i-1].Position, got[i].Position)
		}
	}

	cases := []struct {
		from  int64
		limit int
		want  []eventstore.EventData
	}{
		{from: 1, limit: 2, want: all[1:3]},
		{from: 3, limit: 0, want: all[3:]},
		{from: 2, limit: 10, want: all[2:]},
		{from: 0, limit: -1, want: all},
		{from: 5, limit: 0, want: nil},
	}
	for _, c := range cases {
		got := mustReadStream(t, s, stream, c.from, c.limit)
		t.Run(fmt.Sprintf("from=%d,limit=%d", c.from, c.limit), func(t *testing.T) {
			assertStream(t, got, stream, c.want, c.from)
		})
	}

	unknown, err := s.ReadStream(ctx, streamName("unknown"), 0, 0)
	if err != nil {
		t.Fatalf("read unknown stream: %v", err)
	}
	if len(unknown) != 0 {
		t.Fatalf("unknown stream has %d events, want none", len(unknown))
	}
}

func testExpectedVersion(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	stream := streamName("expect")

	assertWrongVersion(t, s, stream, 0, -1)
	assertWrongVersion(t, s, stream, 3, -1)
	mustAppend(t, s, stream, eventstore.NoStream, newEvents(1))
	assertWrongVersion(t, s, stream, eventstore.NoStream, 0)
	assertWrongVersion(t, s, stream, 1, 0)
	mustAppend(t, s, stream, 0, newEvents(1))
	assertWrongVersion(t, s, stream, 0, 1) // stale
	assertWrongVersion(t, s, stream, 2, 1) // ahead
	if got := mustReadStream(t, s, stream, 0, 0); len(got) != 2 {
		t.Fatalf("failed appends changed the stream: %d events, want 2", len(got))
	}

	res := mustAppend(t, s, stream, eventstore.Any, newEvents(2))
	if res.NextExpectedVersion != 3 {
		t.Fatalf("Any on an existing stream: NextExpectedVersion = %d, want 3", res.NextExpectedVersion)
	}
	fresh := streamName("expect-any")
	res = mustAppend(t, s, fresh, eventstore.Any, newEvents(1))
	if res.NextExpectedVersion != 0 {
		t.Fatalf("Any on a new stream: NextExpectedVersion = %d, want 0", res.NextExpectedVersion)
	}
	if _, err := s.Append(ctx, fresh, 0, newEvents(1)); err != nil {
		t.Fatalf("exact version after Any: %v", err)
	}
}

func assertWrongVersion(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, actual int64) {
	t.Helper()
	_, err := s.Append(context.Background(), stream, expected, newEvents(1))
	if !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("append at %d to a stream at %d: err = %v, want ErrWrongVersion", expected, actual, err)
	}
	var wv *eventstore.WrongVersionError
	if !errors.As(err, &wv) {
		t.Fatalf("append at %d: %v is not a *WrongVersionError", expected, err)
	}
	if wv.Stream != stream || wv.Expected != expected || wv.Actual != actual {
		t.Fatalf("WrongVersionError = %+v, want stream %q expected %d actual %d", *wv, stream, expected, actual)
	}
}

// writers is how many goroutines race for each version.
const writers = 50

func testConcurrentWriters(t *testing.T, s eventstore.Store) {
	const rounds = 4
	stream := streamName("race")
	var winners []uuid.UUID
	for round := range rounds {
		expected := eventstore.ExpectedVersion(round - 1)
		outcomes := race(func(ev eventstore.EventData) (eventstore.AppendResult, error) {
			return s.Append(context.Background(), stream, expected, []eventstore.EventData{ev})
		})
		var won []outcome
		for _, o := range outcomes {
			switch {
			case o.err == nil:
				won = append(won, o)
			case !errors.Is(o.err, eventstore.ErrWrongVersion):
				t.Fatalf("round %d: loser got %v, want ErrWrongVersion", round, o.err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("round %d (expected %d): %d winners, want exactly 1", round, expected, len(won))
		}
		if won[0].res.NextExpectedVersion != int64(round) {
			t.Fatalf("round %d winner got NextExpectedVersion %d", round, won[0].res.NextExpectedVersion)
		}
		winners = append(winners, won[0].id)
	}
	got := mustReadStream(t, s, stream, 0, 0)
	if len(got) != rounds {
		t.Fatalf("stream has %d events after %d rounds", len(got), rounds)
	}
	for v, e := range got {
		if e.Version != int64(v) || e.ID != winners[v] {
			t.Fatalf("version %d holds %s at version %d, want the round's winner %s", v, e.ID, e.Version, winners[v])
		}
	}
}

func testConcurrentAnyWriters(t *testing.T, s eventstore.Store) {
	stream := streamName("race-any")
	before := mustHead(t, s)
	outcomes := race(func(ev eventstore.EventData) (eventstore.AppendResult, error) {
		return s.Append(context.Background(), stream, eventstore.Any, []eventstore.EventData{ev})
	})
	versionOf := make(map[uuid.UUID]int64, writers)
	seen := make(map[int64]bool, writers)
	for _, o := range outcomes {
		if o.err != nil {
			t.Fatalf("Any append failed: %v", o.err)
		}
		v := o.res.NextExpectedVersion
		if seen[v] || v < 0 || v >= writers {
			t.Fatalf("Any append got version %d: duplicate or out of 0..%d", v, writers-1)
		}
		seen[v] = true
		versionOf[o.id] = v
	}
	got := mustReadStream(t, s, stream, 0, 0)
	if len(got) != writers {
		t.Fatalf("stream has %d events, want %d", len(got), writers)
	}
	for v, e := range got {
		if e.Version != int64(v) || versionOf[e.ID] != int64(v) {
			t.Fatalf("version %d holds %s (reported at %d)", v, e.ID, versionOf[e.ID])
		}
	}
	// The global log must keep each stream's own order.
	last := got[len(got)-1].Position
	log := readAllUntil(t, s, before, last)
	var versions []int64
	for _, e := range inStreams(log, stream) {
		versions = append(versions, e.Version)
	}
	if len(versions) != writers || !slices.IsSorted(versions) {
		t.Fatalf("global log holds the stream's versions as %v, want 0..%d in order", versions, writers-1)
	}
}

type outcome struct {
	id  uuid.UUID
	res eventstore.AppendResult
	err error
}

// race starts all writers at once, each appending its own event.
func race(appendOne func(ev eventstore.EventData) (eventstore.AppendResult, error)) []outcome {
	outcomes := make([]outcome, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		ev := newEvents(1)[0]
		wg.Go(func() {
			<-start
			res, err := appendOne(ev)
			outcomes[i] = outcome{id: ev.ID, res: res, err: err}
		})
	}
	close(start)
	wg.Wait()
	return outcomes
}

func testIdempotentReappend(t *testing.T, s eventstore.Store) {
	stream := streamName("idem")
	before := mustHead(t, s)

	first := newEvents(2)
	res1 := mustAppend(t, s, stream, eventstore.NoStream, first)
	if again := mustAppend(t, s, stream, eventstore.NoStream, first); again != res1 {
		t.Fatalf("re-append with NoStream = %+v, want the original %+v", again, res1)
	}
	second := newEvents(1)
	res2 := mustAppend(t, s, stream, 1, second)
	if again := mustAppend(t, s, stream, 1, second); again != res2 {
		t.Fatalf("re-append at version 1 = %+v, want the original %+v", again, res2)
	}

	got := mustReadStream(t, s, stream, 0, 0)
	assertStream(t, got, stream, append(slices.Clone(first), second...), 0)
	if count := len(inStreams(readAllUntil(t, s, before, res2.Position), stream)); count != 3 {
		t.Fatalf("global log holds %d events of the stream, want 3", count)
	}
}

func testReappendAfterStreamMovedOn(t *testing.T, s eventstore.Store) {
	stream := streamName("idem-later")
	first := newEvents(2)
	res1 := mustAppend(t, s, stream, eventstore.NoStream, first)
	mustAppend(t, s, stream, 1, newEvents(2))
	for _, expected := range []eventstore.ExpectedVersion{eventstore.NoStream, eventstore.Any} {
		if again := mustAppend(t, s, stream, expected, first); again != res1 {
			t.Fatalf("late re-append at %d = %+v, want the original %+v", expected, again, res1)
		}
	}
	if got := mustReadStream(t, s, stream, 0, 0); len(got) != 4 {
		t.Fatalf("stream has %d events after re-appends, want 4", len(got))
	}
}

func testDuplicateEventIDs(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	stream := streamName("dup")
	events := newEvents(3)
	mustAppend(t, s, stream, eventstore.NoStream, events)

	cases := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedVersion
		events   []eventstore.EventData
	}{
		{"other stream", streamName("dup-other"), eventstore.NoStream, events[:1]},
		{"other stream, Any", streamName("dup-other"), eventstore.Any, events[1:2]},
		{"same stream, wrong place", stream, 2, events[:1]},
		{"same stream, Any, not in order", stream, eventstore.Any, []eventstore.EventData{events[1], events[0]}},
		{"known and new ids mixed", stream, 2, append(slices.Clone(events[2:]), newEvents(1)...)},
		{"same id twice in a batch", streamName("dup-batch"), eventstore.NoStream, slices.Repeat(newEvents(1), 2)},
	}
	for _, c := range cases {
		if _, err := s.Append(ctx, c.stream, c.expected, c.events); !errors.Is(err, eventstore.ErrDuplicateEvent) {
			t.Errorf("%s: err = %v, want ErrDuplicateEvent", c.name, err)
		}
	}
	if got := mustReadStream(t, s, stream, 0, 0); len(got) != 3 {
		t.Fatalf("stream has %d events after rejected appends, want 3", len(got))
	}
}

func testReadAllAndHead(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	before := mustHead(t, s)
	a, b := streamName("all-a"), streamName("all-b")
	var want []eventstore.EventData
	var last eventstore.AppendResult
	for i, stream := range []string{a, b, a, b, a} {
		evs := newEvents(1 + i%2)
		last = mustAppend(t, s, stream, eventstore.Any, evs)
		want = append(want, evs...)
	}
	if !before.Less(last.Position) {
		t.Fatalf("head before appending %v is not before the last append %v", before, last.Position)
	}

	all := readAllUntil(t, s, before, last.Position)
	assertIncreasing(t, before, all)
	assertRecorded(t, inStreams(all, a, b), want)
	if all[len(all)-1].Position != last.Position {
		t.Fatalf("last event at %v, append reported %v", all[len(all)-1].Position, last.Position)
	}

	head := waitForHead(t, s, last.Position)
	if head != last.Position {
		t.Fatalf("Head = %v, want the last appended position %v", head, last.Position)
	}

	limited, err := s.ReadAll(ctx, before, 3)
	if err != nil {
		t.Fatalf("ReadAll limit 3: %v", err)
	}
	if ids := idsOf(limited); !slices.Equal(ids, idsOf(all[:3])) {
		t.Fatalf("ReadAll limit 3 = %v, want %v", ids, idsOf(all[:3]))
	}
	after, err := s.ReadAll(ctx, all[2].Position, 0)
	if err != nil {
		t.Fatalf("ReadAll from the third event: %v", err)
	}
	if ids := idsOf(after); !slices.Equal(ids, idsOf(all[3:])) {
		t.Fatalf("ReadAll strictly after %v = %v, want %v", all[2].Position, ids, idsOf(all[3:]))
	}
	end, err := s.ReadAll(ctx, last.Position, 0)
	if err != nil {
		t.Fatalf("ReadAll from the head: %v", err)
	}
	if len(end) != 0 {
		t.Fatalf("ReadAll after the last event returned %d events", len(end))
	}
}

func testCatchUpThenLive(t *testing.T, s eventstore.Store) {
	before := mustHead(t, s)
	a, b := streamName("sub-a"), streamName("sub-b")
	history := append(mustAppendEvents(t, s, a, eventstore.NoStream, 2), mustAppendEvents(t, s, b, eventstore.NoStream, 1)...)

	w := subscribe(t, s, before, a, b)
	assertRecorded(t, w.take(len(history)), history)

	live := append(mustAppendEvents(t, s, b, 0, 2), mustAppendEvents(t, s, a, 1, 1)...)
	assertRecorded(t, w.take(len(live)), live)

	// Nothing comes twice: the next event after a fresh append is that event.
	sentinel := mustAppendEvents(t, s, a, 2, 1)
	assertRecorded(t, w.take(1), sentinel)
}

func testSubscribeAfterPosition(t *testing.T, s eventstore.Store) {
	stream := streamName("sub-from")
	mustAppend(t, s, stream, eventstore.NoStream, newEvents(2))
	mid := mustReadStream(t, s, stream, 1, 1)[0]
	rest := mustAppendEvents(t, s, stream, 1, 2)

	w := subscribe(t, s, mid.Position, stream)
	assertRecorded(t, w.take(len(rest)), rest)
}

func testCancelStopsSubscription(t *testing.T, s eventstore.Store) {
	t.Run("while live", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		sub, err := s.Subscribe(ctx, mustHead(t, s))
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		cancel()
		assertEnds(t, sub)
	})
	t.Run("while the consumer is not reading", func(t *testing.T) {
		before := mustHead(t, s)
		last := mustAppend(t, s, streamName("cancel"), eventstore.NoStream, newEvents(3))
		waitForHead(t, s, last.Position)
		ctx, cancel := context.WithCancel(context.Background())
		sub, err := s.Subscribe(ctx, before)
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		cancel()
		assertEnds(t, sub)
	})
}

// assertEnds drains a cancelled subscription until it closes.
func assertEnds(t *testing.T, sub eventstore.Subscription) {
	t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				if err := sub.Err(); err != nil {
					t.Fatalf("cancelled subscription ended with %v, want nil", err)
				}
				return
			}
		case <-deadline.C:
			t.Fatalf("subscription still open %v after its context was cancelled", WaitTimeout)
		}
	}
}

// watcher consumes a subscription, checking every event it delivers comes
// after the previous one and has not been delivered before. It hands on only
// the events of its streams: on a shared store, events of earlier subtests
// may still be settling when a subscription starts.
type watcher struct {
	t       *testing.T
	sub     eventstore.Subscription
	streams []string
	last    eventstore.Position
	seen    map[uuid.UUID]bool
}

func subscribe(t *testing.T, s eventstore.Store, from eventstore.Position, streams ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := s.Subscribe(ctx, from)
	if err != nil {
		cancel()
		t.Fatalf("subscribe from %v: %v", from, err)
	}
	t.Cleanup(func() {
		cancel()
		assertEnds(t, sub)
	})
	return &watcher{t: t, sub: sub, streams: streams, last: from, seen: map[uuid.UUID]bool{}}
}

// take returns the next n events of the watched streams.
func (w *watcher) take(n int) []eventstore.RecordedEvent {
	w.t.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	var got []eventstore.RecordedEvent
	for len(got) < n {
		select {
		case e, ok := <-w.sub.Events():
			if !ok {
				w.t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, w.sub.Err())
			}
			if !w.last.Less(e.Position) {
				w.t.Fatalf("subscription delivered %v after %v", e.Position, w.last)
			}
			if w.seen[e.ID] {
				w.t.Fatalf("subscription delivered event %s twice", e.ID)
			}
			w.last, w.seen[e.ID] = e.Position, true
			if slices.Contains(w.streams, e.StreamID) {
				got = append(got, e)
			}
		case <-deadline.C:
			w.t.Fatalf("subscription delivered %d of %d events within %v", len(got), n, WaitTimeout)
		}
	}
	return got
}

// inStreams keeps the events of the given streams.
func inStreams(events []eventstore.RecordedEvent, streams ...string) []eventstore.RecordedEvent {
	return slices.DeleteFunc(slices.Clone(events), func(e eventstore.RecordedEvent) bool {
		return !slices.Contains(streams, e.StreamID)
	})
}

// readAllUntil reads the log after from until it reaches position last,
// which a backend may show only once earlier transactions have settled.
func readAllUntil(t *testing.T, s eventstore.Store, from, last eventstore.Position) []eventstore.RecordedEvent {
	t.Helper()
	var all []eventstore.RecordedEvent
	eventually(t, fmt.Sprintf("ReadAll reaches %v", last), func() (bool, error) {
		var err error
		all, err = s.ReadAll(context.Background(), from, 0)
		return len(all) > 0 && !all[len(all)-1].Position.Less(last), err
	})
	return all
}

// waitForHead waits until Head has reached pos and returns it.
func waitForHead(t *testing.T, s eventstore.Store, pos eventstore.Position) eventstore.Position {
	t.Helper()
	var head eventstore.Position
	eventually(t, fmt.Sprintf("Head reaches %v", pos), func() (bool, error) {
		var err error
		head, err = s.Head(context.Background())
		return !head.Less(pos), err
	})
	return head
}

// eventually polls cond until it holds, failing the test after WaitTimeout.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting until %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, WaitTimeout)
		}
		<-tick.C
	}
}

func assertIncreasing(t *testing.T, from eventstore.Position, events []eventstore.RecordedEvent) {
	t.Helper()
	prev := from
	for _, e := range events {
		if !prev.Less(e.Position) {
			t.Fatalf("position %v follows %v", e.Position, prev)
		}
		prev = e.Position
	}
}

// assertStream checks events are the stream's, at consecutive versions from
// the given one, and carry what was appended.
func assertStream(t *testing.T, got []eventstore.RecordedEvent, stream string, want []eventstore.EventData, from int64) {
	t.Helper()
	assertRecorded(t, got, want)
	for i, e := range got {
		if e.StreamID != stream || e.Version != from+int64(i) {
			t.Fatalf("event %d is %s@%d, want %s@%d", i, e.StreamID, e.Version, stream, from+int64(i))
		}
	}
}

// assertRecorded checks got holds exactly the events of want, in order.
func assertRecorded[E eventstore.EventData | eventstore.RecordedEvent](t *testing.T, got []eventstore.RecordedEvent, want []E) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events %v, want %d", len(got), idsOf(got), len(want))
	}
	for i, g := range got {
		w := asData(want[i])
		if g.ID != w.ID || g.Type != w.Type || !bytes.Equal(g.Data, w.Data) || !bytes.Equal(g.Metadata, w.Metadata) {
			t.Fatalf("event %d = %s %s %s %s, want %s %s %s %s", i,
				g.ID, g.Type, g.Data, g.Metadata, w.ID, w.Type, w.Data, w.Metadata)
		}
		if g.RecordedAt.IsZero() || g.Position == eventstore.Start {
			t.Fatalf("event %d lacks its recording time or position: %+v", i, g)
		}
	}
}

func asData[E eventstore.EventData | eventstore.RecordedEvent](e E) eventstore.EventData {
	switch e := any(e).(type) {
	case eventstore.RecordedEvent:
		return eventstore.EventData{ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata}
	default:
		return any(e).(eventstore.EventData)
	}
}

func idsOf[E eventstore.EventData | eventstore.RecordedEvent](events []E) []uuid.UUID {
	ids := make([]uuid.UUID, len(events))
	for i, e := range events {
		ids[i] = asData(e).ID
	}
	return ids
}

// streamName is unique per call, so subtests sharing a store (and runs
// against a long-lived server) never meet each other's streams.
func streamName(kind string) string {
	return "storetest:" + kind + "-" + uuid.NewString()
}

// newEvents makes n events with distinct ids and payloads.
func newEvents(n int) []eventstore.EventData {
	events := make([]eventstore.EventData, n)
	for i := range events {
		id := uuid.New()
		events[i] = eventstore.EventData{
			ID:       id,
			Type:     fmt.Sprintf("storetest.Happened%d", i%3),
			Data:     fmt.Appendf(nil, `{"n":%d,"id":%q}`, i, id),
			Metadata: fmt.Appendf(nil, `{"realm":"storetest","command_id":%q}`, uuid.New()),
		}
	}
	return events
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, expected, events)
	if err != nil {
		t.Fatalf("append %d events to %s at %d: %v", len(events), stream, expected, err)
	}
	return res
}

// mustAppendEvents appends n new events and returns them as read back.
func mustAppendEvents(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, n int) []eventstore.RecordedEvent {
	t.Helper()
	res := mustAppend(t, s, stream, expected, newEvents(n))
	return mustReadStream(t, s, stream, res.NextExpectedVersion-int64(n)+1, n)
}

func mustReadStream(t *testing.T, s eventstore.Store, stream string, from int64, limit int) []eventstore.RecordedEvent {
	t.Helper()
	events, err := s.ReadStream(context.Background(), stream, from, limit)
	if err != nil {
		t.Fatalf("read %s from %d limit %d: %v", stream, from, limit, err)
	}
	return events
}

func mustHead(t *testing.T, s eventstore.Store) eventstore.Position {
	t.Helper()
	head, err := s.Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return head
}
