package kernel

import "strings"

// Aggregate describes how one kind of aggregate folds its events into state.
// Decisions are plain functions of (state, command) in each domain package.
type Aggregate[S any] struct {
	// Kind names the stream category, e.g. "user".
	Kind string
	// Evolve applies one event to the state. It must be pure and total:
	// events are facts, so it never fails.
	Evolve func(state S, event Event) S
}

// Fold applies events in order to an initial state.
func (a Aggregate[S]) Fold(state S, events ...Event) S {
	for _, e := range events {
		state = a.Evolve(state, e)
	}
	return state
}

// StreamName is the event store stream of one aggregate instance within a
// realm (the dialect that owns it): "<realm>:<kind>-<id>". The part before
// the first '-' is the category, as EventStoreDB's projections expect.
func StreamName(realm, kind, id string) string {
	return realm + ":" + kind + "-" + id
}

// ParseStreamName splits a stream name made by StreamName. ok is false for
// names of another shape.
func ParseStreamName(stream string) (realm, kind, id string, ok bool) {
	realm, rest, found := strings.Cut(stream, ":")
	if !found {
		return "", "", "", false
	}
	kind, id, found = strings.Cut(rest, "-")
	if !found || realm == "" || kind == "" || id == "" {
		return "", "", "", false
	}
	return realm, kind, id, true
}
