// Package esdb is the EventStoreDB backend of the event store port. Streams
// map one to one onto EventStoreDB streams, event ids are kept as EventStoreDB
// event ids (so the server makes re-appends idempotent), and the global log is
// $all without system events, those whose type starts with "$".
//
// It needs EventStoreDB 22.6 or later: older servers do not tell a stream
// read's events' $all positions. On a secure server, the user the connection
// string names must be allowed to read $all.
package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/annals-dev/annals/eventstore"
)

// Minimum server version, see the package documentation.
const (
	minServerMajor = 22
	minServerMinor = 6
)

// readAllCount asks a read for every event there is; reads stream their
// results, and stop when the caller has what it needs.
const readAllCount = math.MaxInt64

// errClosed ends the subscriptions of a closed store.
var errClosed = errors.New("esdb: store closed")

// Store is an eventstore.Store on EventStoreDB. It is safe for concurrent use.
type Store struct {
	client *esdbclient.Client
	buffer int

	// closing is cancelled by Close to end the subscriptions.
	closing context.Context
	stop    context.CancelFunc
	mu      sync.Mutex
	closed  bool
	subs    sync.WaitGroup
}

var _ eventstore.Store = (*Store)(nil)

// New connects to the server cfg names. It fails if the server cannot be
// reached or is too old, rather than on first use: the client library gives
// up for good when its first connection attempt fails.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	conf, err := esdbclient.ParseConnectionString(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("esdb: invalid connection string: %w", err)
	}
	conf.Logger = clientLogger(cfg.Logger)
	client, err := esdbclient.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: create client: %w", err)
	}
	if err := checkServer(client); err != nil {
		return nil, errors.Join(err, client.Close())
	}
	closing, stop := context.WithCancel(context.Background())
	return &Store{client: client, buffer: cfg.SubscriptionBuffer, closing: closing, stop: stop}, nil
}

func checkServer(client *esdbclient.Client) error {
	v, err := client.GetServerVersion()
	if err != nil {
		return fmt.Errorf("esdb: connect: %w", err)
	}
	if v.Major < minServerMajor || v.Major == minServerMajor && v.Minor < minServerMinor {
		return fmt.Errorf("esdb: server version %d.%d.%d is older than %d.%d",
			v.Major, v.Minor, v.Patch, minServerMajor, minServerMinor)
	}
	return nil
}

// clientLogger passes the client library's messages on at debug level: it
// logs as errors what it also returns, and subscriptions ended on purpose.
func clientLogger(l *slog.Logger) esdbclient.LoggingFunc {
	return func(level esdbclient.LogLevel, format string, args ...any) {
		l.Debug(fmt.Sprintf(format, args...), "component", "esdb-client", "client_level", level)
	}
}

// Close ends the store's subscriptions, waits for them to stop, and closes
// the connection. Calls in flight on other goroutines should be over first.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.subs.Wait()
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("esdb: close client: %w", err)
	}
	return nil
}

// Append writes events with the server's optimistic concurrency check.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: no events", stream)
	}
	revision, err := expectedRevision(expected)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: %w", stream, err)
	}
	data := make([]esdbclient.EventData, len(events))
	for i, e := range events {
		data[i] = esdbclient.EventData{
			EventID:     e.ID,
			EventType:   e.Type,
			ContentType: esdbclient.ContentTypeJson,
			Data:        e.Data,
			Metadata:    e.Metadata,
		}
	}
	res, err := s.client.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: revision}, data...)
	if err != nil {
		if hasCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
			return eventstore.AppendResult{}, &eventstore.WrongVersionError{
				Stream: stream, Expected: expected, Actual: actualVersion(err),
			}
		}
		return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: %w", stream, err)
	}
	out := eventstore.AppendResult{
		NextExpectedVersion: int64(res.NextExpectedVersion),
		Position:            eventstore.Position{Commit: res.CommitPosition, Prepare: res.PreparePosition},
	}
	if out.Position == eventstore.Start {
		// An idempotent repeat writes nothing and the server reports no
		// position; the original one is that of the stream's last event
		// among those re-sent.
		if out.Position, err = s.eventPosition(ctx, stream, out.NextExpectedVersion); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %q: %w", stream, err)
		}
	}
	return out, nil
}

func expectedRevision(v eventstore.ExpectedVersion) (esdbclient.ExpectedRevision, error) {
	switch {
	case v == eventstore.Any:
		return esdbclient.Any{}, nil
	case v == eventstore.NoStream:
		return esdbclient.NoStream{}, nil
	case v >= 0:
		return esdbclient.Revision(uint64(v)), nil
	default:
		return nil, fmt.Errorf("invalid expected version %d", v)
	}
}

