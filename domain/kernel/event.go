// Package kernel holds the few types every aggregate shares: events and their
// registry, the aggregate definition, stream naming and typed domain errors.
package kernel

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// Event is a fact an aggregate decided. Its type name is stable: it is what
// the event store records, so renaming one needs an upcaster.
type Event interface {
	EventType() string
}

// Upcaster turns the stored JSON of an old event type or shape into the
// current one. It returns the type name to decode as and the data to decode.
type Upcaster func(data json.RawMessage) (eventType string, upcasted json.RawMessage, err error)

// Registry maps event type names to Go types for decoding.
type Registry struct {
	mu        sync.RWMutex
	types     map[string]reflect.Type
	upcasters map[string]Upcaster
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]reflect.Type{}, upcasters: map[string]Upcaster{}}
}

// Register adds event types, given as zero values (e.g. UserRegistered{}).
// Registering a name twice with a different Go type panics: that is a
// programming error that would corrupt decoding.
func (r *Registry) Register(events ...Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		t := reflect.TypeOf(e)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		name := e.EventType()
		if old, ok := r.types[name]; ok && old != t {
			panic(fmt.Sprintf("kernel: event type %q registered as %v and %v", name, old, t))
		}
		r.types[name] = t
	}
}

// RegisterUpcaster installs an upcaster for events stored as eventType.
func (r *Registry) RegisterUpcaster(eventType string, up Upcaster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upcasters[eventType] = up
}

// Encode returns an event's type name and JSON.
func (r *Registry) Encode(e Event) (string, []byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	return e.EventType(), b, nil
}

// Decode parses stored event data into its registered Go type (a value, not
// a pointer), running upcasters first.
func (r *Registry) Decode(eventType string, data []byte) (Event, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for seen := 0; ; seen++ {
		up, ok := r.upcasters[eventType]
		if !ok {
			break
		}
		if seen > 16 {
			return nil, fmt.Errorf("decode %s: upcaster chain too long", eventType)
		}
		next, upcasted, err := up(data)
		if err != nil {
			return nil, fmt.Errorf("upcast %s: %w", eventType, err)
		}
		eventType, data = next, upcasted
	}
	t, ok := r.types[eventType]
	if !ok {
		return nil, fmt.Errorf("decode: %w: %q", ErrUnknownEventType, eventType)
	}
	v := reflect.New(t)
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return v.Elem().Interface().(Event), nil
}

// Known reports whether an event type (or an upcaster for it) is registered.
func (r *Registry) Known(eventType string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, t := r.types[eventType]
	_, u := r.upcasters[eventType]
	return t || u
}
