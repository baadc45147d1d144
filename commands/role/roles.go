// Package role holds the command handlers of role-based access: role
// definitions, the roles users hold and the modules roles may use. Every
// command that names roles checks first that they exist, so nothing is
// appended for a command that names an unknown one.
package role

import (
	"context"
	"time"

	"github.com/annals-dev/annals/commands"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/role"
)

// Roles handles role, grant and module commands.
type Roles struct {
	x     *commands.Executor
	users *cmdidentity.Users
	now   func() time.Time
}

// NewRoles returns the role command handlers; users registers and updates
// the accounts that hold roles.
func NewRoles(x *commands.Executor, users *cmdidentity.Users) *Roles {
	return &Roles{x: x, users: users, now: func() time.Time { return x.Now().UTC() }}
}

// Create defines a role; roleID is chosen by the caller.
func (h *Roles) Create(ctx context.Context, meta commands.Meta, roleID, name string) (commands.Result, error) {
	created := role.Created{RoleID: roleID, Name: name, At: h.now()}
	return commands.Execute(ctx, h.x, role.Roles, meta, roleID, func(r role.Role) ([]kernel.Event, error) {
		return role.Create(r, created)
	})
}

// Rename gives a role a new name.
func (h *Roles) Rename(ctx context.Context, meta commands.Meta, roleID, name string) (commands.Result, error) {
	return commands.Execute(ctx, h.x, role.Roles, meta, roleID, func(r role.Role) ([]kernel.Event, error) {
		return role.Rename(r, name, h.now())
	})
}

// Delete ends a role; read models drop it from grants and modules.
func (h *Roles) Delete(ctx context.Context, meta commands.Meta, roleID string) (commands.Result, error) {
	return commands.Execute(ctx, h.x, role.Roles, meta, roleID, func(r role.Role) ([]kernel.Event, error) {
		return role.Delete(r, h.now())
	})
}

// Register creates an account holding roles. The roles are checked before
// the account is created, so a sign-up naming an unknown role leaves no
// account behind.
func (h *Roles) Register(ctx context.Context, meta commands.Meta, cmd cmdidentity.Register, roleIDs []string) (commands.Result, error) {
	meta = cmdidentity.Registrant(meta, cmd.UserID)
	if err := h.requireRoles(ctx, meta.Realm, roleIDs); err != nil {
		return commands.Result{}, err
	}
	res, err := h.users.Register(ctx, meta, cmd)
	if err != nil || len(roleIDs) == 0 {
		return res, err
	}
	return h.grants(ctx, meta, cmd.UserID, func(g role.Grants) ([]kernel.Event, error) {
		return role.Grant(g, cmd.UserID, roleIDs, h.now())
	})
}

// UpdateUser changes an account's profile and, when Roles is set, replaces
// the roles it holds.
type UpdateUser struct {
	UserID  string
	Changes identity.UserChanges
	Roles   *[]string // nil: the roles stay as they are
}

// UpdateUser applies the changes, checking the roles before anything is
// appended. The result is that of the last append.
func (h *Roles) UpdateUser(ctx context.Context, meta commands.Meta, cmd UpdateUser) (commands.Result, error) {
	meta = meta.Grouped()
	if cmd.Roles != nil {
		if err := h.requireRoles(ctx, meta.Realm, *cmd.Roles); err != nil {
			return commands.Result{}, err
		}
	}
	res, err := h.users.Update(ctx, meta, cmd.UserID, cmd.Changes)
	if err != nil || cmd.Roles == nil {
		return res, err
	}
	granted, err := h.grants(ctx, meta, cmd.UserID, func(g role.Grants) ([]kernel.Event, error) {
		return role.SetGrants(g, cmd.UserID, *cmd.Roles, h.now())
	})
	return latest(res, granted), err
}

// Revoke takes one role away from an existing user.
func (h *Roles) Revoke(ctx context.Context, meta commands.Meta, userID, roleID string) (commands.Result, error) {
	if _, _, err := h.users.Get(ctx, meta.Realm, userID); err != nil {
		return commands.Result{}, err
	}
	return h.grants(ctx, meta, userID, func(g role.Grants) ([]kernel.Event, error) {
		return role.Revoke(g, userID, roleID, h.now())
	})
}

func (h *Roles) grants(ctx context.Context, meta commands.Meta, userID string, decide func(role.Grants) ([]kernel.Event, error)) (commands.Result, error) {
	return commands.Execute(ctx, h.x, role.UserGrants, meta, userID, decide)
}

// requireRoles fails with role.ErrRoleNotFound unless every role exists.
// A role deleted right after the check is harmless: read models drop
// deleted roles wherever they are referenced.
func (h *Roles) requireRoles(ctx context.Context, realm string, roleIDs []string) error {
	for _, id := range role.Distinct(roleIDs) {
		r, _, err := commands.Load(ctx, h.x, role.Roles, realm, id)
		if err != nil {
			return err
		}
		if !r.Exists() {
			return role.ErrRoleNotFound
		}
	}
	return nil
}

// latest is the result whose events a reader must wait for: the one that
// appended last (the global log orders later appends after earlier ones).
func latest(results ...commands.Result) commands.Result {
	var out commands.Result
	for _, r := range results {
		if r.Appended() {
			out = r
		}
	}
	return out
}
