// Package role holds role-based access: role definitions, the roles each
// user holds (grants) and the modules each role may use. Roles and modules
// are referenced by id; the command handlers check that referenced roles
// exist, and read models drop a deleted role from every grant and module.
package role

import (
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Kind is the stream category of role definitions.
const Kind = "role"

// Role is the state folded from a role's events.
type Role struct {
	ID        string
	Name      string
	Created   bool
	Deleted   bool
	CreatedAt time.Time
}

// Exists reports whether the role is defined and not deleted.
func (r Role) Exists() bool { return r.Created && !r.Deleted }

// Created: a new role definition.
type Created struct {
	RoleID string    `json:"role_id"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
}

// Renamed: the role's name changed.
type Renamed struct {
	RoleID string    `json:"role_id"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
}

// Deleted: the role is gone, and with it every grant of it and its place in
// every module.
type Deleted struct {
	RoleID string    `json:"role_id"`
	At     time.Time `json:"at"`
}

func (Created) EventType() string { return "role.Created" }
func (Renamed) EventType() string { return "role.Renamed" }
func (Deleted) EventType() string { return "role.Deleted" }

// Roles folds role events.
var Roles = kernel.Aggregate[Role]{Kind: Kind, Evolve: func(r Role, e kernel.Event) Role {
	switch e := e.(type) {
	case Created:
		r = Role{ID: e.RoleID, Name: e.Name, Created: true, CreatedAt: e.At}
	case Renamed:
		r.Name = e.Name
	case Deleted:
		r.Deleted = true
	case Restored:
		r.Deleted, r.Name = false, e.Name
	}
	return r
}}

// Create decides a new role; its id is chosen by the caller.
func Create(r Role, e Created) ([]kernel.Event, error) {
	if r.Created {
		return nil, kernel.Conflict("role_exists", "role already exists")
	}
	return []kernel.Event{e}, nil
}

// Rename decides a new name; the same name changes nothing.
func Rename(r Role, name string, at time.Time) ([]kernel.Event, error) {
	if !r.Exists() {
		return nil, ErrRoleNotFound
	}
	if name == r.Name {
		return nil, nil
	}
	return []kernel.Event{Renamed{RoleID: r.ID, Name: name, At: at}}, nil
}

// Delete decides the end of a role.
func Delete(r Role, at time.Time) ([]kernel.Event, error) {
	if !r.Exists() {
		return nil, ErrRoleNotFound
	}
	return []kernel.Event{Deleted{RoleID: r.ID, At: at}}, nil
}

// Distinct returns ids without repeats, in first-seen order.
func Distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Errors of role-based access, matched by code at the edge.
var (
	ErrRoleNotFound   = kernel.NotFound("role_not_found", "Role not found")
	ErrRoleNotGranted = kernel.NotFound("role_not_granted", "User role assignment not found")
	ErrModuleNotFound = kernel.NotFound("module_not_found", "Role base module not found")
)

// RegisterEvents adds this package's events to a registry.
func RegisterEvents(r *kernel.Registry) {
	r.Register(Created{}, Renamed{}, Deleted{}, Restored{}, Granted{}, Revoked{},
		ModuleCreated{}, ModuleRenamed{}, ModuleRolesAdded{}, ModuleRolesRemoved{}, ModuleDeleted{}, ModuleRestored{})
}
