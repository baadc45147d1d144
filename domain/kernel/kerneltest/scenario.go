// Package kerneltest runs given-events / when-command / then-events
// scenarios against pure domain code.
package kerneltest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/annals-dev/annals/domain/kernel"
)

// Scenario is a state folded from past events, waiting for a command.
type Scenario[S any] struct {
	state S
}

// Given folds past events into the aggregate's state.
func Given[S any](agg kernel.Aggregate[S], events ...kernel.Event) Scenario[S] {
	var zero S
	return Scenario[S]{state: agg.Fold(zero, events...)}
}

// Outcome is what a command decided.
type Outcome struct {
	events []kernel.Event
	err    error
}

// When runs a decision on the folded state.
func (s Scenario[S]) When(decide func(S) ([]kernel.Event, error)) Outcome {
	events, err := decide(s.state)
	return Outcome{events: events, err: err}
}

// Then asserts the decision succeeded with exactly these events.
func (o Outcome) Then(t testing.TB, want ...kernel.Event) {
	t.Helper()
	if o.err != nil {
		t.Fatalf("decision failed: %v", o.err)
	}
	if len(want) == 0 && len(o.events) == 0 {
		return
	}
	if !reflect.DeepEqual(o.events, want) {
		t.Fatalf("events:\n got  %#v\n want %#v", o.events, want)
	}
}

// ThenError asserts the decision failed with err (errors.Is) and decided
// nothing.
func (o Outcome) ThenError(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(o.err, err) {
		t.Fatalf("error: got %v, want %v", o.err, err)
	}
	if len(o.events) != 0 {
		t.Fatalf("a failed decision produced events: %#v", o.events)
	}
}
