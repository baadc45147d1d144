package role

import (
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// ModuleKind is the stream category of role-based modules: a module is a
// part of an application and the roles allowed to use it.
const ModuleKind = "module"

// Module is the state folded from a module's events.
type Module struct {
	ID        string
	Name      string
	Roles     []string // in the order added
	Created   bool
	Deleted   bool
	CreatedAt time.Time
}

// Exists reports whether the module is defined and not deleted.
func (m Module) Exists() bool { return m.Created && !m.Deleted }

// ModuleCreated: a new module and the roles allowed to use it.
type ModuleCreated struct {
	ModuleID string    `json:"module_id"`
	Name     string    `json:"name"`
	RoleIDs  []string  `json:"role_ids"`
	At       time.Time `json:"at"`
}

// ModuleRenamed: the module's name changed.
type ModuleRenamed struct {
	ModuleID string    `json:"module_id"`
	Name     string    `json:"name"`
	At       time.Time `json:"at"`
}

// ModuleRolesAdded: more roles may use the module.
type ModuleRolesAdded struct {
	ModuleID string    `json:"module_id"`
	RoleIDs  []string  `json:"role_ids"`
	At       time.Time `json:"at"`
}

// ModuleRolesRemoved: these roles may no longer use the module.
type ModuleRolesRemoved struct {
	ModuleID string    `json:"module_id"`
	RoleIDs  []string  `json:"role_ids"`
	At       time.Time `json:"at"`
}

func (ModuleCreated) EventType() string      { return "role.ModuleCreated" }
func (ModuleRenamed) EventType() string      { return "role.ModuleRenamed" }
func (ModuleRolesAdded) EventType() string   { return "role.ModuleRolesAdded" }
func (ModuleRolesRemoved) EventType() string { return "role.ModuleRolesRemoved" }

// Modules folds module events.
var Modules = kernel.Aggregate[Module]{Kind: ModuleKind, Evolve: func(m Module, e kernel.Event) Module {
	switch e := e.(type) {
	case ModuleCreated:
		m = Module{ID: e.ModuleID, Name: e.Name, Roles: slices.Clone(e.RoleIDs), Created: true, CreatedAt: e.At}
	case ModuleRenamed:
		m.Name = e.Name
	case ModuleRolesAdded:
		m.Roles = append(slices.Clone(m.Roles), e.RoleIDs...)
	case ModuleRolesRemoved:
		m.Roles = slices.DeleteFunc(slices.Clone(m.Roles), func(id string) bool { return slices.Contains(e.RoleIDs, id) })
	case ModuleDeleted:
		m.Deleted = true
	case ModuleRestored:
		m.Deleted, m.Name, m.Roles = false, e.Name, slices.Clone(e.RoleIDs)
	}
	return m
}}

// CreateModule decides a new module; its id is chosen by the caller and
// repeated role ids count once.
func CreateModule(m Module, e ModuleCreated) ([]kernel.Event, error) {
	if m.Created {
		return nil, kernel.Conflict("module_exists", "module already exists")
	}
	e.RoleIDs = Distinct(e.RoleIDs)
	return []kernel.Event{e}, nil
}

// ModuleChanges is an update of a module; nil fields stay as they are, and
// Roles, when set, replaces the whole list.
type ModuleChanges struct {
	Name  *string
	Roles *[]string
}

// UpdateModule decides a rename and a full replacement of the roles,
// keeping only what really changes.
func UpdateModule(m Module, c ModuleChanges, at time.Time) ([]kernel.Event, error) {
	if !m.Exists() {
		return nil, ErrModuleNotFound
	}
	var events []kernel.Event
	if c.Name != nil && *c.Name != m.Name {
		events = append(events, ModuleRenamed{ModuleID: m.ID, Name: *c.Name, At: at})
	}
	if c.Roles != nil {
		keep := *c.Roles
		stale := slices.DeleteFunc(slices.Clone(m.Roles), func(id string) bool { return slices.Contains(keep, id) })
		events = append(append(events, removeRoles(m, stale, at)...), addRoles(m, keep, at)...)
	}
	return events, nil
}

// AddModuleRoles decides allowing more roles; roles already allowed are
// skipped.
func AddModuleRoles(m Module, roleIDs []string, at time.Time) ([]kernel.Event, error) {
	if !m.Exists() {
		return nil, ErrModuleNotFound
	}
	return addRoles(m, roleIDs, at), nil
}

// RemoveModuleRoles decides disallowing roles; roles not allowed are
// skipped.
func RemoveModuleRoles(m Module, roleIDs []string, at time.Time) ([]kernel.Event, error) {
	if !m.Exists() {
		return nil, ErrModuleNotFound
	}
	return removeRoles(m, roleIDs, at), nil
}

func addRoles(m Module, roleIDs []string, at time.Time) []kernel.Event {
	added := slices.DeleteFunc(Distinct(roleIDs), func(id string) bool { return slices.Contains(m.Roles, id) })
	if len(added) == 0 {
		return nil
	}
	return []kernel.Event{ModuleRolesAdded{ModuleID: m.ID, RoleIDs: added, At: at}}
}

func removeRoles(m Module, roleIDs []string, at time.Time) []kernel.Event {
	removed := slices.DeleteFunc(Distinct(roleIDs), func(id string) bool { return !slices.Contains(m.Roles, id) })
	if len(removed) == 0 {
		return nil
	}
	return []kernel.Event{ModuleRolesRemoved{ModuleID: m.ID, RoleIDs: removed, At: at}}
}