// currentRevision finds the stream's revision in the client's wrong expected
// version message ("... expecting 'X' but got 'Y'"), where the client leaves
// what the server reported.
var currentRevision = regexp.MustCompile(`but got '([^']*)'`)

// actualVersion is the stream's version the server reported with a wrong
// expected version error; -1 when it had no stream, or when the message
// cannot be read.
func actualVersion(err error) int64 {
	m := currentRevision.FindStringSubmatch(err.Error())
	if m == nil {
		return -1
	}
	v, perr := strconv.ParseInt(m[1], 10, 64)
	if perr != nil {
		return -1 // "no_stream"
	}
	return v
}

// eventPosition is the $all position of a stream's event.
func (s *Store) eventPosition(ctx context.Context, stream string, version int64) (eventstore.Position, error) {
	events, err := s.ReadStream(ctx, stream, version, 1)
	if err != nil {
		return eventstore.Position{}, err
	}
	if len(events) == 0 {
		return eventstore.Position{}, fmt.Errorf("event %d of %q not found", version, stream)
	}
	return events[0].Position, nil
}

// ReadStream reads a stream forwards from version from.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	if from < 0 {
		return nil, fmt.Errorf("esdb: read %q: negative version %d", stream, from)
	}
	count := uint64(readAllCount)
	if limit > 0 {
		count = uint64(limit)
	}
	read, err := s.client.ReadStream(ctx, stream, esdbclient.ReadStreamOptions{From: esdbclient.Revision(uint64(from))}, count)
	if err != nil {
		return nil, fmt.Errorf("esdb: read %q: %w", stream, err)
	}
	out := []eventstore.RecordedEvent{}
	err = each(read, func(e eventstore.RecordedEvent) bool {
		out = append(out, e)
		return true
	})
	if hasCode(err, esdbclient.ErrorCodeResourceNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("esdb: read %q: %w", stream, err)
	}
	return out, nil
}

// ReadAll reads $all forwards after from, leaving system events out. The
// client library has no filter for reads, so they are skipped here.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	read, err := s.client.ReadAll(ctx, esdbclient.ReadAllOptions{From: allPosition(from)}, readAllCount)
	if err != nil {
		return nil, fmt.Errorf("esdb: read $all after %s: %w", from, err)
	}
	var out []eventstore.RecordedEvent
	err = each(read, func(e eventstore.RecordedEvent) bool {
		// A read from a position includes the event there.
		if isSystem(e.Type) || !from.Less(e.Position) {
			return true
		}
		out = append(out, e)
		return limit <= 0 || len(out) < limit
	})
	if err != nil {
		return nil, fmt.Errorf("esdb: read $all after %s: %w", from, err)
	}
	return out, nil
}

// Head reads $all backwards to its last event that is not a system event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	read, err := s.client.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, readAllCount)
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("esdb: read head of $all: %w", err)
	}
	head := eventstore.Start
	err = each(read, func(e eventstore.RecordedEvent) bool {
		if isSystem(e.Type) {
			return true
		}
		head = e.Position
		return false
	})
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("esdb: read head of $all: %w", err)
	}
	return head, nil
}

// allPosition is where in $all a read or subscription from p starts.
func allPosition(p eventstore.Position) esdbclient.AllPosition {
	if p == eventstore.Start {
		return esdbclient.Start{}
	}
	return esdbclient.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// each hands the events of a read to fn until the read ends or fn returns
// false, then releases the read.
func each(read *esdbclient.ReadStream, fn func(eventstore.RecordedEvent) bool) error {
	defer read.Close()
	for {
		e, err := read.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !fn(recorded(e.OriginalEvent())) {
			return nil
		}
	}
}

func recorded(e *esdbclient.RecordedEvent) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{
		ID:         e.EventID,
		StreamID:   e.StreamID,
		Version:    int64(e.EventNumber),
		Position:   eventstore.Position{Commit: e.Position.Commit, Prepare: e.Position.Prepare},
		Type:       e.EventType,
		Data:       e.Data,
		Metadata:   e.UserMetadata,
		RecordedAt: e.CreatedDate,
	}
}

// isSystem tells the server's own events, which the global log leaves out.
func isSystem(eventType string) bool { return strings.HasPrefix(eventType, "$") }

func hasCode(err error, code esdbclient.ErrorCode) bool {
	var e *esdbclient.Error
	return errors.As(err, &e) && e.IsErrorCode(code)
}
