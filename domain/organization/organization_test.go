package organization_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
	"github.com/annals-dev/annals/domain/organization"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Hour)

	owner    = organization.Actor{ID: "owner"}
	member   = organization.Actor{ID: "member"}
	outsider = organization.Actor{ID: "outsider"}
	admin    = organization.Actor{ID: "admin", Superuser: true}
)

func ptr[T any](v T) *T { return &v }

func profile() organization.Profile {
	return organization.Profile{Name: "Acme", AvatarImage: "https://img/acme.png", Description: ptr("Makers"), ReworkAvailable: 2}
}

// history is an organization owned by "owner" with "member" in it.
func history() []kernel.Event {
	return []kernel.Event{
		organization.Created{OrganizationID: "o1", Profile: profile(), OwnerID: "owner", At: t0},
		organization.MemberAdded{OrganizationID: "o1", UserID: "owner", At: t0},
		organization.MemberAdded{OrganizationID: "o1", UserID: "member", At: t0},
	}
}

func given(extra ...kernel.Event) kerneltest.Scenario[organization.Organization] {
	return kerneltest.Given(organization.Organizations, append(history(), extra...)...)
}

func TestCreateMakesTheCreatorOwnerAndFirstMember(t *testing.T) {
	kerneltest.Given(organization.Organizations).
		When(func(o organization.Organization) ([]kernel.Event, error) {
			return organization.Create(o, member, "o1", profile(), t0)
		}).
		Then(t,
			organization.Created{OrganizationID: "o1", Profile: profile(), OwnerID: "member", At: t0},
			organization.MemberAdded{OrganizationID: "o1", UserID: "member", At: t0})
}

func TestCreateTwiceIsRefused(t *testing.T) {
	given().
		When(func(o organization.Organization) ([]kernel.Event, error) {
			return organization.Create(o, owner, "o1", profile(), t1)
		}).
		ThenError(t, kernel.ErrConflict)
}

func TestUpdateKeepsOnlyRealChanges(t *testing.T) {
	given().
		When(func(o organization.Organization) ([]kernel.Event, error) {
			return organization.Update(o, owner, organization.Changes{
				Name: ptr("Acme"), Description: ptr("Makers"), AvatarImage: ptr("https://img/new.png"), ReworkAvailable: ptr(5),
			}, "", t1)
		}).
		Then(t, organization.Updated{OrganizationID: "o1", At: t1,
			Changes: organization.Changes{AvatarImage: ptr("https://img/new.png"), ReworkAvailable: ptr(5)}})
}

func TestUpdateClearsTheDescriptionOnce(t *testing.T) {
	clear := func(o organization.Organization) ([]kernel.Event, error) {
		return organization.Update(o, owner, organization.Changes{ClearDescription: true}, "", t1)
	}
	cleared := organization.Updated{OrganizationID: "o1", Changes: organization.Changes{ClearDescription: true}, At: t1}
	given().When(clear).Then(t, cleared)
	given(cleared).When(clear).Then(t)
}

func TestWhoMayUpdate(t *testing.T) {
	rename := func(a organization.Actor) func(organization.Organization) ([]kernel.Event, error) {
		return func(o organization.Organization) ([]kernel.Event, error) {
			return organization.Update(o, a, organization.Changes{Name: ptr("New")}, "", t1)
		}
	}
	renamed := organization.Updated{OrganizationID: "o1", Changes: organization.Changes{Name: ptr("New")}, At: t1}
	given().When(rename(owner)).Then(t, renamed)
	given().When(rename(admin)).Then(t, renamed)
	given().When(rename(member)).ThenError(t, kernel.ErrForbidden)
	given().When(rename(outsider)).ThenError(t, kernel.ErrNotFound)
	kerneltest.Given(organization.Organizations).When(rename(admin)).ThenError(t, organization.ErrNotFound)
}

func TestOwnershipTransfer(t *testing.T) {
	transfer := func(a organization.Actor, to string) func(organization.Organization) ([]kernel.Event, error) {
		return func(o organization.Organization) ([]kernel.Event, error) {
			return organization.Update(o, a, organization.Changes{}, to, t1)
		}
	}
	t.Run("to a member", func(t *testing.T) {
		given().When(transfer(owner, "member")).
			Then(t, organization.OwnershipTransferred{OrganizationID: "o1", From: "owner", To: "member", At: t1})
	})
	t.Run("to a non-member, who joins first", func(t *testing.T) {
		given().When(transfer(admin, "newcomer")).
			Then(t,
				organization.MemberAdded{OrganizationID: "o1", UserID: "newcomer", At: t1},
				organization.OwnershipTransferred{OrganizationID: "o1", From: "owner", To: "newcomer", At: t1})
	})
	t.Run("to the owner is nothing", func(t *testing.T) {
		given().When(transfer(owner, "owner")).Then(t)
	})
	t.Run("not by a member", func(t *testing.T) {
		given().When(transfer(member, "member")).ThenError(t, organization.ErrNotPrivileged)
	})
	t.Run("the former owner stays a member and loses its rights", func(t *testing.T) {
		moved := organization.OwnershipTransferred{OrganizationID: "o1", From: "owner", To: "member", At: t1}
		given(moved).When(transfer(owner, "owner")).ThenError(t, kernel.ErrForbidden)
		given(moved).
			When(func(o organization.Organization) ([]kernel.Event, error) {
				return organization.RemoveMember(o, member, "owner", t1)
			}).
			Then(t, organization.MemberRemoved{OrganizationID: "o1", UserID: "owner", At: t1})
	})
}

