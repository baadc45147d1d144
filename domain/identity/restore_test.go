package identity_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
)

var t1 = t0.Add(time.Hour)

// restoreTo decides bringing the state back to target.
func restoreTo(target identity.User) func(identity.User) ([]kernel.Event, error) {
	return func(u identity.User) ([]kernel.Event, error) { return identity.Restore(u, target, t1) }
}

func TestRestoreBeforeRegistrationDeletes(t *testing.T) {
	kerneltest.Given(identity.Users, registered()).
		When(restoreTo(identity.User{})).
		Then(t, identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t1})
	// Already gone: nothing to do.
	kerneltest.Given(identity.Users, registered(), identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t0}).
		When(restoreTo(identity.User{})).
		Then(t)
}

func TestRestoreUndoesADeletionWithTheEarlierProfile(t *testing.T) {
	before := identity.Users.Fold(identity.User{}, registered(), identity.LoginFailed{UserID: "u1", Failures: 1, At: t0})
	kerneltest.Given(identity.Users, registered(), identity.LoginFailed{UserID: "u1", Failures: 1, At: t0},
		identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t0}).
		When(restoreTo(before)).
		Then(t, identity.UserRestored{
			UserID: "u1", Email: "Ann@Example.com", Active: true, ReworkAvailable: 2, CreatedAt: t0, FailedLogins: 1, At: t1,
		})

	restored := identity.Users.Fold(before, identity.UserDeleted{UserID: "u1", At: t0},
		identity.UserRestored{UserID: "u1", Email: "Ann@Example.com", Active: true, ReworkAvailable: 2, CreatedAt: t0, FailedLogins: 1, At: t1})
	if !restored.Exists() || restored.Email != before.Email || restored.PasswordHash != "h" || restored.FailedLogins != 1 || !restored.UpdatedAt.Equal(t1) {
		t.Fatalf("restored account %+v", restored)
	}
}

func TestRestoreChangesTheProfileBack(t *testing.T) {
	changed := identity.UserUpdated{UserID: "u1", At: t0, Changes: identity.UserChanges{
		Email: ptr("new@example.com"), FullName: ptr("Ann"), Superuser: ptr(true), ReworkAvailable: ptr(5),
	}}
	kerneltest.Given(identity.Users, registered(), changed).
		When(restoreTo(identity.Users.Fold(identity.User{}, registered()))).
		Then(t, identity.UserUpdated{UserID: "u1", At: t1, Changes: identity.UserChanges{
			Email: ptr("Ann@Example.com"), ClearFullName: true, Superuser: ptr(false), ReworkAvailable: ptr(2),
		}})
}

func TestRestoreLeavesThePasswordAlone(t *testing.T) {
	kerneltest.Given(identity.Users, registered(), identity.UserPasswordChanged{UserID: "u1", PasswordHash: "h2", At: t0}).
		When(restoreTo(identity.Users.Fold(identity.User{}, registered()))).
		Then(t)
}

func TestRestoreRedoesADeletion(t *testing.T) {
	deleted := identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t0}
	target := identity.Users.Fold(identity.User{}, registered(), deleted)
	kerneltest.Given(identity.Users, registered()).
		When(restoreTo(target)).
		Then(t, identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t1})
}

func TestRestoreNeedsTheAccountToExistSomewhere(t *testing.T) {
	kerneltest.Given(identity.Users).
		When(restoreTo(identity.Users.Fold(identity.User{}, registered()))).
		ThenError(t, identity.ErrUserNotFound)
}
