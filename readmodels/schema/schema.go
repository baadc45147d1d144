// Package schema holds what a read model's PostgreSQL schema is made of —
// its name and its migrations — and applies those migrations under any
// schema name. Migrations and projectors name their tables unqualified, so
// the same read model can be built into a shadow schema beside the live one
// and take its place by a rename (see projections.Runtime.Rebuild).
package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// VersionTable records a schema's migrations. It lives inside the schema,
// so that the version moves with the tables when a rebuilt schema is
// renamed into place.
const VersionTable = "annals_schema_version"

// MaxNameLength leaves room in PostgreSQL's 63-byte identifiers for the
// suffix of a shadow schema.
const MaxNameLength = 40

// maxIdentifier is the longest identifier PostgreSQL keeps whole.
const maxIdentifier = 63

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Schema is a read model's PostgreSQL schema.
type Schema struct {
	// Name is the live schema's name, which queries qualify tables with.
	Name string
	// Migrations are goose SQL migrations that name tables unqualified and
	// create no schema: they run with the search path set to the target.
	Migrations fs.FS
}

// Validate reports a schema that cannot be migrated.
func (s Schema) Validate() error {
	var errs []error
	if err := ValidateName(s.Name); err != nil {
		errs = append(errs, err)
	}
	if s.Migrations == nil {
		errs = append(errs, errors.New("migrations are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("read-model schema %q: %w", s.Name, err)
	}
	return nil
}

// ValidateName accepts lowercase identifiers that need no quoting and leave
// room for a shadow's suffix.
func ValidateName(name string) error {
	if !validName.MatchString(name) || len(name) > MaxNameLength {
		return fmt.Errorf("schema name %q is not a lowercase identifier of at most %d bytes", name, MaxNameLength)
	}
	return nil
}

// Dir returns the migrations in directory dir of an embedded file system,
// which is fixed at build time: a wrong dir is a programming error.
func Dir(files fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(fmt.Sprintf("schema: migrations directory %q: %v", dir, err))
	}
	return sub
}

// Migrate brings the live schema up to date, creating it if missing.
func (s Schema) Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return s.MigrateAs(ctx, pool, s.Name)
}

// MigrateAs creates the schema target if missing and applies the migrations
// inside it.
func (s Schema) MigrateAs(ctx context.Context, pool *pgxpool.Pool, target string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if !validName.MatchString(target) || len(target) > maxIdentifier {
		return fmt.Errorf("migrate %s: target %q is not a lowercase identifier", s.Name, target)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{target}.Sanitize()); err != nil {
		return fmt.Errorf("migrate %s: create schema %s: %w", s.Name, target, err)
	}
	// Connections of their own, so that the search path does not leak into
	// the pool's.
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["search_path"] = target
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := up(ctx, db, s.Migrations); err != nil {
		return fmt.Errorf("migrate %s into %s: %w", s.Name, target, err)
	}
	return nil
}

func up(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	store, err := database.NewStore(database.DialectPostgres, VersionTable)
	if err != nil {
		return err
	}
	// Several instances may start at once; they take turns.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider("", db, migrations, goose.WithStore(store), goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	_, err = provider.Up(ctx)
	return err
}
