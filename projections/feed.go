package projections

import (
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/annals-dev/annals/eventstore"
)

// Feed delivers events to projectors from outside the event log, keeping
// each stream's order but not the log's: Kafka topics keyed by stream, filled
// by the relay, read by any number of workers in one consumer group per
// projector. A runtime with a Feed keeps, next to each projector's rows, the
// last version it applied of every stream, and skips an event at or below
// it, so that redeliveries and rebalances never apply an event twice.
type Feed interface {
	// Subscriber returns the subscriber projector p consumes and the topic
	// it reads. Each projector needs a consumer group of its own, so that
	// each one sees every event; the runtime closes the subscriber when
	// Run ends.
	Subscriber(p Projector) (message.Subscriber, string, error)
	// Decode rebuilds the recorded event a message carries.
	Decode(msg *message.Message) (eventstore.RecordedEvent, error)
}
