package sartiq

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/projections"
)

// Users projects accounts into sartiq.users. A deleted account's row goes,
// which also hides it from member lists.
func Users() projections.Projector {
	return newProjector("sartiq.users", 1,
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserRegistered) error {
			return exec(ctx, tx, "insert user", `
INSERT INTO sartiq.users (id, email, full_name, is_active, is_superuser, rework_available, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (id) DO NOTHING`,
				e.UserID, e.Email, e.FullName, e.Active, e.Superuser, e.ReworkAvailable, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserUpdated) error {
			c := e.Changes
			return exec(ctx, tx, "update user", `
UPDATE sartiq.users SET
    email = COALESCE($2, email),
    full_name = CASE WHEN $3 THEN NULL ELSE COALESCE($4, full_name) END,
    is_active = COALESCE($5, is_active),
    is_superuser = COALESCE($6, is_superuser),
    rework_available = COALESCE($7, rework_available),
    updated_at = $8
WHERE id = $1`,
				e.UserID, c.Email, c.ClearFullName, c.FullName, c.Active, c.Superuser, c.ReworkAvailable, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserPasswordChanged) error {
			return exec(ctx, tx, "touch user", `UPDATE sartiq.users SET updated_at = $2 WHERE id = $1`, e.UserID, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserDeleted) error {
			return exec(ctx, tx, "delete user", `DELETE FROM sartiq.users WHERE id = $1`, e.UserID)
		}),
	)
}
