// Package civic is the query side of the civic dialect: its PostgreSQL
// schema (embedded migrations) and the queries that return what its
// endpoints show, shaped as the civic API names fields.
package civic

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/readmodels/schema"
)

// Realm is the realm of the civic dialect's events and read models.
const Realm = "civic"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the civic schema: its tables are built and rebuilt as one.
var Schema = schema.Schema{Name: "civic", Migrations: schema.Dir(migrationFiles, "migrations")}

// Migrate brings the civic schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := Schema.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("civic read models: %w", err)
	}
	return nil
}

// Queries reads the civic read models.
type Queries struct {
	pool *pgxpool.Pool
}

// NewQueries returns the queries over a pool holding the civic schema.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// one runs a query expected to return one row, scanned by scan; no row
// gives notFound.
func one[T any](ctx context.Context, q *Queries, scan pgx.RowToFunc[T], notFound error, sql string, args ...any) (T, error) {
	rows, _ := q.pool.Query(ctx, sql, args...) // errors surface through Collect
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, notFound
	}
	if err != nil {
		return v, fmt.Errorf("civic query: %w", err)
	}
	return v, nil
}

// all runs a query and scans every row; no rows give an empty, non-nil
// slice, which encodes as [].
func all[T any](ctx context.Context, q *Queries, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, _ := q.pool.Query(ctx, sql, args...) // errors surface through Collect
	v, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("civic query: %w", err)
	}
	if v == nil {
		v = []T{}
	}
	return v, nil
}

// exists tells whether a query finds a row; it backs "unknown id → 404"
// for listings under a parent.
func (q *Queries) exists(ctx context.Context, notFound error, sql string, args ...any) error {
	var found bool
	if err := q.pool.QueryRow(ctx, "SELECT EXISTS ("+sql+")", args...).Scan(&found); err != nil {
		return fmt.Errorf("civic query: %w", err)
	}
	if !found {
		return notFound
	}
	return nil
}

// inUTC shows a nullable stored instant in UTC, as the other timestamps
// (pgx scans instants in the local zone, so scans call .UTC()).
func inUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// likePattern matches s anywhere, with LIKE's wildcards in s taken
// literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
