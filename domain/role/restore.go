package role

import (
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Restored: a deleted role is back under the name it returns with. Grants
// and modules still name it (their streams never dropped it), so it is
// theirs again too. CreatedAt is the role's, for read models to show again.
type Restored struct {
	RoleID    string    `json:"role_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	At        time.Time `json:"at"`
}

// ModuleDeleted: the module is gone.
type ModuleDeleted struct {
	ModuleID string    `json:"module_id"`
	At       time.Time `json:"at"`
}

// ModuleRestored: a deleted module is back with the name and roles it
// returns with.
type ModuleRestored struct {
	ModuleID  string    `json:"module_id"`
	Name      string    `json:"name"`
	RoleIDs   []string  `json:"role_ids"`
	CreatedAt time.Time `json:"created_at"`
	At        time.Time `json:"at"`
}

func (Restored) EventType() string       { return "role.Restored" }
func (ModuleDeleted) EventType() string  { return "role.ModuleDeleted" }
func (ModuleRestored) EventType() string { return "role.ModuleRestored" }

// Restore decides the events that bring a role back to target, an earlier
// state of the same stream: a creation undone is a deletion, a deletion
// undone a restoration, a rename is renamed back.
func Restore(r, target Role, at time.Time) ([]kernel.Event, error) {
	switch {
	case !target.Exists():
		if !r.Exists() {
			return nil, nil
		}
		return Delete(r, at)
	case !r.Created:
		return nil, ErrRoleNotFound
	case r.Deleted:
		return []kernel.Event{Restored{RoleID: r.ID, Name: target.Name, CreatedAt: r.CreatedAt, At: at}}, nil
	default:
		return Rename(r, target.Name, at)
	}
}

// RestoreGrants decides the grants and revocations that make the roles a
// user holds those of target again.
func RestoreGrants(g, target Grants, at time.Time) ([]kernel.Event, error) {
	userID := g.UserID
	if userID == "" {
		userID = target.UserID
	}
	return SetGrants(g, userID, slices.Clone(target.Roles), at)
}

// RestoreModule decides the events that bring a module back to target: a
// creation undone is a deletion, a deletion undone a restoration, otherwise
// its name and roles are changed back.
func RestoreModule(m, target Module, at time.Time) ([]kernel.Event, error) {
	switch {
	case !target.Exists():
		if !m.Exists() {
			return nil, nil
		}
		return []kernel.Event{ModuleDeleted{ModuleID: m.ID, At: at}}, nil
	case !m.Created:
		return nil, ErrModuleNotFound
	case m.Deleted:
		return []kernel.Event{ModuleRestored{
			ModuleID: m.ID, Name: target.Name, RoleIDs: slices.Clone(target.Roles), CreatedAt: m.CreatedAt, At: at,
		}}, nil
	default:
		roles := slices.Clone(target.Roles)
		return UpdateModule(m, ModuleChanges{Name: &target.Name, Roles: &roles}, at)
	}
}
