package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/readmodels/schema"
)

// shadowPrefix names the schema a rebuild fills: the live schema's name
// after it.
const shadowPrefix = "annals_rebuild_"

// unit is the projectors of one read-model schema: the runtime rebuilds
// them together, since their tables are swapped in together.
type unit struct {
	schema      schema.Schema
	projections []*projection
}

func (u *unit) shadow() string { return shadowPrefix + u.schema.Name }

// names are the unit's projector names, sorted.
func (u *unit) names() []string {
	out := make([]string, len(u.projections))
	for i, p := range u.projections {
		out[i] = p.Name()
	}
	slices.Sort(out)
	return out
}

// versions maps each projector of the unit to its version in this build.
func (u *unit) versions() map[string]int {
	out := make(map[string]int, len(u.projections))
	for _, p := range u.projections {
		out[p.Name()] = p.Version()
	}
	return out
}

// schemaOf returns the read-model schema p writes, if it has one.
func schemaOf(p Projector) (schema.Schema, bool) {
	s, ok := p.(InSchema)
	if !ok {
		return schema.Schema{}, false
	}
	return s.Schema(), true
}

// addToUnit files a registered projection under its schema. Called with
// r.mu held.
func (r *Runtime) addToUnit(p *projection) error {
	s, ok := schemaOf(p.Projector)
	if !ok {
		return nil
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("projections: projector %q: %w", p.Name(), err)
	}
	u, ok := r.units[s.Name]
	if !ok {
		u = &unit{schema: s}
		r.units[s.Name] = u
	}
	u.projections = append(u.projections, p)
	p.target = s.Name
	return nil
}

// Schemas returns the names of the read-model schemas the registered
// projectors write, sorted: what Rebuild accepts besides projector names.
func (r *Runtime) Schemas() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.units))
}

// unitNamed finds a schema by its name or by the name of one of its
// projectors.
func (r *Runtime) unitNamed(name string) (*unit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u, ok := r.units[name]; ok {
		return u, nil
	}
	p, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("projections: no read-model schema or projector named %q (schemas: %s)",
			name, strings.Join(slices.Sorted(maps.Keys(r.units)), ", "))
	}
	if p.target == "" {
		return nil, fmt.Errorf("projections: projector %q writes no read-model schema, so it cannot be rebuilt beside itself", name)
	}
	return r.units[p.target], nil
}

// beginIn starts a transaction whose unqualified table names resolve in
// schema target ("" keeps the session's search path), with settings as
// further SET LOCAL assignments, in the one round trip of BEGIN. Only the
// schema is searched (and pg_catalog, always), so that a table missing
// from it fails rather than resolving elsewhere.
func beginIn(ctx context.Context, pool *pgxpool.Pool, target string, settings ...string) (pgx.Tx, error) {
	if target == "" && len(settings) == 0 {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		return tx, nil
	}
	var q strings.Builder
	q.WriteString("BEGIN")
	if target != "" {
		q.WriteString("; SET LOCAL search_path TO " + pgx.Identifier{target}.Sanitize())
	}
	for _, s := range settings {
		q.WriteString("; SET LOCAL " + s)
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: q.String()})
	if err != nil {
		return nil, fmt.Errorf("begin in %s: %w", cmp.Or(target, "the default search path"), err)
	}
	if target == "" {
		return tx, nil
	}
	return schemaTx{Tx: tx, mark: "/* " + target + " */ "}, nil
}

// schemaTx is a transaction whose statements resolve unqualified names in
// one schema. The same text names other tables in another schema (two
// dialects' users, a live schema and its shadow), while the driver caches
// prepared statements — their parameter types, their plans — by text: each
// statement is marked with the schema, so that none prepared for one
// schema's tables runs against another's.
type schemaTx struct {
	pgx.Tx
	mark string
}

var _ pgx.Tx = schemaTx{}

func (t schemaTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, t.mark+sql, args...)
}

func (t schemaTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, t.mark+sql, args...)
}

func (t schemaTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, t.mark+sql, args...)
}

func (t schemaTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.Tx.Prepare(ctx, name, t.mark+sql)
}

// SendBatch sends a marked copy of b.
func (t schemaTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	marked := &pgx.Batch{}
	for _, q := range b.QueuedQueries {
		marked.Queue(t.mark+q.SQL, q.Arguments...).Fn = q.Fn
	}
	return t.Tx.SendBatch(ctx, marked)
}

// Begin starts a savepoint whose statements are marked too.
func (t schemaTx) Begin(ctx context.Context) (pgx.Tx, error) {
	sp, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return schemaTx{Tx: sp, mark: t.mark}, nil
}

// errIncomplete is returned (wrapped) when a schema is also written by
// projectors this process does not run.
var errIncomplete = errors.New("projections: the schema's projectors are not all registered here")

// checkComplete fails when the schema is also written by projectors this
// process does not run (another dialect's, say): a rebuild without them
// would drop their rows.
func (r *Runtime) checkComplete(ctx context.Context, u *unit) error {
	rows, err := r.cfg.Pool.Query(ctx, `
SELECT DISTINCT name FROM annals_projections.checkpoints
WHERE schema_name = $1 AND NOT (name = ANY($2)) ORDER BY name`, u.schema.Name, u.names())
	if err != nil {
		return fmt.Errorf("projections: check the projectors of %s: %w", u.schema.Name, err)
	}
	others, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("projections: check the projectors of %s: %w", u.schema.Name, err)
	}
	if len(others) > 0 {
		return fmt.Errorf("%w: %s is also written by %s; rebuild it where they are registered (or delete the checkpoints of retired projectors)",
			errIncomplete, u.schema.Name, strings.Join(others, ", "))
	}
	return nil
}
