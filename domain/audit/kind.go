// Package audit is what the action log knows of the domain: which streams
// make up which resources and how their states are shown without secrets
// (the catalog), which events are security-sensitive, how a refused command
// is recorded, and the rules of undo and redo. It is pure: the projector
// that writes the log and the handlers that undo and redo use it.
package audit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Role is what a stream kind is to the log.
type Role string

// Roles of stream kinds.
const (
	// Resource: each stream is a resource of its own (a user, an
	// organization), shown with snapshots and restored by undo.
	Resource Role = "resource"
	// Facet: each stream is part of another resource of the same id (the
	// roles a user holds), shown inside that resource's snapshots.
	Facet Role = "facet"
	// Attached: each stream concerns another resource (a user's sessions);
	// its actions are that resource's, without snapshots.
	Attached Role = "attached"
	// Internal: bookkeeping of other actions (email claims, refusals); it
	// belongs to the action that wrote it and is never shown on its own.
	Internal Role = "internal"
	// Other: a kind the catalog does not know. Its actions are logged with
	// the stream as their resource, and cannot be undone.
	Other Role = "other"
)

// Child is an entity inside a resource that an event concerns alone (a
// member of an organization): an action made only of such events is shown
// as an action on the child, with the resource as its parent.
type Child struct {
	Kind string
	ID   string
}

// Kind is how the log folds, shows and restores one stream kind, with the
// state's type erased so that one catalog holds every aggregate.
type Kind interface {
	// Name is the stream category.
	Name() string
	Role() Role
	// Resource is the kind of resource the log names for the stream.
	Resource() string
	// Facet is the key a facet's view is shown under in its resource's
	// snapshot.
	Facet() string
	// Evolve folds one event; a nil state is the empty one.
	Evolve(state any, e kernel.Event) any
	// Encode stores a state without its secrets; Decode reads it back.
	Encode(state any) ([]byte, error)
	Decode(data []byte) (any, error)
	// View is what snapshots show of a state: nil when the resource does
	// not exist. It never holds secrets.
	View(state any) any
	// Owner is the id of the resource a stream is about: its own id, or
	// for attached streams the one its state names.
	Owner(state any, streamID string) string
	// Child tells which child entity an event concerns alone, if any.
	Child(e kernel.Event) (Child, bool)
	// Restorable reports whether Restore can undo this kind's changes.
	Restorable() bool
	// Restore decides the events that take current to target, an earlier
	// state of the same stream.
	Restore(current, target any, at time.Time) ([]kernel.Event, error)
}

// Stream describes one aggregate's streams to the log. The zero values of
// the optional functions mean: nothing to show, nothing secret, cannot be
// undone, no children.
type Stream[S any] struct {
	Aggregate kernel.Aggregate[S]
	// Of is the kind of resource a facet or attached stream belongs to;
	// empty for a resource of its own.
	Of string
	// FacetKey makes the stream a facet shown under this key.
	FacetKey string
	// OwnerOf makes the stream attached to the resource it names.
	OwnerOf func(S) string
	// Show is Kind.View; Redact clears a state's secrets before it is
	// stored; Undo is the aggregate's Restore decision; ChildOf is
	// Kind.Child.
	Show    func(S) any
	Redact  func(S) S
	Undo    func(current, target S, at time.Time) ([]kernel.Event, error)
	ChildOf func(kernel.Event) (Child, bool)
}

// Of erases a stream description's state type.
func Of[S any](s Stream[S]) Kind { return kind[S]{s} }

type kind[S any] struct{ s Stream[S] }

var _ Kind = kind[int]{}

func (k kind[S]) Name() string { return k.s.Aggregate.Kind }

func (k kind[S]) Role() Role {
	switch {
	case k.s.FacetKey != "":
		return Facet
	case k.s.OwnerOf != nil:
		return Attached
	default:
		return Resource
	}
}

func (k kind[S]) Resource() string {
	if k.s.Of != "" {
		return k.s.Of
	}
	return k.Name()
}

func (k kind[S]) Facet() string { return k.s.FacetKey }

func (k kind[S]) Evolve(state any, e kernel.Event) any {
	return k.s.Aggregate.Evolve(k.state(state), e)
}

func (k kind[S]) Encode(state any) ([]byte, error) {
	s := k.state(state)
	if k.s.Redact != nil {
		s = k.s.Redact(s)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode %s state: %w", k.Name(), err)
	}
	return b, nil
}

func (k kind[S]) Decode(data []byte) (any, error) {
	var s S
	if len(data) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode %s state: %w", k.Name(), err)
	}
	return s, nil
}

func (k kind[S]) View(state any) any {
	if k.s.Show == nil {
		return nil
	}
	return k.s.Show(k.state(state))
}

func (k kind[S]) Owner(state any, streamID string) string {
	if k.s.OwnerOf == nil {
		return streamID
	}
	return k.s.OwnerOf(k.state(state))
}

func (k kind[S]) Child(e kernel.Event) (Child, bool) {
	if k.s.ChildOf == nil {
		return Child{}, false
	}
	return k.s.ChildOf(e)
}

func (k kind[S]) Restorable() bool { return k.s.Undo != nil }

func (k kind[S]) Restore(current, target any, at time.Time) ([]kernel.Event, error) {
	if k.s.Undo == nil {
		return nil, ErrNotUndoable
	}
	return k.s.Undo(k.state(current), k.state(target), at)
}

// state reads an erased state; nil is the empty one.
func (kind[S]) state(v any) S {
	s, _ := v.(S)
	return s
}
