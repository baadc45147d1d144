// Package projections turns the event log into PostgreSQL read models:
// projectors say what an event means for their tables, and the runtime feeds
// them through Watermill, one subscription per projector, with checkpoints
// committed in the same transaction as the rows. The runtime reads the log
// itself, in global order, or a Feed (Kafka) that workers in several
// processes share; processes that only write follow the projectors' progress
// in the database (Config.Remote).
//
// The projectors of one read-model schema are rebuilt together, blue-green,
// from the start of the log (Rebuild): at start when their versions
// changed, or on demand. An event a projector keeps failing on is parked,
// and the projector goes on (Retry applies it again).
package projections

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
)

// Event is what a projector receives: the stored record, its decoded payload
// and its decoded metadata.
type Event struct {
	eventstore.RecordedEvent
	Payload kernel.Event
	Meta    eventstore.Metadata
}

// Projector builds one read model.
type Projector interface {
	// Name is unique and stable, e.g. "sartiq.users"; checkpoints are kept
	// under it.
	Name() string
	// Version changes when the projector's output changes; a new version is
	// rebuilt from the start of the log: blue-green into a shadow schema
	// for projectors of a read-model schema (see InSchema and
	// Runtime.Rebuild), over the same tables for the others.
	Version() int
	// Realm restricts the projector to one realm's streams ("" = all).
	Realm() string
	// Handles reports whether the projector cares about an event type;
	// other events only advance its checkpoint.
	Handles(eventType string) bool
	// Apply writes the event's effect inside tx, which also advances the
	// checkpoint: Apply must not commit or roll back.
	Apply(ctx context.Context, tx pgx.Tx, e Event) error
}

// Waiter lets a writer wait until a realm's read models include a position,
// so that a client that writes then reads sees its write.
type Waiter interface {
	WaitFor(ctx context.Context, realm string, pos eventstore.Position) error
}

// RealmOf returns the realm part of a stream name ("sartiq:user-1" → "sartiq").
func RealmOf(stream string) string {
	realm, _, _ := strings.Cut(stream, ":")
	return realm
}
