// Package projectionstest helps test read models: it builds them live in a
// database of their own and dumps a schema's tables, so that a model
// rebuilt from the log can be compared with one built live, row for row.
package projectionstest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/readmodels/schema"
)

// BuildLive builds the read models of projectors in a new database the way
// a running runtime does — one event after the other, from the start of
// store's log — until they include until, and returns a pool on that
// database, which is dropped when the test ends.
func BuildLive(t testing.TB, store eventstore.Store, registry *kernel.Registry, until eventstore.Position, projectors ...projections.Projector) *pgxpool.Pool {
	t.Helper()
	ctx := t.Context()
	pool := pgtest.Pool(t, pgtest.New(t))
	rt, err := projections.New(projections.Config{
		Pool: pool, Store: store, Registry: registry, WaitTimeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("projectionstest: %v", err)
	}
	if err := rt.Register(projectors...); err != nil {
		t.Fatalf("projectionstest: %v", err)
	}
	if err := rt.Migrate(ctx); err != nil {
		t.Fatalf("projectionstest: %v", err)
	}
	realms := map[string]bool{}
	for _, p := range projectors {
		realms[p.Realm()] = true
		if s, ok := p.(projections.InSchema); ok {
			if err := s.Schema().Migrate(ctx, pool); err != nil {
				t.Fatalf("projectionstest: %v", err)
			}
		}
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("projectionstest: live build: %v", err)
		}
	})
	for realm := range realms {
		if err := rt.WaitFor(ctx, realm, until); err != nil {
			t.Fatalf("projectionstest: live build: %v", err)
		}
	}
	return pool
}

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Dump renders every table of a schema (but its migration versions) as a
// JSON array of rows, by table name. Rows are sorted by their JSON text, so
// that the dump does not depend on the physical order. A column filled
// from a sequence (serial) shows its rank in the table instead of its
// value: a sequence skips the values of rolled back transactions, so only
// the order it gives is part of a read model.
func Dump(ctx context.Context, q Querier, schemaName string) (map[string]string, error) {
	rows, err := q.Query(ctx, `
SELECT table_name FROM information_schema.tables
WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> $2
ORDER BY table_name`, schemaName, schema.VersionTable)
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", schemaName, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", schemaName, err)
	}
	out := make(map[string]string, len(tables))
	for _, table := range tables {
		dump, err := dumpTable(ctx, q, schemaName, table)
		if err != nil {
			return nil, err
		}
		out[table] = dump
	}
	return out, nil
}

// DumpFull is Dump for a comparison: it fails the test on an error, and on
// a schema without tables or with an empty table, which would compare
// nothing.
func DumpFull(t testing.TB, q Querier, schemaName string) map[string]string {
	t.Helper()
	d, err := Dump(t.Context(), q, schemaName)
	if err != nil {
		t.Fatalf("projectionstest: %v", err)
	}
	if len(d) == 0 {
		t.Fatalf("projectionstest: %s has no tables", schemaName)
	}
	for table, rows := range d {
		if rows == "[]" {
			t.Fatalf("projectionstest: %s.%s is empty: the comparison would be void", schemaName, table)
		}
	}
	return d
}

func dumpTable(ctx context.Context, q Querier, schemaName, table string) (string, error) {
	rows, err := q.Query(ctx, `
SELECT column_name FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2 AND column_default LIKE 'nextval(%'`, schemaName, table)
	if err != nil {
		return "", fmt.Errorf("list the sequenced columns of %s.%s: %w", schemaName, table, err)
	}
	sequenced, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("list the sequenced columns of %s.%s: %w", schemaName, table, err)
	}
	row := "to_jsonb(t)"
	for _, c := range sequenced {
		col := pgx.Identifier{c}.Sanitize()
		row = fmt.Sprintf("(%s - '%s' || jsonb_build_object('%s', rank() OVER (ORDER BY t.%s)))",
			row, strings.ReplaceAll(c, "'", "''"), strings.ReplaceAll(c, "'", "''"), col)
	}
	var out string
	err = q.QueryRow(ctx, fmt.Sprintf(`
SELECT coalesce(jsonb_agg(r ORDER BY r::text), '[]')::text FROM (SELECT %s AS r FROM %s t) s`,
		row, pgx.Identifier{schemaName, table}.Sanitize())).Scan(&out)
	if err != nil {
		return "", fmt.Errorf("dump %s.%s: %w", schemaName, table, err)
	}
	return out, nil
}
