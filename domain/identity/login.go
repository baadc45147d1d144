package identity

import (
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// LockoutPolicy says how many wrong passwords in a row lock an account, and
// for how long.
type LockoutPolicy struct {
	MaxFailures int
	Duration    time.Duration
}

// DefaultLockout locks an account for 15 minutes after 5 wrong passwords in
// a row.
var DefaultLockout = LockoutPolicy{MaxFailures: 5, Duration: 15 * time.Minute}

// Locked reports whether the account refuses sign-in at now.
func (u User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// LoginSucceeded: the right password; the failure count starts again.
type LoginSucceeded struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
}

// LoginFailed: a wrong password. Failures is the count in a row after this
// one; LockedUntil is set when this failure locks the account. Both are
// stored as decided, so a later policy change does not rewrite history.
type LoginFailed struct {
	UserID      string    `json:"user_id"`
	Failures    int       `json:"failures"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	At          time.Time `json:"at"`
}

// LockoutCleared: the failure count and any lock are lifted (a password
// reset proves the owner is back).
type LockoutCleared struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
}

func (LoginSucceeded) EventType() string { return "identity.LoginSucceeded" }
func (LoginFailed) EventType() string    { return "identity.LoginFailed" }
func (LockoutCleared) EventType() string { return "identity.LockoutCleared" }

// Refusal makes a recorded failure fail the login: the failure that locks
// the account says so, the others do not tell more than a wrong password.
func (e LoginFailed) Refusal() error {
	if !e.LockedUntil.IsZero() {
		return ErrAccountLocked
	}
	return ErrBadCredentials
}

func evolveSignIn(u User, e kernel.Event) User {
	switch e := e.(type) {
	case LoginSucceeded:
		u.FailedLogins, u.LockedUntil, u.LastLogin = 0, time.Time{}, e.At
	case LoginFailed:
		u.FailedLogins, u.LockedUntil = e.Failures, e.LockedUntil
	case LockoutCleared:
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
	}
	return u
}

// AttemptLogin decides a sign-in with a password that matched the account
// or not. While the account is locked even the right password is refused,
// and nothing is recorded, so waiting out the lock is the only way in. A
// wrong password is recorded (see Refusing); once a lock has expired the
// count starts again.
func AttemptLogin(u User, passwordMatches bool, p LockoutPolicy, now time.Time) ([]kernel.Event, error) {
	switch {
	case !u.Exists():
		return nil, ErrBadCredentials
	case u.Locked(now):
		return nil, ErrAccountLocked
	case !passwordMatches:
		failures := u.FailedLogins
		if !u.LockedUntil.IsZero() {
			failures = 0 // the previous lock has run out
		}
		failed := LoginFailed{UserID: u.ID, Failures: failures + 1, At: now}
		if p.MaxFailures > 0 && failed.Failures >= p.MaxFailures {
			failed.LockedUntil = now.Add(p.Duration)
		}
		return []kernel.Event{failed}, nil
	case !u.Active:
		return nil, ErrInactiveUser
	default:
		return []kernel.Event{LoginSucceeded{UserID: u.ID, At: now}}, nil
	}
}

// ResetPassword decides a new password set through a reset: the owner
// proved control of the email, so any lockout ends too.
func ResetPassword(u User, hash string, at time.Time) ([]kernel.Event, error) {
	events, err := ChangePassword(u, hash, at)
	if err != nil {
		return nil, err
	}
	if u.FailedLogins > 0 || !u.LockedUntil.IsZero() {
		events = append(events, LockoutCleared{UserID: u.ID, At: at})
	}
	return events, nil
}

// Errors of signing in.
var (
	ErrAccountLocked = kernel.Forbidden("account_locked",
		"Account is locked after too many failed login attempts; try again later")
)
