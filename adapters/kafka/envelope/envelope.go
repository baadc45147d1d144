// Package envelope is the wire format of events on Kafka: each recorded event
// is a CloudEvents 1.0 JSON document (structured mode), keyed by its stream,
// with the audit fields repeated as headers so that consumers can route and
// filter without parsing the value.
package envelope

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
)

// Header names. Headers hold strings: versions and positions in decimal and
// Position.String form.
const (
	HeaderContentType   = "content-type"
	HeaderEventID       = "event_id"
	HeaderEventType     = "event_type"
	HeaderStream        = "stream"
	HeaderStreamVersion = "stream_version"
	HeaderPosition      = "position"
	HeaderCorrelationID = "correlation_id"
	HeaderCausationID   = "causation_id"
	HeaderActorID       = "actor_id"
	// HeaderMetadata holds the event's full metadata JSON, so that a consumer
	// can rebuild the recorded event exactly.
	HeaderMetadata = "metadata"
)

const (
	// ContentType is the content-type header value of structured-mode
	// CloudEvents.
	ContentType = "application/cloudevents+json"
	// SpecVersion is the CloudEvents version written.
	SpecVersion = "1.0"
)

// CloudEvent is the message value. Extension attributes are lowercase
// alphanumeric, as the CloudEvents spec requires.
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype,omitempty"`
	// Data is the event's JSON payload. Stored data that is not JSON travels
	// as DataBase64 instead, so that one odd event cannot stall the relay.
	Data       json.RawMessage `json:"data,omitempty"`
	DataBase64 string          `json:"data_base64,omitempty"`

	// Extensions.
	StreamVersion int64  `json:"streamversion"`
	Position      string `json:"position"`
	RecordedTime  string `json:"recordedtime"`
	Realm         string `json:"realm"`
	CorrelationID string `json:"correlationid,omitempty"`
	CausationID   string `json:"causationid,omitempty"`
	ActorID       string `json:"actorid,omitempty"`
}

// NewMessage wraps a recorded event as a Watermill message: UUID = event id,
// payload = the CloudEvent JSON, metadata = the headers, plus the stream as
// the partition key so that a stream's events stay in order. Stored metadata
// that does not parse leaves the audit attributes out (its bytes still
// travel in the metadata header): one damaged event must not stop the log.
func NewMessage(e eventstore.RecordedEvent) (*message.Message, error) {
	meta, err := eventstore.DecodeMetadata(e.Metadata)
	if err != nil {
		meta = eventstore.Metadata{}
	}
	realm := projections.RealmOf(e.StreamID)
	ce := CloudEvent{
		SpecVersion:   SpecVersion,
		ID:            e.ID.String(),
		Source:        "annals/" + realm,
		Type:          e.Type,
		Subject:       e.StreamID,
		Time:          e.RecordedAt.UTC(),
		StreamVersion: e.Version,
		Position:      e.Position.String(),
		RecordedTime:  e.RecordedAt.UTC().Format(time.RFC3339Nano),
		Realm:         realm,
		CorrelationID: idString(meta.CorrelationID),
		CausationID:   idString(meta.CausationID),
		ActorID:       meta.ActorID,
	}
	if !meta.OccurredAt.IsZero() {
		ce.Time = meta.OccurredAt.UTC()
	}
	switch {
	case len(e.Data) == 0:
	case json.Valid(e.Data):
		ce.DataContentType, ce.Data = "application/json", e.Data
	default:
		ce.DataContentType, ce.DataBase64 = "application/octet-stream", base64.StdEncoding.EncodeToString(e.Data)
	}
	payload, err := json.Marshal(ce)
	if err != nil {
		return nil, fmt.Errorf("envelope event %s: %w", e.ID, err)
	}

	msg := message.NewMessage(ce.ID, payload)
	for k, v := range map[string]string{
		kafka.DefaultKeyMetadata: e.StreamID,
		HeaderContentType:        ContentType,
		HeaderEventID:            ce.ID,
		HeaderEventType:          e.Type,
		HeaderStream:             e.StreamID,
		HeaderStreamVersion:      strconv.FormatInt(e.Version, 10),
		HeaderPosition:           ce.Position,
		HeaderCorrelationID:      ce.CorrelationID,
		HeaderCausationID:        ce.CausationID,
		HeaderActorID:            ce.ActorID,
		HeaderMetadata:           string(e.Metadata),
	} {
		if v != "" { // absent audit fields are left out rather than sent empty
			msg.Metadata.Set(k, v)
		}
	}
	return msg, nil
}

// Decode parses a message value.
func Decode(value []byte) (CloudEvent, error) {
	var ce CloudEvent
	if err := json.Unmarshal(value, &ce); err != nil {
		return CloudEvent{}, fmt.Errorf("decode cloudevent: %w", err)
	}
	if ce.SpecVersion != SpecVersion {
		return CloudEvent{}, fmt.Errorf("decode cloudevent %s: specversion %q, want %q", ce.ID, ce.SpecVersion, SpecVersion)
	}
	return ce, nil
}

// RecordedEvent rebuilds the recorded event a message was made from; with
// the metadata header it is exact.
func RecordedEvent(msg *message.Message) (eventstore.RecordedEvent, error) {
	ce, err := Decode(msg.Payload)
	if err != nil {
		return eventstore.RecordedEvent{}, err
	}
	id, err := uuid.Parse(ce.ID)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode cloudevent id %q: %w", ce.ID, err)
	}
	pos, err := eventstore.ParsePosition(ce.Position)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode cloudevent %s: %w", ce.ID, err)
	}
	recordedAt, err := time.Parse(time.RFC3339Nano, ce.RecordedTime)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode cloudevent %s recordedtime: %w", ce.ID, err)
	}
	data := []byte(ce.Data)
	if ce.DataBase64 != "" {
		if data, err = base64.StdEncoding.DecodeString(ce.DataBase64); err != nil {
			return eventstore.RecordedEvent{}, fmt.Errorf("decode cloudevent %s data_base64: %w", ce.ID, err)
		}
	}
	var metadata []byte
	if m := msg.Metadata.Get(HeaderMetadata); m != "" {
		metadata = []byte(m)
	}
	return eventstore.RecordedEvent{
		ID:         id,
		StreamID:   ce.Subject,
		Version:    ce.StreamVersion,
		Position:   pos,
		Type:       ce.Type,
		Data:       data,
		Metadata:   metadata,
		RecordedAt: recordedAt,
	}, nil
}

// idString formats an id, leaving an unset one empty.
func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
