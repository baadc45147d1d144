// Package eventstore defines the port every event store backend implements:
// streams with optimistic concurrency, and one global, ordered log that can be
// read and subscribed to without ever skipping an event.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ExpectedVersion is the version a stream must be at for an append to succeed.
// Non-negative values name the version (0-based revision) of the stream's last
// event; the constants below express the other expectations.
type ExpectedVersion int64

const (
	// Any appends whatever the stream's version, creating it if needed.
	Any ExpectedVersion = -2
	// NoStream appends only if the stream has no events yet.
	NoStream ExpectedVersion = -1
)

// Position is a place in the global log. It is a pair so that backends whose
// natural order has two parts (EventStoreDB's commit/prepare positions,
// PostgreSQL's transaction id and sequence) can keep it exactly; positions
// compare by Commit, then Prepare. The zero Position is before every event.
type Position struct {
	Commit  uint64 `json:"commit"`
	Prepare uint64 `json:"prepare"`
}

// Start is the position before the first event of the log.
var Start = Position{}

// Less reports whether p comes strictly before o in the global order.
func (p Position) Less(o Position) bool {
	if p.Commit != o.Commit {
		return p.Commit < o.Commit
	}
	return p.Prepare < o.Prepare
}

// String formats the position as "commit/prepare".
func (p Position) String() string { return fmt.Sprintf("%d/%d", p.Commit, p.Prepare) }

// ParsePosition reads the String form back.
func ParsePosition(s string) (Position, error) {
	var p Position
	if _, err := fmt.Sscanf(s, "%d/%d", &p.Commit, &p.Prepare); err != nil {
		return Position{}, fmt.Errorf("parse position %q: %w", s, err)
	}
	return p, nil
}

// EventData is an event to append. The ID is chosen by the caller so that
// re-appending the same events after an uncertain outcome is idempotent.
type EventData struct {
	ID       uuid.UUID
	Type     string
	Data     []byte // JSON
	Metadata []byte // JSON encoding of Metadata
}

// RecordedEvent is an event as stored.
type RecordedEvent struct {
	ID         uuid.UUID
	StreamID   string
	Version    int64 // 0-based revision within its stream
	Position   Position
	Type       string
	Data       []byte
	Metadata   []byte
	RecordedAt time.Time
}

// AppendResult tells where an append landed.
type AppendResult struct {
	// NextExpectedVersion is the stream's version after the append.
	NextExpectedVersion int64
	// Position is the global position of the last appended event.
	Position Position
}

// Subscription is a running catch-up subscription: first the stored history
// after its start position, then live events, in global order.
type Subscription interface {
	// Events is closed when the subscription ends.
	Events() <-chan RecordedEvent
	// Err tells why the subscription ended once Events is closed; nil when
	// its context was cancelled.
	Err() error
}

// Store is the event store port.
type Store interface {
	// Append writes events (at least one) to the end of a stream if the
	// stream is at the expected version. It fails with ErrWrongVersion
	// otherwise. Re-appending events whose ids are already stored in that
	// stream at those versions is a no-op that reports the original result,
	// so a retry after an unknown outcome is safe.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events []EventData) (AppendResult, error)
	// ReadStream returns up to limit events of a stream from version from on
	// (limit <= 0: all). A stream without events gives an empty slice.
	ReadStream(ctx context.Context, stream string, from int64, limit int) ([]RecordedEvent, error)
	// ReadAll returns up to limit events of the global log strictly after from,
	// in order. It never returns an event while an earlier one may still commit.
	ReadAll(ctx context.Context, from Position, limit int) ([]RecordedEvent, error)
	// Head is the position of the last event a reader can see (Start if none).
	Head(ctx context.Context) (Position, error)
	// Subscribe starts a catch-up subscription after from. It runs until ctx
	// is cancelled or the backend fails.
	Subscribe(ctx context.Context, from Position) (Subscription, error)
}

var (
	// ErrWrongVersion is returned (wrapped) when a stream is not at the
	// expected version.
	ErrWrongVersion = errors.New("eventstore: wrong expected version")
	// ErrDuplicateEvent is returned by backends that keep event ids unique
	// across the whole log (postgres, memory) when an id is reused elsewhere.
	// EventStoreDB only deduplicates within a stream.
	ErrDuplicateEvent = errors.New("eventstore: duplicate event id")
)

// WrongVersionError details a failed expectation; it matches ErrWrongVersion.
type WrongVersionError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   int64 // -1 when the stream does not exist
}

func (e *WrongVersionError) Error() string {
	return fmt.Sprintf("eventstore: stream %q expected version %d, actual %d", e.Stream, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrWrongVersion) hold.
func (e *WrongVersionError) Is(target error) bool { return target == ErrWrongVersion }
