package civic

import (
	"time"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/projections"
)

var users = projections.Into("users", "id", "name", "email", "active", "created_at", "updated_at")

// Users projects accounts and their sign-in state into civic.users.
func Users() projections.Projector {
	return define("civic.users", 1,
		projections.On(func(e identity.UserRegistered) []projections.Write {
			return writes(users.Row(e.UserID, deref(e.FullName), e.Email, e.Active, e.At, e.At))
		}),
		projections.On(func(e identity.UserUpdated) []projections.Write {
			c := e.Changes
			name := c.FullName
			if c.ClearFullName {
				name = new(string)
			}
			return writes(projections.Exec(`
UPDATE users SET name = coalesce($2, name), email = coalesce($3, email), active = coalesce($4, active), updated_at = $5
WHERE id = $1`, e.UserID, name, c.Email, c.Active, e.At))
		}),
		projections.On(func(e identity.UserPasswordChanged) []projections.Write {
			return writes(projections.Exec(`UPDATE users SET updated_at = $2 WHERE id = $1`, e.UserID, e.At))
		}),
		projections.On(func(e identity.UserDeleted) []projections.Write {
			return writes(projections.Exec(`DELETE FROM users WHERE id = $1`, e.UserID))
		}),
		projections.On(func(e identity.UserRestored) []projections.Write {
			return writes(projections.Exec(`
INSERT INTO users (id, name, email, active, last_login, failed_login_attempts, locked_until, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				e.UserID, deref(e.FullName), e.Email, e.Active, nullTime(e.LastLogin), e.FailedLogins, nullTime(e.LockedUntil), e.CreatedAt, e.At))
		}),
		projections.On(func(e identity.LoginSucceeded) []projections.Write {
			return writes(projections.Exec(`
UPDATE users SET last_login = $2, failed_login_attempts = 0, locked_until = NULL WHERE id = $1`, e.UserID, e.At))
		}),
		projections.On(func(e identity.LoginFailed) []projections.Write {
			return writes(projections.Exec(`
UPDATE users SET failed_login_attempts = $2, locked_until = $3 WHERE id = $1`, e.UserID, e.Failures, nullTime(e.LockedUntil)))
		}),
		projections.On(func(e identity.LockoutCleared) []projections.Write {
			return writes(projections.Exec(`
UPDATE users SET failed_login_attempts = 0, locked_until = NULL WHERE id = $1`, e.UserID))
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
