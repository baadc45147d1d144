// Package sartiq projects the sartiq realm's user and organization events
// into the `sartiq` read-model schema.
package sartiq

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/projections"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// Projectors returns the projectors of every sartiq read model.
func Projectors() []projections.Projector {
	return []projections.Projector{Users(), Organizations()}
}

// projector routes each event type it handles to one statement runner. The
// runtime applies an event at most once (its checkpoint guard); the
// statements are written to be harmless if one were applied again anyway.
type projector struct {
	name    string
	version int
	routes  map[string]apply
}

var _ projections.Projector = (*projector)(nil)

// apply writes one decoded event's effect.
type apply func(ctx context.Context, tx pgx.Tx, e projections.Event) error

// route binds one event type to what it does to the tables.
type route struct {
	eventType string
	apply     apply
}

// on routes events of type E to f.
func on[E kernel.Event](f func(ctx context.Context, tx pgx.Tx, e E) error) route {
	var zero E
	return route{eventType: zero.EventType(), apply: func(ctx context.Context, tx pgx.Tx, e projections.Event) error {
		payload, ok := e.Payload.(E)
		if !ok {
			return fmt.Errorf("%s carries %T, want %T", e.Type, e.Payload, zero)
		}
		return f(ctx, tx, payload)
	}}
}

func newProjector(name string, version int, routes ...route) *projector {
	p := &projector{name: name, version: version, routes: map[string]apply{}}
	for _, r := range routes {
		p.routes[r.eventType] = r.apply
	}
	return p
}

func (p *projector) Name() string                  { return p.name }
func (p *projector) Version() int                  { return p.version }
func (p *projector) Realm() string                 { return readmodel.Realm }
func (p *projector) Handles(eventType string) bool { _, ok := p.routes[eventType]; return ok }

func (p *projector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	apply, ok := p.routes[e.Type]
	if !ok {
		return fmt.Errorf("%s does not handle %s", p.name, e.Type)
	}
	return apply(ctx, tx, e)
}

// exec runs one statement, naming it in the error.
func exec(ctx context.Context, tx pgx.Tx, what, sql string, args ...any) error {
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
