package role

import (
	"context"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/role"
)

// CreateModule defines a module and the roles that may use it; moduleID is
// chosen by the caller.
func (h *Roles) CreateModule(ctx context.Context, meta commands.Meta, moduleID, name string, roleIDs []string) (commands.Result, error) {
	if err := h.requireRoles(ctx, meta.Realm, roleIDs); err != nil {
		return commands.Result{}, err
	}
	created := role.ModuleCreated{ModuleID: moduleID, Name: name, RoleIDs: roleIDs, At: h.now()}
	return h.module(ctx, meta, moduleID, func(m role.Module) ([]kernel.Event, error) {
		return role.CreateModule(m, created)
	})
}

// UpdateModule renames a module and, when changes.Roles is set, replaces
// its roles.
func (h *Roles) UpdateModule(ctx context.Context, meta commands.Meta, moduleID string, changes role.ModuleChanges) (commands.Result, error) {
	if changes.Roles != nil {
		if err := h.requireRoles(ctx, meta.Realm, *changes.Roles); err != nil {
			return commands.Result{}, err
		}
	}
	return h.module(ctx, meta, moduleID, func(m role.Module) ([]kernel.Event, error) {
		return role.UpdateModule(m, changes, h.now())
	})
}

// AddModuleRoles lets more roles use a module.
func (h *Roles) AddModuleRoles(ctx context.Context, meta commands.Meta, moduleID string, roleIDs []string) (commands.Result, error) {
	if err := h.requireRoles(ctx, meta.Realm, roleIDs); err != nil {
		return commands.Result{}, err
	}
	return h.module(ctx, meta, moduleID, func(m role.Module) ([]kernel.Event, error) {
		return role.AddModuleRoles(m, roleIDs, h.now())
	})
}

// RemoveModuleRoles stops roles from using a module. Roles that are gone
// may be named: removing them is what a client cleaning up would do.
func (h *Roles) RemoveModuleRoles(ctx context.Context, meta commands.Meta, moduleID string, roleIDs []string) (commands.Result, error) {
	return h.module(ctx, meta, moduleID, func(m role.Module) ([]kernel.Event, error) {
		return role.RemoveModuleRoles(m, roleIDs, h.now())
	})
}

func (h *Roles) module(ctx context.Context, meta commands.Meta, moduleID string, decide func(role.Module) ([]kernel.Event, error)) (commands.Result, error) {
	return commands.Execute(ctx, h.x, role.Modules, meta, moduleID, decide)
}
