package envelope_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/envelope"
	"github.com/annals-dev/annals/eventstore"
)

func recorded(t *testing.T, data []byte, meta *eventstore.Metadata) eventstore.RecordedEvent {
	t.Helper()
	var rawMeta []byte
	if meta != nil {
		var err error
		if rawMeta, err = json.Marshal(meta); err != nil {
			t.Fatal(err)
		}
	}
	return eventstore.RecordedEvent{
		ID:         uuid.New(),
		StreamID:   "sartiq:user-42",
		Version:    7,
		Position:   eventstore.Position{Commit: 1 << 40, Prepare: 3},
		Type:       "sartiq.UserRegistered",
		Data:       data,
		Metadata:   rawMeta,
		RecordedAt: time.Date(2025, 3, 4, 5, 6, 7, 8000, time.FixedZone("x", 3600)),
	}
}

func TestNewMessageIsAStructuredCloudEventWithAuditHeaders(t *testing.T) {
	meta := eventstore.Metadata{
		Realm:         "sartiq",
		ActorID:       "user-1",
		Command:       "RegisterUser",
		CommandID:     uuid.New(),
		CorrelationID: uuid.New(),
		CausationID:   uuid.New(),
		OccurredAt:    time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC),
	}
	e := recorded(t, []byte(`{"email":"a@b.c"}`), &meta)

	msg, err := envelope.NewMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if msg.UUID != e.ID.String() {
		t.Errorf("uuid %s, want the event id %s", msg.UUID, e.ID)
	}
	wantHeaders := map[string]string{
		kafka.DefaultKeyMetadata:     "sartiq:user-42",
		envelope.HeaderContentType:   envelope.ContentType,
		envelope.HeaderEventID:       e.ID.String(),
		envelope.HeaderEventType:     "sartiq.UserRegistered",
		envelope.HeaderStream:        "sartiq:user-42",
		envelope.HeaderStreamVersion: "7",
		envelope.HeaderPosition:      "1099511627776/3",
		envelope.HeaderCorrelationID: meta.CorrelationID.String(),
		envelope.HeaderCausationID:   meta.CausationID.String(),
		envelope.HeaderActorID:       "user-1",
		envelope.HeaderMetadata:      string(e.Metadata),
	}
	if len(msg.Metadata) != len(wantHeaders) {
		t.Errorf("headers %v, want %v", msg.Metadata, wantHeaders)
	}
	for k, v := range wantHeaders {
		if got := msg.Metadata.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}

	// The attribute names are the spec's, checked on the raw JSON.
	var attrs map[string]any
	if err := json.Unmarshal(msg.Payload, &attrs); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"specversion":     "1.0",
		"id":              e.ID.String(),
		"source":          "annals/sartiq",
		"type":            "sartiq.UserRegistered",
		"subject":         "sartiq:user-42",
		"time":            "2025-03-04T05:06:00Z",
		"datacontenttype": "application/json",
		"streamversion":   float64(7),
		"position":        "1099511627776/3",
		"recordedtime":    "2025-03-04T04:06:07.000008Z",
		"realm":           "sartiq",
		"correlationid":   meta.CorrelationID.String(),
		"causationid":     meta.CausationID.String(),
		"actorid":         "user-1",
	} {
		if attrs[k] != v {
			t.Errorf("attribute %s = %v, want %v", k, attrs[k], v)
		}
	}
	if data, _ := json.Marshal(attrs["data"]); string(data) != `{"email":"a@b.c"}` {
		t.Errorf("data = %s", data)
	}

	back, err := envelope.RecordedEvent(msg)
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvent(t, back, e)
}

func TestEventsWithoutMetadataOrJSONDataStillTravel(t *testing.T) {
	for name, metadata := range map[string][]byte{"no metadata": nil, "damaged metadata": []byte(`{"actor_id":`)} {
		t.Run(name, func(t *testing.T) {
			e := recorded(t, []byte{0xff, 0x00, 'x'}, nil)
			e.Metadata = metadata
			msg, err := envelope.NewMessage(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{envelope.HeaderCorrelationID, envelope.HeaderCausationID, envelope.HeaderActorID} {
				if _, ok := msg.Metadata[h]; ok {
					t.Errorf("header %s set without readable metadata", h)
				}
			}
			if got := msg.Metadata.Get(envelope.HeaderMetadata); got != string(metadata) {
				t.Errorf("metadata header %q, want the stored bytes %q", got, metadata)
			}
			ce, err := envelope.Decode(msg.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if ce.Data != nil || ce.DataBase64 == "" || ce.DataContentType != "application/octet-stream" {
				t.Errorf("non-JSON data encoded as %+v", ce)
			}
			if !ce.Time.Equal(e.RecordedAt) {
				t.Errorf("time %s, want the recording time %s without an occurrence time", ce.Time, e.RecordedAt)
			}
			back, err := envelope.RecordedEvent(msg)
			if err != nil {
				t.Fatal(err)
			}
			assertSameEvent(t, back, e)
		})
	}
}

func TestDecodeRejectsOtherSpecVersions(t *testing.T) {
	for _, value := range []string{`{"specversion":"0.3","id":"x"}`, `not json`} {
		if _, err := envelope.Decode([]byte(value)); err == nil {
			t.Errorf("Decode(%s) accepted", value)
		}
	}
}

func assertSameEvent(t *testing.T, got, want eventstore.RecordedEvent) {
	t.Helper()
	if got.ID != want.ID || got.StreamID != want.StreamID || got.Version != want.Version ||
		got.Position != want.Position || got.Type != want.Type || !got.RecordedAt.Equal(want.RecordedAt) ||
		!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Metadata, want.Metadata) {
		t.Errorf("rebuilt event %+v, want %+v", got, want)
	}
}
