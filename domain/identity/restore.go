package identity

import (
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// UserRestored: a deleted account is back. It carries the profile the
// account returns with, and the sign-in state it kept, so that read models
// that dropped the account can show it again as it was.
type UserRestored struct {
	UserID          string    `json:"user_id"`
	Email           string    `json:"email"`
	FullName        *string   `json:"full_name"`
	Active          bool      `json:"active"`
	Superuser       bool      `json:"superuser"`
	ReworkAvailable int       `json:"rework_available"`
	Role            string    `json:"role,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	FailedLogins    int       `json:"failed_logins,omitempty"`
	LockedUntil     time.Time `json:"locked_until,omitzero"`
	LastLogin       time.Time `json:"last_login,omitzero"`
	At              time.Time `json:"at"`
}

func (UserRestored) EventType() string { return "identity.UserRestored" }

func (e UserRestored) apply(u User) User {
	u.Deleted = false
	u.Email, u.FullName, u.Active, u.Superuser = e.Email, e.FullName, e.Active, e.Superuser
	u.ReworkAvailable, u.Role = e.ReworkAvailable, e.Role
	u.FailedLogins, u.LockedUntil, u.LastLogin = e.FailedLogins, e.LockedUntil, e.LastLogin
	u.UpdatedAt = e.At
	return u
}

// Restore decides the events that bring an account back to target, an
// earlier state of the same stream: its registration undone is a deletion,
// its deletion undone a restoration, profile changes are changed back.
// Passwords and sign-in state are never restored: they belong to the
// account's owner and its security, not to the action being undone.
func Restore(u, target User, at time.Time) ([]kernel.Event, error) {
	switch {
	case !target.Exists():
		if !u.Exists() {
			return nil, nil
		}
		// Undoing a registration is no one deleting their own account.
		return Delete(u, "", at)
	case !u.Registered:
		return nil, ErrUserNotFound
	case u.Deleted:
		return []kernel.Event{UserRestored{
			UserID: u.ID, Email: target.Email, FullName: target.FullName, Active: target.Active,
			Superuser: target.Superuser, ReworkAvailable: target.ReworkAvailable, Role: target.Role,
			CreatedAt: u.CreatedAt, FailedLogins: u.FailedLogins, LockedUntil: u.LockedUntil, LastLogin: u.LastLogin, At: at,
		}}, nil
	default:
		return Update(u, changesTo(target), at)
	}
}

// changesTo sets every profile field to target's; Update keeps those that
// differ.
func changesTo(target User) UserChanges {
	c := UserChanges{
		Email: &target.Email, Active: &target.Active, Superuser: &target.Superuser,
		ReworkAvailable: &target.ReworkAvailable, Role: &target.Role,
	}
	if target.FullName == nil {
		c.ClearFullName = true
	} else {
		c.FullName = target.FullName
	}
	return c
}