func TestAddMember(t *testing.T) {
	add := func(a organization.Actor, userID string) func(organization.Organization) ([]kernel.Event, error) {
		return func(o organization.Organization) ([]kernel.Event, error) {
			return organization.AddMember(o, a, userID, t1)
		}
	}
	joined := organization.MemberAdded{OrganizationID: "o1", UserID: "newcomer", At: t1}
	given().When(add(owner, "newcomer")).Then(t, joined)
	given().When(add(admin, "newcomer")).Then(t, joined)
	given().When(add(owner, "member")).ThenError(t, organization.ErrAlreadyMember)
	given(joined).When(add(owner, "newcomer")).ThenError(t, kernel.ErrRule)
	given().When(add(member, "newcomer")).ThenError(t, kernel.ErrForbidden)
	given().When(add(outsider, "outsider")).ThenError(t, kernel.ErrNotFound)
}

func TestRemoveMember(t *testing.T) {
	remove := func(a organization.Actor, userID string) func(organization.Organization) ([]kernel.Event, error) {
		return func(o organization.Organization) ([]kernel.Event, error) {
			return organization.RemoveMember(o, a, userID, t1)
		}
	}
	left := organization.MemberRemoved{OrganizationID: "o1", UserID: "member", At: t1}
	other := organization.MemberAdded{OrganizationID: "o1", UserID: "other", At: t0}
	given().When(remove(member, "member")).Then(t, left)
	given().When(remove(owner, "member")).Then(t, left)
	given().When(remove(admin, "member")).Then(t, left)
	given(other).When(remove(member, "other")).ThenError(t, kernel.ErrForbidden)
	given().When(remove(owner, "owner")).ThenError(t, organization.ErrOwnerNotRemovable)
	given().When(remove(admin, "owner")).ThenError(t, organization.ErrOwnerNotRemovable)
	given().When(remove(owner, "outsider")).ThenError(t, organization.ErrNotMember)
	given(left).When(remove(member, "member")).ThenError(t, kernel.ErrNotFound)
	given().When(remove(outsider, "outsider")).ThenError(t, organization.ErrNotFound)
}

func TestDeleteTakesTheMembershipsAlong(t *testing.T) {
	del := func(a organization.Actor) func(organization.Organization) ([]kernel.Event, error) {
		return func(o organization.Organization) ([]kernel.Event, error) { return organization.Delete(o, a, t1) }
	}
	deleted := organization.Deleted{OrganizationID: "o1", At: t1}
	given().When(del(owner)).Then(t, deleted)
	given().When(del(admin)).Then(t, deleted)
	given().When(del(member)).ThenError(t, kernel.ErrForbidden)
	given().When(del(outsider)).ThenError(t, kernel.ErrNotFound)
	given(deleted).When(del(admin)).ThenError(t, organization.ErrNotFound)

	gone := organization.Organizations.Fold(organization.Organization{}, append(history(), deleted)...)
	if gone.IsMember("owner") || gone.IsMember("member") || gone.VisibleTo(admin) {
		t.Fatalf("a deleted organization still has members or is visible: %+v", gone)
	}
}

func TestAuthorizeMigration(t *testing.T) {
	o := organization.Organizations.Fold(organization.Organization{}, history()...)
	cases := []struct {
		name   string
		actor  organization.Actor
		source string
		want   error
	}{
		{"superuser, member source", admin, "member", nil},
		{"superuser, non-member source", admin, "outsider", organization.ErrSourceNotMember},
		{"owner is not enough", owner, "member", organization.ErrNotPrivileged},
		{"outsider does not see it", outsider, "member", organization.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := organization.AuthorizeMigration(o, c.actor, c.source); err != c.want {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestEvolveLeavesEarlierStatesAlone(t *testing.T) {
	before := organization.Organizations.Fold(organization.Organization{}, history()...)
	after := organization.Organizations.Fold(before,
		organization.MemberAdded{OrganizationID: "o1", UserID: "newcomer", At: t1},
		organization.MemberRemoved{OrganizationID: "o1", UserID: "member", At: t1})
	if before.IsMember("newcomer") || !before.IsMember("member") {
		t.Fatalf("folding on changed the earlier state's members: %v", before.Members)
	}
	if !after.IsMember("newcomer") || after.IsMember("member") {
		t.Fatalf("later state has members %v", after.Members)
	}
}

func TestEventsRoundTripThroughTheRegistry(t *testing.T) {
	r := kernel.NewRegistry()
	organization.RegisterEvents(r)
	for _, e := range append(history(),
		organization.Updated{OrganizationID: "o1", Changes: organization.Changes{Name: ptr("N"), ClearDescription: true}, At: t1},
		organization.OwnershipTransferred{OrganizationID: "o1", From: "owner", To: "member", At: t1},
		organization.MemberRemoved{OrganizationID: "o1", UserID: "member", At: t1},
		organization.Deleted{OrganizationID: "o1", At: t1},
	) {
		typ, data, err := r.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := r.Decode(typ, data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: %#v came back as %#v", typ, e, back)
		}
	}
}
