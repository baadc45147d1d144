package role

import (
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// GrantsKind is the stream category of the roles one user holds: one stream
// per user, keyed by the user id.
const GrantsKind = "grants"

// Grants is the set of roles a user holds, in the order granted.
type Grants struct {
	UserID string
	Roles  []string
}

// Holds reports whether the user holds a role.
func (g Grants) Holds(roleID string) bool { return slices.Contains(g.Roles, roleID) }

// Granted: the user now holds the role.
type Granted struct {
	UserID string    `json:"user_id"`
	RoleID string    `json:"role_id"`
	At     time.Time `json:"at"`
}

// Revoked: the user no longer holds the role.
type Revoked struct {
	UserID string    `json:"user_id"`
	RoleID string    `json:"role_id"`
	At     time.Time `json:"at"`
}

func (Granted) EventType() string { return "role.Granted" }
func (Revoked) EventType() string { return "role.Revoked" }

// UserGrants folds grant events.
var UserGrants = kernel.Aggregate[Grants]{Kind: GrantsKind, Evolve: func(g Grants, e kernel.Event) Grants {
	switch e := e.(type) {
	case Granted:
		g.UserID = e.UserID
		g.Roles = append(slices.Clone(g.Roles), e.RoleID)
	case Revoked:
		g.Roles = slices.DeleteFunc(slices.Clone(g.Roles), func(id string) bool { return id == e.RoleID })
	}
	return g
}}

// Grant decides giving the user roles; roles already held are skipped.
func Grant(g Grants, userID string, roleIDs []string, at time.Time) ([]kernel.Event, error) {
	return grant(g, userID, roleIDs, at), nil
}

func grant(g Grants, userID string, roleIDs []string, at time.Time) []kernel.Event {
	var events []kernel.Event
	for _, id := range Distinct(roleIDs) {
		if !g.Holds(id) {
			events = append(events, Granted{UserID: userID, RoleID: id, At: at})
		}
	}
	return events
}

// Revoke decides taking one role away; the user must hold it.
func Revoke(g Grants, userID, roleID string, at time.Time) ([]kernel.Event, error) {
	if !g.Holds(roleID) {
		return nil, ErrRoleNotGranted
	}
	return []kernel.Event{Revoked{UserID: userID, RoleID: roleID, At: at}}, nil
}

// SetGrants decides making roleIDs exactly the roles the user holds.
func SetGrants(g Grants, userID string, roleIDs []string, at time.Time) ([]kernel.Event, error) {
	var events []kernel.Event
	for _, id := range g.Roles {
		if !slices.Contains(roleIDs, id) {
			events = append(events, Revoked{UserID: userID, RoleID: id, At: at})
		}
	}
	return append(events, grant(g, userID, roleIDs, at)...), nil
}
