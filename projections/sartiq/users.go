package sartiq

import (
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/projections"
)

var users = projections.Into("users",
	"id", "email", "full_name", "is_active", "is_superuser", "rework_available", "created_at", "updated_at")

// Users projects accounts into sartiq.users. A deleted account's row goes,
// which also hides it from member lists.
func Users() projections.Projector {
	return define("sartiq.users", 1,
		projections.On(func(e identity.UserRegistered) []projections.Write {
			return []projections.Write{
				users.Row(uuidOf(e.UserID), e.Email, e.FullName, e.Active, e.Superuser, e.ReworkAvailable, e.At, e.At),
			}
		}),
		projections.On(func(e identity.UserUpdated) []projections.Write {
			c := e.Changes
			return []projections.Write{projections.Exec(`
UPDATE users SET
    email = COALESCE($2, email),
    full_name = CASE WHEN $3 THEN NULL ELSE COALESCE($4, full_name) END,
    is_active = COALESCE($5, is_active),
    is_superuser = COALESCE($6, is_superuser),
    rework_available = COALESCE($7, rework_available),
    updated_at = $8
WHERE id = $1`,
				e.UserID, c.Email, c.ClearFullName, c.FullName, c.Active, c.Superuser, c.ReworkAvailable, e.At)}
		}),
		projections.On(func(e identity.UserPasswordChanged) []projections.Write {
			return []projections.Write{projections.Exec(`UPDATE users SET updated_at = $2 WHERE id = $1`, e.UserID, e.At)}
		}),
		projections.On(func(e identity.UserDeleted) []projections.Write {
			return []projections.Write{projections.Exec(`DELETE FROM users WHERE id = $1`, e.UserID)}
		}),
		projections.On(func(e identity.UserRestored) []projections.Write {
			return []projections.Write{
				users.Row(uuidOf(e.UserID), e.Email, e.FullName, e.Active, e.Superuser, e.ReworkAvailable, e.CreatedAt, e.At),
			}
		}),
	)
}
