// Package sartiq is the query side of the sartiq dialect: the `sartiq`
// PostgreSQL schema its projectors fill, and the queries its HTTP handlers
// answer from.
package sartiq

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres"
)

// Realm is the dialect whose events feed these read models.
const Realm = "sartiq"

// versionTable keeps this schema's migration versions apart from the other
// parts' (event store, projection runtime, other dialects).
const versionTable = "sartiq_readmodels_version"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the sartiq schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("sartiq read models: %w", err)
	}
	if err := postgres.Migrate(ctx, pool, migrations, versionTable); err != nil {
		return fmt.Errorf("sartiq read models: %w", err)
	}
	return nil
}
