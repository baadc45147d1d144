package esdbtest

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Expected stream states, encoded as the server does: non-negative values are
// the revision of the stream's last event.
const (
	expectNoStream     int64 = -1
	expectAny          int64 = -2
	expectStreamExists int64 = -4
)

// position is a place in $all. Events appended together share the commit
// position of their transaction and differ by prepare position, as in the
// server's transaction log, so the two halves are both meaningful.
type position struct{ commit, prepare uint64 }

func (p position) compare(o position) int {
	if c := cmp.Compare(p.commit, o.commit); c != 0 {
		return c
	}
	return cmp.Compare(p.prepare, o.prepare)
}

// record is an event as stored; records are never modified once appended.
type record struct {
	id          uuid.UUID
	stream      string
	revision    uint64
	pos         position
	eventType   string
	contentType string
	created     time.Time
	data        []byte
	metadata    []byte
}

// proposed is an event offered to append.
type proposed struct {
	id          uuid.UUID
	eventType   string
	contentType string
	data        []byte
	metadata    []byte
}

// appendResult is the outcome of an append: the stream's revision (-1 when it
// has no events) and, when events were written, the position of the last one.
type appendResult struct {
	wrongVersion bool
	current      int64
	pos          *position
}

// Sizes used to advance log positions; only their being non-zero matters.
const (
	recordHeaderSize = 64
	commitRecordSize = 32
	firstLogPosition = 128
)

// eventLog is the server's transaction log and stream index in memory.
type eventLog struct {
	mu      sync.Mutex
	all     []*record
	streams map[string][]*record
	// byID remembers the last record written with each event id: the server
	// checks idempotency of Any/StreamExists appends the same way.
	byID map[uuid.UUID]*record
	next uint64
	// grown is closed and replaced whenever records are appended.
	grown chan struct{}
	now   func() time.Time
}

func newEventLog(now func() time.Time) *eventLog {
	return &eventLog{
		streams: make(map[string][]*record),
		byID:    make(map[uuid.UUID]*record),
		next:    firstLogPosition,
		grown:   make(chan struct{}),
		now:     now,
	}
}

// append writes events to stream if the expectation holds, with the server's
// idempotency rules: re-sent events that are already in the stream at the
// place the expectation implies succeed without writing anything.
func (l *eventLog) append(stream string, expected int64, events []proposed) appendResult {
	l.mu.Lock()
	defer l.mu.Unlock()

	recs := l.streams[stream]
	current := int64(len(recs)) - 1
	wrong := appendResult{wrongVersion: true, current: current}

	switch {
	case expected == expectStreamExists && current < 0:
		return wrong
	case expected == expectAny || expected == expectStreamExists:
		var last *record
		for i, e := range events {
			r := l.byID[e.id]
			if r == nil || r.stream != stream {
				if i == 0 {
					return l.write(stream, events)
				}
				return wrong // partly written before: not idempotent
			}
			last = r
		}
		if last == nil {
			return appendResult{current: current}
		}
		return appendResult{current: int64(last.revision)}
	case expected < current:
		for i, e := range events {
			rev := expected + 1 + int64(i)
			if rev > current || recs[rev].id != e.id {
				return wrong
			}
		}
		return appendResult{current: expected + int64(len(events))}
	case expected > current:
		return wrong
	default:
		return l.write(stream, events)
	}
}

// write appends events as one transaction; the caller holds l.mu.
func (l *eventLog) write(stream string, events []proposed) appendResult {
	recs := l.streams[stream]
	if len(events) == 0 {
		return appendResult{current: int64(len(recs)) - 1}
	}
	created := l.now()
	written := make([]*record, len(events))
	for i, e := range events {
		written[i] = &record{
			id:          e.id,
			stream:      stream,
			revision:    uint64(len(recs) + i),
			pos:         position{prepare: l.next},
			eventType:   e.eventType,
			contentType: e.contentType,
			created:     created,
			data:        e.data,
			metadata:    e.metadata,
		}
		l.next += recordHeaderSize + uint64(len(stream)+len(e.eventType)+len(e.data)+len(e.metadata))
	}
	commit := l.next
	l.next += commitRecordSize
	for _, r := range written {
		r.pos.commit = commit
		l.byID[r.id] = r
	}
	l.all = append(l.all, written...)
	l.streams[stream] = append(recs, written...)
	close(l.grown)
	l.grown = make(chan struct{})

	last := written[len(written)-1]
	return appendResult{current: int64(last.revision), pos: &last.pos}
}

// allRecords returns $all as it is now and a channel closed when it grows.
func (l *eventLog) allRecords() ([]*record, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all, l.grown
}

// streamRecords returns a stream as it is now, whether it exists, and a
// channel closed when the log grows.
func (l *eventLog) streamRecords(stream string) ([]*record, bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs, ok := l.streams[stream]
	return recs, ok, l.grown
}

// searchPosition is the index of the first of recs (in $all order) at or
// after p.
func searchPosition(recs []*record, p position) int {
	i, _ := slices.BinarySearchFunc(recs, p, func(r *record, p position) int { return r.pos.compare(p) })
	return i
}
