package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
)

// ErrMoved is returned (wrapped) by ExecuteAt when the stream is no longer
// at the version the decision was meant for.
var ErrMoved = errors.New("commands: stream moved on")

// Grouped returns meta with a command id, so that every append made with
// it belongs to one logical command.
func (m Meta) Grouped() Meta {
	if m.CommandID == uuid.Nil {
		m.CommandID = uuid.New()
	}
	return m
}

// LoadAt folds an aggregate's stream up to and including version (-1: the
// empty state).
func LoadAt[S any](ctx context.Context, x *Executor, agg kernel.Aggregate[S], realm, id string, version int64) (S, error) {
	var state S
	if version < 0 {
		return state, nil
	}
	stream := kernel.StreamName(realm, agg.Kind, id)
	recorded, err := x.Store.ReadStream(ctx, stream, 0, int(version)+1)
	if err != nil {
		return state, fmt.Errorf("load %s up to %d: %w", stream, version, err)
	}
	for _, r := range recorded {
		e, err := x.Registry.Decode(r.Type, r.Data)
		if err != nil {
			return state, fmt.Errorf("load %s@%d: %w", stream, r.Version, err)
		}
		state = agg.Evolve(state, e)
	}
	return state, nil
}

// ExecuteAt runs decide once against the state at exactly version and
// appends what it decides expecting that version. Unlike Execute it never
// re-decides on a newer state: the decision is only right for that one.
// A stream at another version, before or during the append, fails with
// ErrMoved.
func ExecuteAt[S any](ctx context.Context, x *Executor, agg kernel.Aggregate[S], meta Meta, id string, version int64,
	decide func(S) ([]kernel.Event, error)) (outcome Result, err error) {
	defer x.observe(meta, time.Now(), &outcome, &err)
	meta = meta.Grouped()
	stream := kernel.StreamName(meta.Realm, agg.Kind, id)
	state, current, err := Load(ctx, x, agg, meta.Realm, id)
	if err != nil {
		return Result{}, err
	}
	if current != version {
		return Result{}, fmt.Errorf("%s is at %d, not %d: %w", stream, current, version, ErrMoved)
	}
	events, err := decide(state)
	if err != nil || len(events) == 0 {
		return Result{CommandID: meta.CommandID, Version: version}, err
	}
	res, err := x.appendAt(ctx, stream, version, meta, events)
	if errors.Is(err, eventstore.ErrWrongVersion) {
		return Result{}, fmt.Errorf("append to %s: %w", stream, errors.Join(ErrMoved, err))
	}
	if err != nil {
		return Result{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	return Result{CommandID: meta.CommandID, Events: events, Version: res.NextExpectedVersion, Position: res.Position}, nil
}

// Record appends facts to a stream whatever its version: for streams that
// only record, where no decision depends on what is already there (a
// trail of refused commands, say), so that a busy one needs no reading.
func Record(ctx context.Context, x *Executor, kind string, meta Meta, id string, events ...kernel.Event) (outcome Result, err error) {
	defer x.observe(meta, time.Now(), &outcome, &err)
	meta = meta.Grouped()
	stream := kernel.StreamName(meta.Realm, kind, id)
	data, err := x.encode(meta, meta.CommandID, events)
	if err != nil {
		return Result{}, err
	}
	res, err := x.Store.Append(ctx, stream, eventstore.Any, data)
	if err != nil {
		return Result{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	return Result{CommandID: meta.CommandID, Events: events, Version: res.NextExpectedVersion, Position: res.Position}, nil
}
