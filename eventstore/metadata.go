package eventstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Metadata travels with every event and is the audit trail: who did what,
// through which command, in which realm, caused by what.
type Metadata struct {
	Realm         string    `json:"realm"`
	ActorID       string    `json:"actor_id,omitempty"`
	Command       string    `json:"command"`
	CommandID     uuid.UUID `json:"command_id"`
	CorrelationID uuid.UUID `json:"correlation_id"`
	CausationID   uuid.UUID `json:"causation_id"`
	OccurredAt    time.Time `json:"occurred_at"`
	// Request describes the HTTP request that issued the command, if any.
	Request *RequestInfo `json:"request,omitempty"`
}

// RequestInfo is the request context kept for audit entries.
type RequestInfo struct {
	RequestID  string `json:"request_id,omitempty"`
	ClientAddr string `json:"client_addr,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
}

// DecodeMetadata parses an event's metadata; empty input gives zero Metadata.
func DecodeMetadata(b []byte) (Metadata, error) {
	var m Metadata
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode event metadata: %w", err)
	}
	return m, nil
}
