package civic

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/projections"
)

// Users projects accounts and their sign-in state into civic.users.
func Users() projections.Projector {
	return newProjector("civic.users", 1,
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserRegistered) error {
			return exec(ctx, tx, sql(`
INSERT INTO civic.users (id, name, email, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
				e.UserID, deref(e.FullName), e.Email, e.Active, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserUpdated) error {
			c := e.Changes
			name := c.FullName
			if c.ClearFullName {
				name = new(string)
			}
			return exec(ctx, tx, sql(`
UPDATE civic.users SET name = coalesce($2, name), email = coalesce($3, email), active = coalesce($4, active), updated_at = $5
WHERE id = $1`, e.UserID, name, c.Email, c.Active, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserPasswordChanged) error {
			return exec(ctx, tx, sql(`UPDATE civic.users SET updated_at = $2 WHERE id = $1`, e.UserID, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserDeleted) error {
			return exec(ctx, tx, sql(`DELETE FROM civic.users WHERE id = $1`, e.UserID))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.LoginSucceeded) error {
			return exec(ctx, tx, sql(`
UPDATE civic.users SET last_login = $2, failed_login_attempts = 0, locked_until = NULL WHERE id = $1`, e.UserID, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.LoginFailed) error {
			return exec(ctx, tx, sql(`
UPDATE civic.users SET failed_login_attempts = $2, locked_until = $3 WHERE id = $1`, e.UserID, e.Failures, nullTime(e.LockedUntil)))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.LockoutCleared) error {
			return exec(ctx, tx, sql(`
UPDATE civic.users SET failed_login_attempts = 0, locked_until = NULL WHERE id = $1`, e.UserID))
		}),
	)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullTime stores the zero time, which events use for "none", as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
