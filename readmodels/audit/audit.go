// Package audit is the query side of the action log every dialect shares:
// the `annals_audit` PostgreSQL schema its projector fills, the queries the
// audit endpoints and the undo and redo handlers read, and the history of a
// resource read back from the event store.
package audit

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/readmodels/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the annals_audit schema, which the audit projectors of every
// realm fill: its tables are built and rebuilt as one.
var Schema = schema.Schema{Name: "annals_audit", Migrations: schema.Dir(migrationFiles, "migrations")}

// Migrate brings the annals_audit schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := Schema.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("audit read models: %w", err)
	}
	return nil
}
