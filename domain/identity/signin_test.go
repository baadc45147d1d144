package identity_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
)

var policy = identity.LockoutPolicy{MaxFailures: 3, Duration: 10 * time.Minute}

func attempt(matches bool, now time.Time) func(identity.User) ([]kernel.Event, error) {
	return func(u identity.User) ([]kernel.Event, error) { return identity.AttemptLogin(u, matches, policy, now) }
}

func failed(n int, at time.Time) identity.LoginFailed {
	return identity.LoginFailed{UserID: "u1", Failures: n, At: at}
}

func TestWrongPasswordIsCountedAndRefused(t *testing.T) {
	out := kerneltest.Given(identity.Users, registered(), failed(1, t0)).When(attempt(false, t0))
	out.Then(t, failed(2, t0))
	if err := identity.Refusal([]kernel.Event{failed(2, t0)}); err != identity.ErrBadCredentials {
		t.Fatalf("refusal of a counted failure = %v, want bad credentials", err)
	}
}

func TestTheFailureThatReachesTheLimitLocks(t *testing.T) {
	locking := identity.LoginFailed{UserID: "u1", Failures: 3, LockedUntil: t0.Add(10 * time.Minute), At: t0}
	kerneltest.Given(identity.Users, registered(), failed(1, t0), failed(2, t0)).When(attempt(false, t0)).Then(t, locking)
	if err := identity.Refusal([]kernel.Event{locking}); err != identity.ErrAccountLocked {
		t.Fatalf("refusal of the locking failure = %v, want account locked", err)
	}
}

func TestLockedAccountRefusesEvenTheRightPasswordAndRecordsNothing(t *testing.T) {
	locked := identity.LoginFailed{UserID: "u1", Failures: 3, LockedUntil: t0.Add(10 * time.Minute), At: t0}
	kerneltest.Given(identity.Users, registered(), locked).
		When(attempt(true, t0.Add(10*time.Minute-time.Second))).
		ThenError(t, identity.ErrAccountLocked)
}

func TestAfterTheLockTheRightPasswordWorksAndResetsTheCount(t *testing.T) {
	locked := identity.LoginFailed{UserID: "u1", Failures: 3, LockedUntil: t0.Add(10 * time.Minute), At: t0}
	later := t0.Add(10 * time.Minute)
	kerneltest.Given(identity.Users, registered(), locked).When(attempt(true, later)).
		Then(t, identity.LoginSucceeded{UserID: "u1", At: later})

	u := identity.Users.Fold(identity.User{}, registered(), locked, identity.LoginSucceeded{UserID: "u1", At: later})
	if u.FailedLogins != 0 || !u.LockedUntil.IsZero() || !u.LastLogin.Equal(later) {
		t.Fatalf("after success: failures %d, locked until %v, last login %v", u.FailedLogins, u.LockedUntil, u.LastLogin)
	}
}

func TestAFailureAfterAnExpiredLockCountsFromOne(t *testing.T) {
	locked := identity.LoginFailed{UserID: "u1", Failures: 3, LockedUntil: t0.Add(10 * time.Minute), At: t0}
	later := t0.Add(11 * time.Minute)
	kerneltest.Given(identity.Users, registered(), locked).When(attempt(false, later)).Then(t, failed(1, later))
}

func TestInactiveUserCannotLogInButWrongPasswordsStillCount(t *testing.T) {
	deactivated := identity.UserUpdated{UserID: "u1", Changes: identity.UserChanges{Active: ptr(false)}, At: t0}
	kerneltest.Given(identity.Users, registered(), deactivated).When(attempt(true, t0)).ThenError(t, identity.ErrInactiveUser)
	kerneltest.Given(identity.Users, registered(), deactivated).When(attempt(false, t0)).Then(t, failed(1, t0))
}

func TestUnknownOrDeletedUserIsBadCredentials(t *testing.T) {
	kerneltest.Given(identity.Users).When(attempt(true, t0)).ThenError(t, identity.ErrBadCredentials)
	kerneltest.Given(identity.Users, registered(), identity.UserDeleted{UserID: "u1", At: t0}).
		When(attempt(true, t0)).ThenError(t, identity.ErrBadCredentials)
}

func TestLoginDoesNotTouchTheProfileTimestamp(t *testing.T) {
	u := identity.Users.Fold(identity.User{}, registered(), failed(1, t0.Add(time.Hour)), identity.LoginSucceeded{UserID: "u1", At: t0.Add(2 * time.Hour)})
	if !u.UpdatedAt.Equal(t0) {
		t.Fatalf("updated at %v, want %v: signing in is not a profile change", u.UpdatedAt, t0)
	}
}

func TestPasswordResetLiftsTheLockout(t *testing.T) {
	locked := identity.LoginFailed{UserID: "u1", Failures: 3, LockedUntil: t0.Add(10 * time.Minute), At: t0}
	kerneltest.Given(identity.Users, registered(), locked).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.ResetPassword(u, "h2", t0) }).
		Then(t, identity.UserPasswordChanged{UserID: "u1", PasswordHash: "h2", At: t0}, identity.LockoutCleared{UserID: "u1", At: t0})
	kerneltest.Given(identity.Users, registered()).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.ResetPassword(u, "h2", t0) }).
		Then(t, identity.UserPasswordChanged{UserID: "u1", PasswordHash: "h2", At: t0})
}

