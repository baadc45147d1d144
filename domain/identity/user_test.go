package identity_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func registered() identity.UserRegistered {
	return identity.UserRegistered{UserID: "u1", Email: "Ann@Example.com", PasswordHash: "h", Active: true, ReworkAvailable: 2, At: t0}
}

func ptr[T any](v T) *T { return &v }

func TestRegisterTwiceIsRefused(t *testing.T) {
	kerneltest.Given(identity.Users, registered()).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.Register(u, registered()) }).
		ThenError(t, kernel.ErrConflict)
}

func TestUpdateKeepsOnlyRealChanges(t *testing.T) {
	kerneltest.Given(identity.Users, registered()).
		When(func(u identity.User) ([]kernel.Event, error) {
			return identity.Update(u, identity.UserChanges{Email: ptr("Ann@Example.com"), FullName: ptr("Ann"), Active: ptr(true)}, t0)
		}).
		Then(t, identity.UserUpdated{UserID: "u1", Changes: identity.UserChanges{FullName: ptr("Ann")}, At: t0})
}

func TestUpdateWithoutChangesDecidesNothing(t *testing.T) {
	kerneltest.Given(identity.Users, registered()).
		When(func(u identity.User) ([]kernel.Event, error) {
			return identity.Update(u, identity.UserChanges{Superuser: ptr(false), ClearFullName: true}, t0)
		}).
		Then(t)
}

func TestDeletedUserCannotChange(t *testing.T) {
	deleted := identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t0}
	kerneltest.Given(identity.Users, registered(), deleted).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.ChangePassword(u, "h2", t0) }).
		ThenError(t, kernel.ErrNotFound)
	kerneltest.Given(identity.Users, registered(), deleted).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.Delete(u, "admin", t0) }).
		ThenError(t, kernel.ErrNotFound)
}

func TestDeleteCarriesTheEmailToRelease(t *testing.T) {
	kerneltest.Given(identity.Users, registered()).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.Delete(u, "admin", t0) }).
		Then(t, identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t0})
}

func TestEmailClaims(t *testing.T) {
	claimed := identity.EmailClaimed{Email: "ann@example.com", UserID: "u1", At: t0}
	t.Run("free email is claimed under its normalized key", func(t *testing.T) {
		kerneltest.Given(identity.EmailClaims).
			When(func(c identity.EmailClaim) ([]kernel.Event, error) {
				return identity.Claim(c, "ANN@example.com", "u1", false, t0)
			}).
			Then(t, claimed)
	})
	t.Run("held email is taken", func(t *testing.T) {
		kerneltest.Given(identity.EmailClaims, claimed).
			When(func(c identity.EmailClaim) ([]kernel.Event, error) {
				return identity.Claim(c, "ann@example.com", "u2", true, t0)
			}).
			ThenError(t, kernel.ErrRule)
	})
	t.Run("a young unused claim is a sign-up in progress", func(t *testing.T) {
		kerneltest.Given(identity.EmailClaims, claimed).
			When(func(c identity.EmailClaim) ([]kernel.Event, error) {
				return identity.Claim(c, "ann@example.com", "u2", false, t0.Add(identity.ClaimGrace/2))
			}).
			ThenError(t, identity.ErrEmailTaken)
	})
	t.Run("an old unused claim is taken over", func(t *testing.T) {
		later := t0.Add(2 * identity.ClaimGrace)
		kerneltest.Given(identity.EmailClaims, claimed).
			When(func(c identity.EmailClaim) ([]kernel.Event, error) {
				return identity.Claim(c, "ann@example.com", "u2", false, later)
			}).
			Then(t, identity.EmailClaimed{Email: "ann@example.com", UserID: "u2", At: later})
	})
	t.Run("released email is free again; only the holder releases", func(t *testing.T) {
		kerneltest.Given(identity.EmailClaims, claimed).
			When(func(c identity.EmailClaim) ([]kernel.Event, error) {
				return identity.Release(c, "ann@example.com", "u2")
			}).
			Then(t)
		kerneltest.Given(identity.EmailClaims, claimed, identity.EmailReleased{Email: "ann@example.com", UserID: "u1"}).
			When(func(c identity.EmailClaim) ([]kernel.Event, error) {
				return identity.Claim(c, "ann@example.com", "u2", false, t0)
			}).
			Then(t, identity.EmailClaimed{Email: "ann@example.com", UserID: "u2", At: t0})
	})
}

func TestASuperuserCannotDeleteThemselves(t *testing.T) {
	admin := registered()
	admin.Superuser = true
	kerneltest.Given(identity.Users, admin).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.Delete(u, "u1", t0) }).
		ThenError(t, identity.ErrSuperuserSelfDelete)
	kerneltest.Given(identity.Users, admin).
		When(func(u identity.User) ([]kernel.Event, error) { return identity.Delete(u, "other-admin", t0) }).
		Then(t, identity.UserDeleted{UserID: "u1", Email: "Ann@Example.com", At: t0})
}
