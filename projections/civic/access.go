package civic

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/role"
	"github.com/annals-dev/annals/projections"
)

// Access projects roles, the roles users hold and role-based modules. A
// deleted role or user disappears from every grant and module here, in the
// same transaction; one projector owns these tables so that it can.
func Access() projections.Projector {
	return newProjector("civic.access", 1,
		on(func(ctx context.Context, tx pgx.Tx, e role.Created) error {
			return exec(ctx, tx, sql(`INSERT INTO civic.roles (id, name, created_at) VALUES ($1, $2, $3)`, e.RoleID, e.Name, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.Renamed) error {
			return exec(ctx, tx, sql(`UPDATE civic.roles SET name = $2 WHERE id = $1`, e.RoleID, e.Name))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.Deleted) error {
			return exec(ctx, tx,
				sql(`DELETE FROM civic.roles WHERE id = $1`, e.RoleID),
				sql(`DELETE FROM civic.user_roles WHERE role_id = $1`, e.RoleID),
				sql(`DELETE FROM civic.module_roles WHERE role_id = $1`, e.RoleID))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.Granted) error {
			return exec(ctx, tx, sql(`
INSERT INTO civic.user_roles (user_id, role_id, granted_at)
SELECT $1, id, $3 FROM civic.roles WHERE id = $2
ON CONFLICT DO NOTHING`, e.UserID, e.RoleID, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.Revoked) error {
			return exec(ctx, tx, sql(`DELETE FROM civic.user_roles WHERE user_id = $1 AND role_id = $2`, e.UserID, e.RoleID))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserDeleted) error {
			return exec(ctx, tx, sql(`DELETE FROM civic.user_roles WHERE user_id = $1`, e.UserID))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.ModuleCreated) error {
			return exec(ctx, tx,
				sql(`INSERT INTO civic.modules (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)`, e.ModuleID, e.Name, e.At),
				addModuleRoles(e.ModuleID, e.RoleIDs))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.ModuleRenamed) error {
			return exec(ctx, tx, sql(`UPDATE civic.modules SET name = $2, updated_at = $3 WHERE id = $1`, e.ModuleID, e.Name, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.ModuleRolesAdded) error {
			return exec(ctx, tx, addModuleRoles(e.ModuleID, e.RoleIDs), touchModule(e.ModuleID, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e role.ModuleRolesRemoved) error {
			return exec(ctx, tx,
				sql(`DELETE FROM civic.module_roles WHERE module_id = $1 AND role_id = ANY($2)`, e.ModuleID, e.RoleIDs),
				touchModule(e.ModuleID, e.At))
		}),
	)
}

// addModuleRoles inserts role ids in their order (seq follows it). Like
// grants, it skips a role whose deletion was appended in between the
// command's existence check and its append.
func addModuleRoles(moduleID string, roleIDs []string) stmt {
	return sql(`
INSERT INTO civic.module_roles (module_id, role_id)
SELECT $1, r.id FROM unnest($2::text[]) WITH ORDINALITY AS r(id, n)
WHERE EXISTS (SELECT 1 FROM civic.roles WHERE id = r.id)
ORDER BY r.n
ON CONFLICT DO NOTHING`, moduleID, roleIDs)
}

func touchModule(moduleID string, at time.Time) stmt {
	return sql(`UPDATE civic.modules SET updated_at = $2 WHERE id = $1`, moduleID, at)
}
