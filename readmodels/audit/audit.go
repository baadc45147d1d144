// Package audit is the query side of the action log every dialect shares:
// the `annals_audit` PostgreSQL schema its projector fills, the queries the
// audit endpoints and the undo and redo handlers read, and the history of a
// resource read back from the event store.
package audit

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres"
)

// versionTable keeps this schema's migration versions apart from others'.
const versionTable = "annals_audit_version"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the annals_audit schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("audit migrations: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, sub, versionTable); err != nil {
		return fmt.Errorf("audit read models: %w", err)
	}
	return nil
}
