package projections

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/adapters/logsubscriber"
	"github.com/annals-dev/annals/eventstore"
)

// order is how events reach a projector, and so how the runtime tells an
// event it has not applied yet from one delivered again.
type order interface {
	// decode returns the events a message carries, in order.
	decode(msg *message.Message) ([]eventstore.RecordedEvent, error)
	// admit runs first in the transaction that applies recs, in order, and
	// reports whether every one of them is new to p; when they are, it
	// records them as applied, so that the record commits with the rows.
	admit(ctx context.Context, tx pgx.Tx, p *projection, recs []eventstore.RecordedEvent) (bool, error)
	// processed notes in memory that p is done with rec: applied, skipped
	// as unwanted, or found applied already. stored tells whether rec's
	// transaction committed.
	processed(p *projection, rec eventstore.RecordedEvent, stored bool)
}

// logOrder reads the event log in its global order: the checkpoint alone
// says what was applied.
type logOrder struct{}

var _ order = logOrder{}

func (logOrder) decode(msg *message.Message) ([]eventstore.RecordedEvent, error) {
	return logsubscriber.DecodeAll(msg)
}

// admit moves the checkpoint to the last event if it is before the first,
// which takes the row lock that serialises processes running the same
// projector before any row is written: the checkpoint reaches an event
// only once every earlier one is processed, so one at or past the first
// means some of recs are applied already. Events up to the last one a
// stream-ordered run applied are also checked against the stream versions
// that run kept, so that switching a projector from Kafka back to the log
// does not apply them twice.
func (logOrder) admit(ctx context.Context, tx pgx.Tx, p *projection, recs []eventstore.RecordedEvent) (bool, error) {
	ahead, err := advanceCheckpointOver(ctx, tx, p, recs[0].Position, recs[len(recs)-1].Position)
	if err != nil || !ahead {
		return false, err
	}
	streamedUntil := p.snapshot().streamedUntil
	for _, rec := range recs {
		if streamedUntil.Less(rec.Position) {
			break
		}
		if recorded, err := recordStreamVersion(ctx, tx, p, rec); err != nil || !recorded {
			return false, err
		}
	}
	return true, nil
}

func (logOrder) processed(p *projection, rec eventstore.RecordedEvent, stored bool) {
	p.advance(rec.Position, stored)
}

// streamOrder reads a Feed, which keeps each stream's order but not the
// log's: per-stream versions say what was applied, and the position moves
// only as the watermark does (see advanceWatermarks).
type streamOrder struct{ feed Feed }

var _ order = streamOrder{}

func (o streamOrder) decode(msg *message.Message) ([]eventstore.RecordedEvent, error) {
	rec, err := o.feed.Decode(msg)
	if err != nil {
		return nil, err
	}
	return []eventstore.RecordedEvent{rec}, nil
}

// admit skips events at or below the watermark, which covers what was
// applied before the projector was fed by stream (from the log), then
// checks and moves each stream's version, which locks its row: two workers
// handed the same event during a rebalance serialise, and the later one
// finds it applied.
func (streamOrder) admit(ctx context.Context, tx pgx.Tx, p *projection, recs []eventstore.RecordedEvent) (bool, error) {
	watermark := p.snapshot().pos
	for _, rec := range recs {
		if !watermark.Less(rec.Position) {
			return false, nil
		}
		if recorded, err := recordStreamVersion(ctx, tx, p, rec); err != nil || !recorded {
			return false, err
		}
	}
	return true, nil
}

func (streamOrder) processed(p *projection, _ eventstore.RecordedEvent, _ bool) {
	p.recovered()
}
