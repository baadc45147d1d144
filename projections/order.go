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
	decode(msg *message.Message) (eventstore.RecordedEvent, error)
	// admit runs first in the transaction that applies rec and reports
	// whether rec is new to p; when it is, it records rec as applied, so
	// that the record commits with the rows.
	admit(ctx context.Context, tx pgx.Tx, p *projection, rec eventstore.RecordedEvent) (bool, error)
	// processed notes in memory that p is done with rec: applied, skipped
	// as unwanted, or found applied already. stored tells whether rec's
	// transaction committed.
	processed(p *projection, rec eventstore.RecordedEvent, stored bool)
}

// logOrder reads the event log in its global order: the checkpoint alone
// says what was applied.
type logOrder struct{}

var _ order = logOrder{}

func (logOrder) decode(msg *message.Message) (eventstore.RecordedEvent, error) {
	return logsubscriber.Decode(msg)
}

// admit moves the checkpoint, which takes the row lock that serialises
// processes running the same projector before any row is written. Events up
// to the last one a stream-ordered run applied are also checked against the
// stream versions that run kept, so that switching a projector from Kafka
// back to the log does not apply them twice.
func (logOrder) admit(ctx context.Context, tx pgx.Tx, p *projection, rec eventstore.RecordedEvent) (bool, error) {
	ahead, err := advanceCheckpoint(ctx, tx, p, rec.Position)
	if err != nil || !ahead {
		return false, err
	}
	if p.snapshot().streamedUntil.Less(rec.Position) {
		return true, nil
	}
	return recordStreamVersion(ctx, tx, p, rec)
}

func (logOrder) processed(p *projection, rec eventstore.RecordedEvent, stored bool) {
	p.advance(rec.Position, stored)
}

// streamOrder reads a Feed, which keeps each stream's order but not the
// log's: per-stream versions say what was applied, and the position moves
// only as the watermark does (see advanceWatermarks).
type streamOrder struct{ feed Feed }

var _ order = streamOrder{}

func (o streamOrder) decode(msg *message.Message) (eventstore.RecordedEvent, error) {
	return o.feed.Decode(msg)
}

// admit skips events at or below the watermark, which covers what was
// applied before the projector was fed by stream (from the log), then
// checks and moves the stream's version, which locks its row: two workers
// handed the same event during a rebalance serialise, and the later one
// finds it applied.
func (streamOrder) admit(ctx context.Context, tx pgx.Tx, p *projection, rec eventstore.RecordedEvent) (bool, error) {
	if !p.snapshot().pos.Less(rec.Position) {
		return false, nil
	}
	return recordStreamVersion(ctx, tx, p, rec)
}

func (streamOrder) processed(p *projection, _ eventstore.RecordedEvent, _ bool) {
	p.recovered()
}
