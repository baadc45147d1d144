package sartiq

import (
	"maps"
	"slices"

	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/projections"
)

var (
	organizations = projections.Into("organizations",
		"id", "name", "avatar_image_url", "description", "rework_available", "owner_id", "created_at", "updated_at")
	members = projections.Into("organization_members", "organization_id", "user_id", "joined_at")
)

// Organizations projects organizations and their memberships. An
// organization's events come in stream order, so its row exists before any
// of its memberships and none follows its deletion.
func Organizations() projections.Projector {
	return define("sartiq.organizations", 1,
		projections.On(func(e organization.Created) []projections.Write {
			return []projections.Write{organizations.Row(uuidOf(e.OrganizationID), e.Name, e.AvatarImage, e.Description,
				e.ReworkAvailable, uuidOf(e.OwnerID), e.At, e.At)}
		}),
		projections.On(func(e organization.Updated) []projections.Write {
			c := e.Changes
			return []projections.Write{projections.Exec(`
UPDATE organizations SET
    name = COALESCE($2, name),
    avatar_image_url = COALESCE($3, avatar_image_url),
    description = CASE WHEN $4 THEN NULL ELSE COALESCE($5, description) END,
    rework_available = COALESCE($6, rework_available),
    updated_at = $7
WHERE id = $1`,
				e.OrganizationID, c.Name, c.AvatarImage, c.ClearDescription, c.Description, c.ReworkAvailable, e.At)}
		}),
		projections.On(func(e organization.OwnershipTransferred) []projections.Write {
			return []projections.Write{projections.Exec(`UPDATE organizations SET owner_id = $2, updated_at = $3 WHERE id = $1`,
				e.OrganizationID, e.To, e.At)}
		}),
		projections.On(func(e organization.MemberAdded) []projections.Write {
			return []projections.Write{members.Row(uuidOf(e.OrganizationID), uuidOf(e.UserID), e.At)}
		}),
		projections.On(func(e organization.MemberRemoved) []projections.Write {
			return []projections.Write{projections.Exec(`DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2`,
				e.OrganizationID, e.UserID)}
		}),
		projections.On(func(e organization.Deleted) []projections.Write {
			// Memberships go by the foreign key's cascade.
			return []projections.Write{projections.Exec(`DELETE FROM organizations WHERE id = $1`, e.OrganizationID)}
		}),
		// A restored organization comes back with the memberships its
		// deletion took.
		projections.On(func(e organization.Restored) []projections.Write {
			writes := []projections.Write{organizations.Row(e.OrganizationID, e.Name, e.AvatarImage, e.Description,
				e.ReworkAvailable, e.OwnerID, e.CreatedAt, e.At)}
			for _, id := range slices.Sorted(maps.Keys(e.Members)) {
				writes = append(writes, members.Row(e.OrganizationID, id, e.Members[id]))
			}
			return writes
		}),
	)
}
