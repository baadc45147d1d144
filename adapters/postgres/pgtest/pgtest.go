// Package pgtest gives each test package a PostgreSQL database of its own,
// created on first use and dropped when the package's tests end.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultServerURL is used when ANNALS_DATABASE_URL is not set; `make test`
// always sets it after finding or starting a server.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the PostgreSQL server tests run against.
func ServerURL() string {
	if u := os.Getenv("ANNALS_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

// Database is a throwaway database.
type Database struct {
	Name string
	URL  string
}

// Create makes a fresh database named after prefix and returns it; Drop
// removes it. Use it from TestMain, where testing.TB is not available.
func Create(ctx context.Context, prefix string) (*Database, error) {
	name := fmt.Sprintf("annals_test_%s_%s", sanitize(prefix), strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return nil, fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create test database %s: %w", name, err)
	}
	u, err := url.Parse(ServerURL())
	if err != nil {
		return nil, fmt.Errorf("parse server url: %w", err)
	}
	u.Path = "/" + name
	return &Database{Name: name, URL: u.String()}, nil
}

// Drop removes the database, closing any connections still open to it.
func (d *Database) Drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop test database %s: %w", d.Name, err)
	}
	return nil
}

// New returns a fresh database for one test and drops it when the test ends.
func New(t testing.TB) *Database {
	t.Helper()
	ctx := context.Background()
	db, err := Create(ctx, t.Name())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Drop(context.Background()); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return db
}

// Pool opens a pgx pool on the database, closed when the test ends.
func Pool(t testing.TB, db *Database) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), db.URL)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}
