package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
)

// ErrResourceNotFound: no resource of that kind and id ever existed.
var ErrResourceNotFound = kernel.NotFound("resource_not_found", "Resource not found")

// AsOf bounds a history: events up to a time (by when their command ran),
// or up to a version of the resource's own stream. The zero AsOf is now.
type AsOf struct {
	Time    time.Time
	Version *int64
}

// History is a resource's events with their metadata, and its state as
// of the last of them. Events show what they changed rather than their
// data, which may hold secrets.
type History struct {
	ResourceKind string          `json:"resourceKind"`
	ResourceID   string          `json:"resourceId"`
	Version      int64           `json:"version"`
	State        json.RawMessage `json:"state"`
	Events       []HistoryEvent  `json:"events"`
}

// HistoryEvent is one event of a resource.
type HistoryEvent struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Stream        string          `json:"stream"`
	Version       int64           `json:"version"`
	Position      string          `json:"position"`
	OccurredAt    time.Time       `json:"occurredAt"`
	CommandID     string          `json:"commandId"`
	ActionLabel   string          `json:"actionLabel"`
	ActorUserID   *string         `json:"actorUserId"`
	CorrelationID string          `json:"correlationId"`
	CausationID   string          `json:"causationId"`
	Context       json.RawMessage `json:"context"`
	Changes       json.RawMessage `json:"changes"`
}

// Histories reads resources' histories from the event store, folding them
// with the catalog, so that time travel sees exactly what was decided.
type Histories struct {
	store    eventstore.Store
	registry *kernel.Registry
	catalog  audit.Catalog
}

// NewHistories returns the history reader of a store whose events the
// registry decodes.
func NewHistories(store eventstore.Store, registry *kernel.Registry) *Histories {
	return &Histories{store: store, registry: registry, catalog: audit.Domain}
}

// stamped is an event of one of a resource's streams.
type stamped struct {
	kind audit.Kind
	eventstore.RecordedEvent
}

// Of returns the history of a resource of a realm up to asOf.
func (h *Histories) Of(ctx context.Context, realm, kind, id string, asOf AsOf) (History, error) {
	kinds := h.catalog.Streams(kind)
	if len(kinds) == 0 {
		return History{}, ErrResourceNotFound
	}
	var all []stamped
	for _, k := range kinds {
		recorded, err := h.store.ReadStream(ctx, kernel.StreamName(realm, k.Name(), id), 0, 0)
		if err != nil {
			return History{}, fmt.Errorf("history of %s %s: %w", kind, id, err)
		}
		for _, r := range recorded {
			all = append(all, stamped{kind: k, RecordedEvent: r})
		}
	}
	if len(all) == 0 {
		return History{}, ErrResourceNotFound
	}
	slices.SortFunc(all, func(a, b stamped) int {
		switch {
		case a.Position.Less(b.Position):
			return -1
		case b.Position.Less(a.Position):
			return 1
		default:
			return 0
		}
	})
	f := folding{own: kinds[0], facets: kinds[1:], states: map[string]any{}}
	out := History{ResourceKind: kind, ResourceID: id, Version: -1, Events: []HistoryEvent{}}
	before, err := f.snapshot()
	if err != nil {
		return History{}, err
	}
	for _, e := range all {
		meta, err := eventstore.DecodeMetadata(e.Metadata)
		if err != nil {
			return History{}, err
		}
		if asOf.past(e, meta, f.own) {
			break
		}
		payload, err := h.registry.Decode(e.Type, e.Data)
		if err != nil {
			return History{}, fmt.Errorf("history of %s %s: %w", kind, id, err)
		}
		f.states[e.kind.Name()] = e.kind.Evolve(f.states[e.kind.Name()], payload)
		after, err := f.snapshot()
		if err != nil {
			return History{}, err
		}
		event, err := historyEvent(e, meta, before, after)
		if err != nil {
			return History{}, err
		}
		out.Events = append(out.Events, event)
		if e.kind.Name() == f.own.Name() {
			out.Version = e.Version
		}
		before = after
	}
	out.State = before
	return out, nil
}

// past reports whether an event comes after the bound.
func (a AsOf) past(e stamped, meta eventstore.Metadata, own audit.Kind) bool {
	switch {
	case !a.Time.IsZero():
		return meta.OccurredAt.After(a.Time)
	case a.Version != nil:
		// Facet events after the bound's own event are past it too, which
		// the first own event past it shows; those before it are not.
		return e.kind.Name() == own.Name() && e.Version > *a.Version
	default:
		return false
	}
}

// folding is the state of each of a resource's streams so far, by kind.
type folding struct {
	own    audit.Kind
	facets []audit.Kind
	states map[string]any
}

// snapshot composes the resource's snapshot from the streams folded so far.
func (f folding) snapshot() (json.RawMessage, error) {
	own, err := json.Marshal(f.own.View(f.states[f.own.Name()]))
	if err != nil {
		return nil, fmt.Errorf("history: encode view: %w", err)
	}
	facets := map[string]json.RawMessage{}
	for _, k := range f.facets {
		state, folded := f.states[k.Name()]
		if !folded {
			continue
		}
		if facets[k.Facet()], err = json.Marshal(k.View(state)); err != nil {
			return nil, fmt.Errorf("history: encode view: %w", err)
		}
	}
	_, folded := f.states[f.own.Name()]
	return audit.Snapshot(own, folded, facets)
}

func historyEvent(e stamped, meta eventstore.Metadata, before, after json.RawMessage) (HistoryEvent, error) {
	out := HistoryEvent{
		ID: e.ID.String(), Type: e.Type, Stream: e.kind.Name(), Version: e.Version, Position: e.Position.String(),
		OccurredAt: meta.OccurredAt.UTC(), CommandID: meta.CommandID.String(), ActionLabel: meta.Command,
		CorrelationID: meta.CorrelationID.String(), CausationID: meta.CausationID.String(),
	}
	if meta.ActorID != "" {
		out.ActorUserID = &meta.ActorID
	}
	var err error
	if out.Context, err = ContextOf(meta.Request); err != nil {
		return out, err
	}
	changes, err := audit.Changes(before, after)
	if err != nil {
		return out, err
	}
	if changes != nil {
		if out.Changes, err = json.Marshal(changes); err != nil {
			return out, fmt.Errorf("history: encode changes: %w", err)
		}
	}
	return out, nil
}
