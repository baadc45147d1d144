package role_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
	"github.com/annals-dev/annals/domain/role"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRoleLifecycle(t *testing.T) {
	created := role.Created{RoleID: "r1", Name: "admin", At: t0}
	kerneltest.Given(role.Roles, created).
		When(func(r role.Role) ([]kernel.Event, error) { return role.Create(r, created) }).
		ThenError(t, kernel.ErrConflict)
	kerneltest.Given(role.Roles, created).
		When(func(r role.Role) ([]kernel.Event, error) { return role.Rename(r, "editor", t0) }).
		Then(t, role.Renamed{RoleID: "r1", Name: "editor", At: t0})
	kerneltest.Given(role.Roles, created).
		When(func(r role.Role) ([]kernel.Event, error) { return role.Rename(r, "admin", t0) }).
		Then(t)
	kerneltest.Given(role.Roles, created, role.Deleted{RoleID: "r1", At: t0}).
		When(func(r role.Role) ([]kernel.Event, error) { return role.Rename(r, "x", t0) }).
		ThenError(t, role.ErrRoleNotFound)
	kerneltest.Given(role.Roles).
		When(func(r role.Role) ([]kernel.Event, error) { return role.Delete(r, t0) }).
		ThenError(t, role.ErrRoleNotFound)
}

func granted(id string) role.Granted { return role.Granted{UserID: "u1", RoleID: id, At: t0} }

func TestGrantSkipsHeldAndRepeatedRoles(t *testing.T) {
	kerneltest.Given(role.UserGrants, granted("a")).
		When(func(g role.Grants) ([]kernel.Event, error) {
			return role.Grant(g, "u1", []string{"a", "b", "b", "c"}, t0)
		}).
		Then(t, granted("b"), granted("c"))
}

func TestRevokeNeedsAHeldRole(t *testing.T) {
	kerneltest.Given(role.UserGrants, granted("a")).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.Revoke(g, "u1", "a", t0) }).
		Then(t, role.Revoked{UserID: "u1", RoleID: "a", At: t0})
	kerneltest.Given(role.UserGrants, granted("a"), role.Revoked{UserID: "u1", RoleID: "a", At: t0}).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.Revoke(g, "u1", "a", t0) }).
		ThenError(t, role.ErrRoleNotGranted)
}

func TestSetGrantsReplacesTheWholeSet(t *testing.T) {
	kerneltest.Given(role.UserGrants, granted("a"), granted("b")).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.SetGrants(g, "u1", []string{"b", "c"}, t0) }).
		Then(t, role.Revoked{UserID: "u1", RoleID: "a", At: t0}, granted("c"))
	kerneltest.Given(role.UserGrants, granted("a")).
		When(func(g role.Grants) ([]kernel.Event, error) { return role.SetGrants(g, "u1", nil, t0) }).
		Then(t, role.Revoked{UserID: "u1", RoleID: "a", At: t0})
}

func moduleCreated() role.ModuleCreated {
	return role.ModuleCreated{ModuleID: "m1", Name: "reports", RoleIDs: []string{"a", "b"}, At: t0}
}

func TestCreateModuleCountsRepeatedRolesOnce(t *testing.T) {
	kerneltest.Given(role.Modules).
		When(func(m role.Module) ([]kernel.Event, error) {
			return role.CreateModule(m, role.ModuleCreated{ModuleID: "m1", Name: "reports", RoleIDs: []string{"a", "b", "a"}, At: t0})
		}).
		Then(t, moduleCreated())
}

func TestUpdateModuleReplacesRolesByDifference(t *testing.T) {
	name := "dashboards"
	roles := []string{"b", "c"}
	kerneltest.Given(role.Modules, moduleCreated()).
		When(func(m role.Module) ([]kernel.Event, error) {
			return role.UpdateModule(m, role.ModuleChanges{Name: &name, Roles: &roles}, t0)
		}).
		Then(t,
			role.ModuleRenamed{ModuleID: "m1", Name: "dashboards", At: t0},
			role.ModuleRolesRemoved{ModuleID: "m1", RoleIDs: []string{"a"}, At: t0},
			role.ModuleRolesAdded{ModuleID: "m1", RoleIDs: []string{"c"}, At: t0})

	empty := []string{}
	kerneltest.Given(role.Modules, moduleCreated()).
		When(func(m role.Module) ([]kernel.Event, error) {
			return role.UpdateModule(m, role.ModuleChanges{Roles: &empty}, t0)
		}).
		Then(t, role.ModuleRolesRemoved{ModuleID: "m1", RoleIDs: []string{"a", "b"}, At: t0})

	same := "reports"
	kerneltest.Given(role.Modules, moduleCreated()).
		When(func(m role.Module) ([]kernel.Event, error) {
			return role.UpdateModule(m, role.ModuleChanges{Name: &same}, t0)
		}).
		Then(t)
	kerneltest.Given(role.Modules).
		When(func(m role.Module) ([]kernel.Event, error) {
			return role.UpdateModule(m, role.ModuleChanges{Name: &same}, t0)
		}).
		ThenError(t, role.ErrModuleNotFound)
}

func TestAddAndRemoveModuleRolesSkipNoOps(t *testing.T) {
	kerneltest.Given(role.Modules, moduleCreated()).
		When(func(m role.Module) ([]kernel.Event, error) {
			return role.AddModuleRoles(m, []string{"b", "c", "c"}, t0)
		}).
		Then(t, role.ModuleRolesAdded{ModuleID: "m1", RoleIDs: []string{"c"}, At: t0})
	kerneltest.Given(role.Modules, moduleCreated()).
		When(func(m role.Module) ([]kernel.Event, error) { return role.AddModuleRoles(m, []string{"a"}, t0) }).
		Then(t)
	kerneltest.Given(role.Modules, moduleCreated()).
		When(func(m role.Module) ([]kernel.Event, error) { return role.RemoveModuleRoles(m, []string{"a", "z"}, t0) }).
		Then(t, role.ModuleRolesRemoved{ModuleID: "m1", RoleIDs: []string{"a"}, At: t0})
	kerneltest.Given(role.Modules).
		When(func(m role.Module) ([]kernel.Event, error) { return role.RemoveModuleRoles(m, []string{"a"}, t0) }).
		ThenError(t, role.ErrModuleNotFound)

	m := role.Modules.Fold(role.Module{}, moduleCreated(),
		role.ModuleRolesAdded{ModuleID: "m1", RoleIDs: []string{"c"}, At: t0},
		role.ModuleRolesRemoved{ModuleID: "m1", RoleIDs: []string{"a"}, At: t0})
	if got := m.Roles; len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Fatalf("roles after add and remove: %v, want [b c]", got)
	}
}
