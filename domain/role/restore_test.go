package role_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
	"github.com/annals-dev/annals/domain/role"
)

var t1 = t0.Add(time.Hour)

func TestRestoreRole(t *testing.T) {
	created := role.Created{RoleID: "r1", Name: "admin", At: t0}
	deleted := role.Deleted{RoleID: "r1", At: t0}
	to := func(target ...kernel.Event) func(role.Role) ([]kernel.Event, error) {
		state := role.Roles.Fold(role.Role{}, target...)
		return func(r role.Role) ([]kernel.Event, error) { return role.Restore(r, state, t1) }
	}
	kerneltest.Given(role.Roles, created).When(to()).Then(t, role.Deleted{RoleID: "r1", At: t1})
	kerneltest.Given(role.Roles, created, deleted).When(to(created)).
		Then(t, role.Restored{RoleID: "r1", Name: "admin", CreatedAt: t0, At: t1})
	kerneltest.Given(role.Roles, created, role.Renamed{RoleID: "r1", Name: "editor", At: t0}).When(to(created)).
		Then(t, role.Renamed{RoleID: "r1", Name: "admin", At: t1})
	kerneltest.Given(role.Roles, created).When(to(created, deleted)).Then(t, role.Deleted{RoleID: "r1", At: t1})
	kerneltest.Given(role.Roles).When(to(created)).ThenError(t, role.ErrRoleNotFound)

	back := role.Roles.Fold(role.Role{}, created, deleted, role.Restored{RoleID: "r1", Name: "admin", CreatedAt: t0, At: t1})
	if !back.Exists() || back.Name != "admin" || !back.CreatedAt.Equal(t0) {
		t.Fatalf("restored role %+v", back)
	}
}

func TestRestoreGrantsMakesTheSetEqualAgain(t *testing.T) {
	target := role.UserGrants.Fold(role.Grants{}, granted("a"), granted("b"))
	kerneltest.Given(role.UserGrants, granted("a"), granted("c")).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.RestoreGrants(g, target, t1) }).
		Then(t, role.Revoked{UserID: "u1", RoleID: "c", At: t1}, role.Granted{UserID: "u1", RoleID: "b", At: t1})
	// Back to before the first grant: everything goes.
	kerneltest.Given(role.UserGrants, granted("a")).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.RestoreGrants(g, role.Grants{}, t1) }).
		Then(t, role.Revoked{UserID: "u1", RoleID: "a", At: t1})
	// From nothing: the target names the user.
	kerneltest.Given(role.UserGrants).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.RestoreGrants(g, target, t1) }).
		Then(t, role.Granted{UserID: "u1", RoleID: "a", At: t1}, role.Granted{UserID: "u1", RoleID: "b", At: t1})
}

func TestRestoreModule(t *testing.T) {
	to := func(target ...kernel.Event) func(role.Module) ([]kernel.Event, error) {
		state := role.Modules.Fold(role.Module{}, target...)
		return func(m role.Module) ([]kernel.Event, error) { return role.RestoreModule(m, state, t1) }
	}
	deleted := role.ModuleDeleted{ModuleID: "m1", At: t0}
	kerneltest.Given(role.Modules, moduleCreated()).When(to()).Then(t, role.ModuleDeleted{ModuleID: "m1", At: t1})
	kerneltest.Given(role.Modules, moduleCreated(), deleted).When(to()).Then(t)
	kerneltest.Given(role.Modules, moduleCreated(), deleted).When(to(moduleCreated())).
		Then(t, role.ModuleRestored{ModuleID: "m1", Name: "reports", RoleIDs: []string{"a", "b"}, CreatedAt: t0, At: t1})
	kerneltest.Given(role.Modules, moduleCreated(),
		role.ModuleRenamed{ModuleID: "m1", Name: "dashboards", At: t0},
		role.ModuleRolesAdded{ModuleID: "m1", RoleIDs: []string{"c"}, At: t0},
		role.ModuleRolesRemoved{ModuleID: "m1", RoleIDs: []string{"a"}, At: t0}).
		When(to(moduleCreated())).
		Then(t,
			role.ModuleRenamed{ModuleID: "m1", Name: "reports", At: t1},
			role.ModuleRolesRemoved{ModuleID: "m1", RoleIDs: []string{"c"}, At: t1},
			role.ModuleRolesAdded{ModuleID: "m1", RoleIDs: []string{"a"}, At: t1})
	kerneltest.Given(role.Modules).When(to(moduleCreated())).ThenError(t, role.ErrModuleNotFound)
}

func TestDeletedModuleIsNotFound(t *testing.T) {
	kerneltest.Given(role.Modules, moduleCreated(), role.ModuleDeleted{ModuleID: "m1", At: t0}).
		When(func(m role.Module) ([]kernel.Event, error) { return role.AddModuleRoles(m, []string{"c"}, t0) }).
		ThenError(t, role.ErrModuleNotFound)
}
