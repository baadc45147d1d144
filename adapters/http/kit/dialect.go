// Package kit is what every dialect shares at the HTTP edge: the Dialect
// contract the server mounts, the dependencies a dialect is built from, and
// dialect-neutral request helpers.
package kit

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/mail"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/projections"
)

// Dialect is one backend served by Annals: its routes, its read models and
// what it needs at start.
type Dialect interface {
	// Name is the realm of its events and its path prefix under `annals serve`.
	Name() string
	// Handler serves the seed's paths rooted at "/" (e.g. "/api/v1/users/").
	Handler() http.Handler
	// Projectors build the dialect's read models.
	Projectors() []projections.Projector
	// Migrate brings the dialect's read-model schema up to date.
	Migrate(ctx context.Context) error
	// Bootstrap runs once at start, after migrations and before serving:
	// it creates the configured superuser if missing.
	Bootstrap(ctx context.Context) error
}

// ErrorWriter is implemented by dialects that word the server's own
// refusals (oversized or unreadable body, a handler's panic) in their error
// format; other dialects get {"error": "..."}.
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, status int, message string)
}

// Admin is the superuser created in every realm at start (ANNALS_ADMIN_*).
type Admin struct {
	Email    string
	Password string
}

// Deps are what a dialect is built from.
type Deps struct {
	Executor  *commands.Executor
	Pool      *pgxpool.Pool // read models
	Waiter    projections.Waiter
	Tokens    *auth.Tokens
	Passwords auth.Passwords
	Mail      mail.Sender
	Logger    *slog.Logger
	Admin     Admin
	// PublicURL prefixes links in mails (password reset), e.g. "http://localhost:8080/civic".
	PublicURL string
}
