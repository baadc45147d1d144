// Package commands runs commands against aggregates: load the stream, fold
// it, decide, append with the expected version, retry version conflicts a
// bounded number of times, and stamp audit metadata on every event.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
)

// DefaultMaxAttempts bounds how often a command is re-decided when another
// writer appended to its stream in between. Between attempts the executor
// waits a short random time so that writers racing on one hot stream spread
// out instead of colliding again in lockstep.
const DefaultMaxAttempts = 24

// Meta is what the caller knows about a command: the realm (dialect) it runs
// in, who issues it and why. The executor adds the command and event ids.
type Meta struct {
	Realm   string
	ActorID string
	Command string
	// CommandID groups the appends of one logical command that touches
	// several streams (sign-up claims an email, then creates the user);
	// zero: each Execute call gets its own.
	CommandID     uuid.UUID
	CorrelationID uuid.UUID // zero: the command id is used
	CausationID   uuid.UUID // zero: the command id is used
	Request       *eventstore.RequestInfo
}

// Executor executes decisions against the event store.
type Executor struct {
	Store       eventstore.Store
	Registry    *kernel.Registry
	Now         func() time.Time
	MaxAttempts int
	// Observe, if set, is told of every command run (Execute, ExecuteAt,
	// Record): how long it took and how it ended. Metrics use it.
	Observe func(meta Meta, took time.Duration, res Result, err error)
}

// observe reports a command to Observe; deferred at the command's start.
func (x *Executor) observe(meta Meta, began time.Time, res *Result, err *error) {
	if x.Observe != nil {
		x.Observe(meta, time.Since(began), *res, *err)
	}
}

// NewExecutor returns an executor with defaults.
func NewExecutor(store eventstore.Store, registry *kernel.Registry) *Executor {
	return &Executor{Store: store, Registry: registry, Now: time.Now, MaxAttempts: DefaultMaxAttempts}
}

// Result is the outcome of an executed command.
type Result struct {
	CommandID uuid.UUID
	// Events are the appended events; empty when the decision was a no-op.
	Events []kernel.Event
	// Version is the stream's version after the command (-1: no stream).
	Version int64
	// Position is where the last appended event landed; Start if none was.
	Position eventstore.Position
}

// Latest is the result whose events come last in the log, among those that
// appended anything: waiting for it covers the others.
func Latest(results ...Result) Result {
	var latest Result
	for _, r := range results {
		if r.Appended() && !r.Position.Less(latest.Position) {
			latest = r
		}
	}
	return latest
}

// Appended reports whether the command appended anything.
func (r Result) Appended() bool { return len(r.Events) > 0 }

// Load reads an aggregate's stream and folds it. The version is -1 when the
// stream does not exist.
func Load[S any](ctx context.Context, x *Executor, agg kernel.Aggregate[S], realm, id string) (S, int64, error) {
	var state S
	stream := kernel.StreamName(realm, agg.Kind, id)
	recorded, err := x.Store.ReadStream(ctx, stream, 0, 0)
	if err != nil {
		return state, -1, fmt.Errorf("load %s: %w", stream, err)
	}
	version := int64(-1)
	for _, r := range recorded {
		e, err := x.Registry.Decode(r.Type, r.Data)
		if err != nil {
			return state, -1, fmt.Errorf("load %s@%d: %w", stream, r.Version, err)
		}
		state = agg.Evolve(state, e)
		version = r.Version
	}
	return state, version, nil
}

// Execute runs decide against the current state of one aggregate instance
// and appends what it decides. decide may be called several times (once per
// attempt), so it must be a pure function of the state it is given.
//
// The first attempt presumes the stream new: decide runs on the empty state
// and what it decides is appended expecting no stream, so that creations,
// the commonest commands, take one round trip instead of reading a stream
// that does not exist and then appending. When the empty state decides
// nothing or fails, or the append finds the stream there, the stream is
// read and decided on at once; a command on an existing stream whose
// decision the empty state would allow pays one refused append for it.
func Execute[S any](ctx context.Context, x *Executor, agg kernel.Aggregate[S], meta Meta, id string,
	decide func(S) ([]kernel.Event, error)) (outcome Result, err error) {
	defer x.observe(meta, time.Now(), &outcome, &err)
	meta = meta.Grouped()
	stream := kernel.StreamName(meta.Realm, agg.Kind, id)
	attempts := x.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	presumeNew := true
	for attempt := 1; ; {
		var state S
		version := int64(-1)
		if !presumeNew {
			var err error
			if state, version, err = Load(ctx, x, agg, meta.Realm, id); err != nil {
				return Result{}, err
			}
		}
		events, err := decide(state)
		if presumeNew && (err != nil || len(events) == 0) {
			// The empty state may not be the stream's: decide on what it holds.
			presumeNew = false
			continue
		}
		if err != nil {
			return Result{CommandID: meta.CommandID, Version: version}, err
		}
		if len(events) == 0 {
			return Result{CommandID: meta.CommandID, Version: version}, nil
		}
		res, err := x.appendAt(ctx, stream, version, meta, events)
		switch {
		case err == nil:
			return Result{CommandID: meta.CommandID, Events: events, Version: res.NextExpectedVersion, Position: res.Position}, nil
		case !errors.Is(err, eventstore.ErrWrongVersion):
			return Result{}, fmt.Errorf("append to %s: %w", stream, err)
		case presumeNew:
			// The stream exists; no other writer is to be waited out.
			presumeNew = false
		case attempt >= attempts:
			return Result{}, kernel.Conflict("concurrent_modification",
				fmt.Sprintf("%s was changed concurrently; try again", agg.Kind))
		default:
			if err := backoff(ctx, attempt); err != nil {
				return Result{}, err
			}
		}
		attempt++
	}
}

// backoff waits a random time that grows with the attempt, up to ~25ms.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 5)
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("retry after version conflict: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// appendAt appends events expecting the stream at version (-1: no stream).
func (x *Executor) appendAt(ctx context.Context, stream string, version int64, meta Meta, events []kernel.Event) (eventstore.AppendResult, error) {
	data, err := x.encode(meta, meta.CommandID, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	expected := eventstore.ExpectedVersion(version)
	if version < 0 {
		expected = eventstore.NoStream
	}
	return x.Store.Append(ctx, stream, expected, data)
}

func (x *Executor) encode(meta Meta, commandID uuid.UUID, events []kernel.Event) ([]eventstore.EventData, error) {
	md := eventstore.Metadata{
		Realm:         meta.Realm,
		ActorID:       meta.ActorID,
		Command:       meta.Command,
		CommandID:     commandID,
		CorrelationID: meta.CorrelationID,
		CausationID:   meta.CausationID,
		OccurredAt:    x.Now().UTC(),
		Request:       meta.Request,
	}
	if md.CorrelationID == uuid.Nil {
		md.CorrelationID = commandID
	}
	if md.CausationID == uuid.Nil {
		md.CausationID = commandID
	}
	mb, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, b, err := x.Registry.Encode(e)
		if err != nil {
			return nil, err
		}
		out[i] = eventstore.EventData{ID: uuid.New(), Type: typ, Data: b, Metadata: mb}
	}
	return out, nil
}
