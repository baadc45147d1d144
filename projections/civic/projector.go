// Package civic projects the civic realm's events into the civic read
// models (readmodels/civic): accounts, role-based access and communities,
// one projector each, each owning its tables.
package civic

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/readmodels/civic"
)

// Projectors returns the civic projectors.
func Projectors() []projections.Projector {
	return []projections.Projector{Users(), Access(), Communities()}
}

// apply writes one event's effect.
type apply func(ctx context.Context, tx pgx.Tx, e projections.Event) error

// projector is a projector defined by what it does per event type.
type projector struct {
	name     string
	version  int
	appliers map[string]apply
}

var _ projections.Projector = projector{}

func newProjector(name string, version int, appliers ...func() (string, apply)) projector {
	p := projector{name: name, version: version, appliers: map[string]apply{}}
	for _, a := range appliers {
		eventType, f := a()
		p.appliers[eventType] = f
	}
	return p
}

func (p projector) Name() string                  { return p.name }
func (p projector) Version() int                  { return p.version }
func (p projector) Realm() string                 { return civic.Realm }
func (p projector) Handles(eventType string) bool { _, ok := p.appliers[eventType]; return ok }

func (p projector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	f, ok := p.appliers[e.Type]
	if !ok {
		return fmt.Errorf("%s: no applier for %s", p.name, e.Type)
	}
	return f(ctx, tx, e)
}

// on adapts a typed applier of event E; the registry decodes payloads as
// values of their registered type, so the assertion holds for E's name.
func on[E kernel.Event](f func(ctx context.Context, tx pgx.Tx, e E) error) func() (string, apply) {
	return func() (string, apply) {
		var zero E
		return zero.EventType(), func(ctx context.Context, tx pgx.Tx, e projections.Event) error {
			payload, ok := e.Payload.(E)
			if !ok {
				return fmt.Errorf("event %s decoded as %T", e.Type, e.Payload)
			}
			return f(ctx, tx, payload)
		}
	}
}

// exec runs statements in order, stopping at the first failure.
func exec(ctx context.Context, tx pgx.Tx, stmts ...stmt) error {
	for i, s := range stmts {
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	return nil
}

type stmt struct {
	sql  string
	args []any
}

func sql(query string, args ...any) stmt { return stmt{sql: query, args: args} }
