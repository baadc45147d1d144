package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/readmodels/schema"
)

// InSchema is implemented by projectors whose tables live in a read-model
// schema. All the projectors of one schema form the unit the runtime
// rebuilds: the schema's tables are built afresh into a shadow schema and
// renamed into place together. Their SQL names tables unqualified; every
// transaction that applies an event sets the search path to the schema it
// writes, the live one or the shadow.
type InSchema interface {
	Projector
	Schema() schema.Schema
}

// Describer is implemented by projectors that say what an event writes
// rather than run it, so that a rebuild can send the statements of many
// events in one round trip and turn their inserts into COPY.
type Describer interface {
	Projector
	// Writes returns what the event writes, in order.
	Writes(e Event) ([]Write, error)
}

// Write is one change an event makes to a read model: a statement, or a
// new row (see Columns.Row).
type Write struct {
	sql  string
	args []any
	// into is set for a new row, whose values are args.
	into *Columns
	err  error
}

// Exec is a statement with its arguments.
func Exec(sql string, args ...any) Write { return Write{sql: sql, args: args} }

// Columns is a table and the columns a projector fills when it adds rows.
type Columns struct {
	table     string
	names     []string
	insertSQL string
}

// Into names the table and columns of the rows Row makes.
func Into(table string, columns ...string) *Columns {
	placeholders := make([]string, len(columns))
	quoted := make([]string, len(columns))
	for i, c := range columns {
		placeholders[i] = fmt.Sprintf("$%d", i+1)
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return &Columns{
		table: table,
		names: columns,
		insertSQL: fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING",
			pgx.Identifier{table}.Sanitize(), strings.Join(quoted, ", "), strings.Join(placeholders, ", ")),
	}
}

// Row is a new row with one value per column. A row whose key is taken is
// skipped, so that applying an event again changes nothing; a rebuild,
// which applies each event once into empty tables, copies rows in bulk.
func (c *Columns) Row(values ...any) Write {
	if len(values) != len(c.names) {
		return Write{err: fmt.Errorf("row of %s: %d values for %d columns", c.table, len(values), len(c.names))}
	}
	return Write{sql: c.insertSQL, args: values, into: c}
}

// exec runs the write on tx.
func (w Write) exec(ctx context.Context, tx pgx.Tx) error {
	if w.err != nil {
		return w.err
	}
	if _, err := tx.Exec(ctx, w.sql, w.args...); err != nil {
		return fmt.Errorf("%s: %w", w.describe(), err)
	}
	return nil
}

// describe names the write in errors: its table, or its statement's start.
func (w Write) describe() string {
	if w.into != nil {
		return "insert into " + w.into.table
	}
	stmt := strings.Join(strings.Fields(w.sql), " ")
	if len(stmt) > 60 {
		stmt = stmt[:60] + "…"
	}
	return stmt
}

// Route binds an event type to what it writes.
type Route struct {
	eventType string
	writes    func(Event) ([]Write, error)
}

// On routes events of type E to f. The registry decodes a payload as a
// value of its registered type, so the assertion holds for E's type name.
func On[E kernel.Event](f func(e E) []Write) Route {
	var zero E
	return Route{eventType: zero.EventType(), writes: func(e Event) ([]Write, error) {
		payload, ok := e.Payload.(E)
		if !ok {
			return nil, fmt.Errorf("%s carries %T, want %T", e.Type, e.Payload, zero)
		}
		return f(payload), nil
	}}
}

// Definition names a projector made of routes.
type Definition struct {
	Name    string
	Version int
	// Realm restricts the projector to one realm's events ("" = all).
	Realm  string
	Schema schema.Schema
}

// Defined is a projector made of routes: each event type it handles says
// what it writes into the definition's schema. Routes see payloads only,
// so a rebuild does not decode the metadata of the events it handles.
type Defined struct {
	def    Definition
	routes map[string]func(Event) ([]Write, error)
}

var (
	_ InSchema  = (*Defined)(nil)
	_ Describer = (*Defined)(nil)
)

// Define returns the projector of d and routes; an event type routed twice
// keeps its last route.
func Define(d Definition, routes ...Route) *Defined {
	p := &Defined{def: d, routes: make(map[string]func(Event) ([]Write, error), len(routes))}
	for _, r := range routes {
		p.routes[r.eventType] = r.writes
	}
	return p
}

func (p *Defined) Name() string                  { return p.def.Name }
func (p *Defined) Version() int                  { return p.def.Version }
func (p *Defined) Realm() string                 { return p.def.Realm }
func (p *Defined) Schema() schema.Schema         { return p.def.Schema }
func (p *Defined) Handles(eventType string) bool { _, ok := p.routes[eventType]; return ok }

// Writes says what e writes.
func (p *Defined) Writes(e Event) ([]Write, error) {
	writes, ok := p.routes[e.Type]
	if !ok {
		return nil, fmt.Errorf("%s does not handle %s", p.def.Name, e.Type)
	}
	return writes(e)
}

// Apply runs what e writes, in order.
func (p *Defined) Apply(ctx context.Context, tx pgx.Tx, e Event) error {
	writes, err := p.Writes(e)
	if err != nil {
		return err
	}
	for _, w := range writes {
		if err := w.exec(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}
