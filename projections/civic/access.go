package civic

import (
	"time"

	"github.com/annals-dev/annals/domain/role"
	"github.com/annals-dev/annals/projections"
)

var (
	roles   = projections.Into("roles", "id", "name", "created_at")
	modules = projections.Into("modules", "id", "name", "created_at", "updated_at")
)

// Access projects roles, the roles users hold and role-based modules. The
// grants and module places of a deleted role or user stay, as they do in
// their streams, so that restoring the role or user brings them back;
// queries show only those of roles and users that exist.
func Access() projections.Projector {
	return define("civic.access", 1,
		projections.On(func(e role.Created) []projections.Write {
			return writes(roles.Row(e.RoleID, e.Name, e.At))
		}),
		projections.On(func(e role.Renamed) []projections.Write {
			return writes(projections.Exec(`UPDATE roles SET name = $2 WHERE id = $1`, e.RoleID, e.Name))
		}),
		projections.On(func(e role.Deleted) []projections.Write {
			return writes(projections.Exec(`DELETE FROM roles WHERE id = $1`, e.RoleID))
		}),
		projections.On(func(e role.Restored) []projections.Write {
			return writes(roles.Row(e.RoleID, e.Name, e.CreatedAt))
		}),
		projections.On(func(e role.Granted) []projections.Write {
			return writes(projections.Exec(`
INSERT INTO user_roles (user_id, role_id, granted_at)
SELECT $1, id, $3 FROM roles WHERE id = $2
ON CONFLICT DO NOTHING`, e.UserID, e.RoleID, e.At))
		}),
		projections.On(func(e role.Revoked) []projections.Write {
			return writes(projections.Exec(`DELETE FROM user_roles WHERE user_id = $1 AND role_id = $2`, e.UserID, e.RoleID))
		}),
		projections.On(func(e role.ModuleCreated) []projections.Write {
			return writes(modules.Row(e.ModuleID, e.Name, e.At, e.At), addModuleRoles(e.ModuleID, e.RoleIDs))
		}),
		projections.On(func(e role.ModuleRenamed) []projections.Write {
			return writes(projections.Exec(`UPDATE modules SET name = $2, updated_at = $3 WHERE id = $1`, e.ModuleID, e.Name, e.At))
		}),
		projections.On(func(e role.ModuleRolesAdded) []projections.Write {
			return writes(addModuleRoles(e.ModuleID, e.RoleIDs), touchModule(e.ModuleID, e.At))
		}),
		projections.On(func(e role.ModuleRolesRemoved) []projections.Write {
			return writes(
				projections.Exec(`DELETE FROM module_roles WHERE module_id = $1 AND role_id = ANY($2)`, e.ModuleID, e.RoleIDs),
				touchModule(e.ModuleID, e.At))
		}),
		projections.On(func(e role.ModuleDeleted) []projections.Write {
			return writes(
				projections.Exec(`DELETE FROM modules WHERE id = $1`, e.ModuleID),
				projections.Exec(`DELETE FROM module_roles WHERE module_id = $1`, e.ModuleID))
		}),
		projections.On(func(e role.ModuleRestored) []projections.Write {
			return writes(modules.Row(e.ModuleID, e.Name, e.CreatedAt, e.At), addModuleRoles(e.ModuleID, e.RoleIDs))
		}),
	)
}

// addModuleRoles inserts role ids in their order (seq follows it). Like
// grants, it skips a role whose deletion was appended in between the
// command's existence check and its append.
func addModuleRoles(moduleID string, roleIDs []string) projections.Write {
	return projections.Exec(`
INSERT INTO module_roles (module_id, role_id)
SELECT $1, r.id FROM unnest($2::text[]) WITH ORDINALITY AS r(id, n)
WHERE EXISTS (SELECT 1 FROM roles WHERE id = r.id)
ORDER BY r.n
ON CONFLICT DO NOTHING`, moduleID, roleIDs)
}

func touchModule(moduleID string, at time.Time) projections.Write {
	return projections.Exec(`UPDATE modules SET updated_at = $2 WHERE id = $1`, moduleID, at)
}
