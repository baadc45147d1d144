package sartiq

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/projections"
)

// Organizations projects organizations and their memberships. An
// organization's events come in stream order, so its row exists before any
// of its memberships and none follows its deletion.
func Organizations() projections.Projector {
	return newProjector("sartiq.organizations", 1,
		on(func(ctx context.Context, tx pgx.Tx, e organization.Created) error {
			return exec(ctx, tx, "insert organization", `
INSERT INTO sartiq.organizations (id, name, avatar_image_url, description, rework_available, owner_id, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (id) DO NOTHING`,
				e.OrganizationID, e.Name, e.AvatarImage, e.Description, e.ReworkAvailable, e.OwnerID, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e organization.Updated) error {
			c := e.Changes
			return exec(ctx, tx, "update organization", `
UPDATE sartiq.organizations SET
    name = COALESCE($2, name),
    avatar_image_url = COALESCE($3, avatar_image_url),
    description = CASE WHEN $4 THEN NULL ELSE COALESCE($5, description) END,
    rework_available = COALESCE($6, rework_available),
    updated_at = $7
WHERE id = $1`,
				e.OrganizationID, c.Name, c.AvatarImage, c.ClearDescription, c.Description, c.ReworkAvailable, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e organization.OwnershipTransferred) error {
			return exec(ctx, tx, "transfer organization", `
UPDATE sartiq.organizations SET owner_id = $2, updated_at = $3 WHERE id = $1`,
				e.OrganizationID, e.To, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e organization.MemberAdded) error {
			return exec(ctx, tx, "add member", `
INSERT INTO sartiq.organization_members (organization_id, user_id, joined_at)
VALUES ($1, $2, $3)
ON CONFLICT (organization_id, user_id) DO NOTHING`,
				e.OrganizationID, e.UserID, e.At)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e organization.MemberRemoved) error {
			return exec(ctx, tx, "remove member", `
DELETE FROM sartiq.organization_members WHERE organization_id = $1 AND user_id = $2`,
				e.OrganizationID, e.UserID)
		}),
		on(func(ctx context.Context, tx pgx.Tx, e organization.Deleted) error {
			// Memberships go by the foreign key's cascade.
			return exec(ctx, tx, "delete organization", `DELETE FROM sartiq.organizations WHERE id = $1`, e.OrganizationID)
		}),
	)
}
