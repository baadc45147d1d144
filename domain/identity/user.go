// Package identity is the user aggregate every dialect shares (sartiq users,
// civic users, ...) and the email claims that keep emails unique per realm.
package identity

import (
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// UserKind is the stream category of users.
const UserKind = "user"

// User is the state folded from a user's events.
type User struct {
	ID              string
	Registered      bool
	Deleted         bool
	Email           string
	FullName        *string
	PasswordHash    string
	Active          bool
	Superuser       bool
	ReworkAvailable int
	Role            string
	EmailVerified   bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Sign-in state (login.go); zero times mean never and not locked.
	FailedLogins int
	LockedUntil  time.Time
	LastLogin    time.Time
}

// Exists reports whether the user is registered and not deleted.
func (u User) Exists() bool { return u.Registered && !u.Deleted }

// UserRegistered: a new account. PasswordHash is a hash, never the password.
type UserRegistered struct {
	UserID          string    `json:"user_id"`
	Email           string    `json:"email"`
	FullName        *string   `json:"full_name"`
	PasswordHash    string    `json:"password_hash"`
	Active          bool      `json:"active"`
	Superuser       bool      `json:"superuser"`
	ReworkAvailable int       `json:"rework_available"`
	Role            string    `json:"role,omitempty"`
	At              time.Time `json:"at"`
}

// UserChanges lists profile fields that change; nil means unchanged.
// ClearFullName sets the full name to null (FullName is then nil).
type UserChanges struct {
	Email           *string `json:"email,omitempty"`
	FullName        *string `json:"full_name,omitempty"`
	ClearFullName   bool    `json:"clear_full_name,omitempty"`
	Active          *bool   `json:"active,omitempty"`
	Superuser       *bool   `json:"superuser,omitempty"`
	ReworkAvailable *int    `json:"rework_available,omitempty"`
	Role            *string `json:"role,omitempty"`
}

// Empty reports whether nothing changes.
func (c UserChanges) Empty() bool { return c == UserChanges{} }

// UserUpdated: profile fields changed.
type UserUpdated struct {
	UserID  string      `json:"user_id"`
	Changes UserChanges `json:"changes"`
	At      time.Time   `json:"at"`
}

// UserPasswordChanged: a new password hash.
type UserPasswordChanged struct {
	UserID       string    `json:"user_id"`
	PasswordHash string    `json:"password_hash"`
	At           time.Time `json:"at"`
}

// UserDeleted: the account is gone; its email claim is released separately.
type UserDeleted struct {
	UserID string    `json:"user_id"`
	Email  string    `json:"email"`
	At     time.Time `json:"at"`
}

func (UserRegistered) EventType() string      { return "identity.UserRegistered" }
func (UserUpdated) EventType() string         { return "identity.UserUpdated" }
func (UserPasswordChanged) EventType() string { return "identity.UserPasswordChanged" }
func (UserDeleted) EventType() string         { return "identity.UserDeleted" }

// Users folds user events.
var Users = kernel.Aggregate[User]{Kind: UserKind, Evolve: evolveUser}

func evolveUser(u User, e kernel.Event) User {
	switch e := e.(type) {
	case UserRegistered:
		u = User{
			ID: e.UserID, Registered: true, Email: e.Email, FullName: e.FullName, PasswordHash: e.PasswordHash,
			Active: e.Active, Superuser: e.Superuser, ReworkAvailable: e.ReworkAvailable, Role: e.Role,
			CreatedAt: e.At, UpdatedAt: e.At,
		}
	case UserUpdated:
		u = e.Changes.apply(u)
		u.UpdatedAt = e.At
	case UserPasswordChanged:
		u.PasswordHash = e.PasswordHash
		u.UpdatedAt = e.At
	case UserDeleted:
		u.Deleted = true
		u.UpdatedAt = e.At
	case UserRestored:
		u = e.apply(u)
	case LoginSucceeded, LoginFailed, LockoutCleared:
		u = evolveSignIn(u, e)
	}
	return u
}

func (c UserChanges) apply(u User) User {
	if c.Email != nil {
		u.Email = *c.Email
	}
	if c.FullName != nil {
		name := *c.FullName
		u.FullName = &name
	}
	if c.ClearFullName {
		u.FullName = nil
	}
	if c.Active != nil {
		u.Active = *c.Active
	}
	if c.Superuser != nil {
		u.Superuser = *c.Superuser
	}
	if c.ReworkAvailable != nil {
		u.ReworkAvailable = *c.ReworkAvailable
	}
	if c.Role != nil {
		u.Role = *c.Role
	}
	return u
}

// Register decides a new account. The id is chosen by the caller before the
// append so that a replay reproduces it.
func Register(u User, e UserRegistered) ([]kernel.Event, error) {
	if u.Registered {
		return nil, kernel.Conflict("user_exists", "user already exists")
	}
	return []kernel.Event{e}, nil
}

// Update decides a profile change, keeping only fields that really change.
func Update(u User, c UserChanges, at time.Time) ([]kernel.Event, error) {
	if !u.Exists() {
		return nil, ErrUserNotFound
	}
	c = c.effective(u)
	if c.Empty() {
		return nil, nil
	}
	return []kernel.Event{UserUpdated{UserID: u.ID, Changes: c, At: at}}, nil
}

// effective drops the changes that would leave a field as it is.
func (c UserChanges) effective(u User) UserChanges {
	if c.Email != nil && *c.Email == u.Email {
		c.Email = nil
	}
	if c.FullName != nil && u.FullName != nil && *c.FullName == *u.FullName {
		c.FullName = nil
	}
	if c.ClearFullName && u.FullName == nil {
		c.ClearFullName = false
	}
	if c.Active != nil && *c.Active == u.Active {
		c.Active = nil
	}
	if c.Superuser != nil && *c.Superuser == u.Superuser {
		c.Superuser = nil
	}
	if c.ReworkAvailable != nil && *c.ReworkAvailable == u.ReworkAvailable {
		c.ReworkAvailable = nil
	}
	if c.Role != nil && *c.Role == u.Role {
		c.Role = nil
	}
	return c
}

// ChangePassword decides a new password hash.
func ChangePassword(u User, hash string, at time.Time) ([]kernel.Event, error) {
	if !u.Exists() {
		return nil, ErrUserNotFound
	}
	return []kernel.Event{UserPasswordChanged{UserID: u.ID, PasswordHash: hash, At: at}}, nil
}

// Delete decides the end of an account.
// A superuser may not delete their own account: the realm could be left
// with nobody to administer it.
func Delete(u User, actorID string, at time.Time) ([]kernel.Event, error) {
	if !u.Exists() {
		return nil, ErrUserNotFound
	}
	if u.Superuser && u.ID == actorID {
		return nil, ErrSuperuserSelfDelete
	}
	return []kernel.Event{UserDeleted{UserID: u.ID, Email: u.Email, At: at}}, nil
}

// Errors of this aggregate, matched by code at the edge.
var (
	ErrUserNotFound        = kernel.NotFound("user_not_found", "User not found")
	ErrSuperuserSelfDelete = kernel.Rule("superuser_self_delete", "Super users are not allowed to delete themselves")
	ErrEmailTaken          = kernel.Rule("email_taken", "The user with this email already exists in the system.")
	ErrBadCredentials      = kernel.Unauthenticated("bad_credentials", "Incorrect email or password")
	ErrInactiveUser        = kernel.Rule("inactive_user", "Inactive user")
)

// RegisterEvents adds this package's events to a registry.
func RegisterEvents(r *kernel.Registry) {
	r.Register(UserRegistered{}, UserUpdated{}, UserPasswordChanged{}, UserDeleted{}, UserRestored{}, EmailClaimed{}, EmailReleased{},
		LoginSucceeded{}, LoginFailed{}, LockoutCleared{},
		SessionStarted{}, SessionRefreshed{}, RefreshTokenReused{}, SessionEnded{},
		PasswordResetIssued{}, PasswordResetUsed{})
}
