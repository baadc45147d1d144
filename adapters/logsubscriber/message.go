package logsubscriber

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
)

// Metadata keys of the messages the subscriber emits. The message UUID is the
// event id and the payload is the event's JSON data.
const (
	MetaEventType  = "event_type"
	MetaStream     = "stream"
	MetaVersion    = "version"
	MetaPosition   = "position" // "commit/prepare"
	MetaRecordedAt = "recorded_at"
	MetaMetadata   = "metadata" // the event's raw metadata JSON
	// MetaEvents marks a message that carries several events, and says how
	// many: its payload is their JSON array and it has no other metadata.
	MetaEvents = "events"
)

// Encode turns a recorded event into a Watermill message.
func Encode(e eventstore.RecordedEvent) *message.Message {
	msg := message.NewMessage(e.ID.String(), e.Data)
	msg.Metadata.Set(MetaEventType, e.Type)
	msg.Metadata.Set(MetaStream, e.StreamID)
	msg.Metadata.Set(MetaVersion, strconv.FormatInt(e.Version, 10))
	msg.Metadata.Set(MetaPosition, e.Position.String())
	msg.Metadata.Set(MetaRecordedAt, e.RecordedAt.UTC().Format(time.RFC3339Nano))
	msg.Metadata.Set(MetaMetadata, string(e.Metadata))
	return msg
}

// EncodeAll turns events, in log order, into one message: Encode's for a
// single event.
func EncodeAll(events []eventstore.RecordedEvent) (*message.Message, error) {
	if len(events) == 1 {
		return Encode(events[0]), nil
	}
	payload, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("encode %d events from %s: %w", len(events), events[0].Position, err)
	}
	msg := message.NewMessage(uuid.NewString(), payload)
	msg.Metadata.Set(MetaEvents, strconv.Itoa(len(events)))
	return msg, nil
}

// DecodeAll reads a message made by EncodeAll or Encode back into its
// events.
func DecodeAll(msg *message.Message) ([]eventstore.RecordedEvent, error) {
	if msg.Metadata.Get(MetaEvents) == "" {
		e, err := Decode(msg)
		if err != nil {
			return nil, err
		}
		return []eventstore.RecordedEvent{e}, nil
	}
	var events []eventstore.RecordedEvent
	if err := json.Unmarshal(msg.Payload, &events); err != nil {
		return nil, fmt.Errorf("decode message %s: events: %w", msg.UUID, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("decode message %s: no events", msg.UUID)
	}
	return events, nil
}

// Decode reads a message made by Encode back into the recorded event.
func Decode(msg *message.Message) (eventstore.RecordedEvent, error) {
	id, err := uuid.Parse(msg.UUID)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode message %q: event id: %w", msg.UUID, err)
	}
	version, err := strconv.ParseInt(msg.Metadata.Get(MetaVersion), 10, 64)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode message %s: version: %w", id, err)
	}
	pos, err := eventstore.ParsePosition(msg.Metadata.Get(MetaPosition))
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode message %s: %w", id, err)
	}
	recordedAt, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(MetaRecordedAt))
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode message %s: recorded at: %w", id, err)
	}
	var md []byte
	if s := msg.Metadata.Get(MetaMetadata); s != "" {
		md = []byte(s)
	}
	return eventstore.RecordedEvent{
		ID:         id,
		StreamID:   msg.Metadata.Get(MetaStream),
		Version:    version,
		Position:   pos,
		Type:       msg.Metadata.Get(MetaEventType),
		Data:       msg.Payload,
		Metadata:   md,
		RecordedAt: recordedAt,
	}, nil
}
