// Package sartiq is the query side of the sartiq dialect: the `sartiq`
// PostgreSQL schema its projectors fill, and the queries its HTTP handlers
// answer from.
package sartiq

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/readmodels/schema"
)

// Realm is the dialect whose events feed these read models.
const Realm = "sartiq"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the sartiq schema: its tables are built and rebuilt as one.
var Schema = schema.Schema{Name: "sartiq", Migrations: schema.Dir(migrationFiles, "migrations")}

// Migrate brings the sartiq schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := Schema.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("sartiq read models: %w", err)
	}
	return nil
}