func started() identity.SessionStarted {
	return identity.SessionStarted{SessionID: "s1", UserID: "u1", RefreshID: "r1", At: t0}
}

func TestRefreshRotatesTheToken(t *testing.T) {
	kerneltest.Given(identity.Sessions, started()).
		When(func(s identity.Session) ([]kernel.Event, error) {
			return identity.RotateRefresh(s, "u1", "r1", "r2", t0)
		}).
		Then(t, identity.SessionRefreshed{SessionID: "s1", RefreshID: "r2", At: t0})
}

func TestReusingARotatedRefreshTokenEndsTheSession(t *testing.T) {
	rotated := identity.SessionRefreshed{SessionID: "s1", RefreshID: "r2", At: t0}
	reused := identity.RefreshTokenReused{SessionID: "s1", RefreshID: "r1", At: t0}
	kerneltest.Given(identity.Sessions, started(), rotated).
		When(func(s identity.Session) ([]kernel.Event, error) {
			return identity.RotateRefresh(s, "u1", "r1", "r3", t0)
		}).
		Then(t, reused)
	if err := identity.Refusal([]kernel.Event{reused}); err != identity.ErrRefreshTokenReused {
		t.Fatalf("refusal = %v, want refresh token reused", err)
	}
	// The thief's fresh token is dead too.
	kerneltest.Given(identity.Sessions, started(), rotated, reused).
		When(func(s identity.Session) ([]kernel.Event, error) {
			return identity.RotateRefresh(s, "u1", "r2", "r3", t0)
		}).
		ThenError(t, identity.ErrSessionEnded)
}

func TestEndedSessionIsRefused(t *testing.T) {
	ended := identity.SessionEnded{SessionID: "s1", At: t0}
	s := identity.Sessions.Fold(identity.Session{}, started(), ended)
	if err := identity.CheckSession(s, "u1"); err != identity.ErrSessionEnded {
		t.Fatalf("check ended session = %v", err)
	}
	kerneltest.Given(identity.Sessions, started(), ended).
		When(func(s identity.Session) ([]kernel.Event, error) {
			return identity.RotateRefresh(s, "u1", "r1", "r2", t0)
		}).
		ThenError(t, identity.ErrSessionEnded)
	kerneltest.Given(identity.Sessions, started(), ended).
		When(func(s identity.Session) ([]kernel.Event, error) { return identity.EndSession(s, "u1", t0) }).
		Then(t)
}

func TestSessionBelongsToItsUser(t *testing.T) {
	s := identity.Sessions.Fold(identity.Session{}, started())
	if err := identity.CheckSession(s, "u1"); err != nil {
		t.Fatalf("own session refused: %v", err)
	}
	if err := identity.CheckSession(s, "u2"); err != identity.ErrUnknownSession {
		t.Fatalf("other user's session = %v, want unknown session", err)
	}
	if err := identity.CheckSession(identity.Session{}, "u1"); err != identity.ErrUnknownSession {
		t.Fatalf("missing session = %v, want unknown session", err)
	}
	kerneltest.Given(identity.Sessions, started()).
		When(func(s identity.Session) ([]kernel.Event, error) { return identity.EndSession(s, "u2", t0) }).
		ThenError(t, kernel.ErrUnauthenticated)
	kerneltest.Given(identity.Sessions, started()).
		When(func(s identity.Session) ([]kernel.Event, error) { return identity.StartSession(s, started()) }).
		ThenError(t, kernel.ErrConflict)
}

func TestResetTokenIsSingleUseAndExpires(t *testing.T) {
	key := identity.ResetKey("secret")
	issued := identity.PasswordResetIssued{TokenHash: key, UserID: "u1", ExpiresAt: t0.Add(time.Hour), At: t0}
	use := func(now time.Time) func(identity.PasswordReset) ([]kernel.Event, error) {
		return func(r identity.PasswordReset) ([]kernel.Event, error) { return identity.UseReset(r, key, now) }
	}
	kerneltest.Given(identity.PasswordResets, issued).When(use(t0.Add(time.Minute))).
		Then(t, identity.PasswordResetUsed{TokenHash: key, UserID: "u1", At: t0.Add(time.Minute)})
	kerneltest.Given(identity.PasswordResets, issued, identity.PasswordResetUsed{TokenHash: key, UserID: "u1", At: t0}).
		When(use(t0.Add(time.Minute))).ThenError(t, identity.ErrInvalidResetToken)
	kerneltest.Given(identity.PasswordResets, issued).When(use(t0.Add(time.Hour))).ThenError(t, identity.ErrInvalidResetToken)
	kerneltest.Given(identity.PasswordResets).When(use(t0)).ThenError(t, identity.ErrInvalidResetToken)
}

func TestResetKeyHidesTheToken(t *testing.T) {
	key := identity.ResetKey("secret")
	if key == "secret" || len(key) != 64 || key != identity.ResetKey("secret") || key == identity.ResetKey("secret2") {
		t.Fatalf("reset key %q is not a stable SHA-256 hex digest of the token", key)
	}
}
