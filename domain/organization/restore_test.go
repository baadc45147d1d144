package organization_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
	"github.com/annals-dev/annals/domain/organization"
)

// restoreTo decides bringing the organization back to the state folded
// from target.
func restoreTo(target ...kernel.Event) func(organization.Organization) ([]kernel.Event, error) {
	state := organization.Organizations.Fold(organization.Organization{}, target...)
	return func(o organization.Organization) ([]kernel.Event, error) { return organization.Restore(o, state, t1) }
}

func TestRestoreBeforeCreationDeletes(t *testing.T) {
	given().When(restoreTo()).Then(t, organization.Deleted{OrganizationID: "o1", At: t1})
	given(organization.Deleted{OrganizationID: "o1", At: t0}).When(restoreTo()).Then(t)
}

func TestRestoreUndoesADeletionWithItsMembers(t *testing.T) {
	given(organization.Deleted{OrganizationID: "o1", At: t0}).
		When(restoreTo(history()...)).
		Then(t, organization.Restored{
			OrganizationID: "o1", Profile: profile(), OwnerID: "owner",
			Members: map[string]time.Time{"owner": t0, "member": t0}, CreatedAt: t0, At: t1,
		})
	o := organization.Organizations.Fold(organization.Organization{}, append(history(),
		organization.Deleted{OrganizationID: "o1", At: t0},
		organization.Restored{OrganizationID: "o1", Profile: profile(), OwnerID: "owner",
			Members: map[string]time.Time{"owner": t0, "member": t0}, CreatedAt: t0, At: t1})...)
	if !o.Exists() || !o.IsMember("member") || !o.IsMember("owner") || o.OwnerID != "owner" || !o.UpdatedAt.Equal(t1) {
		t.Fatalf("restored organization %+v", o)
	}
}

func TestRestoreChangesTheProfileBack(t *testing.T) {
	given(organization.Updated{OrganizationID: "o1", At: t0, Changes: organization.Changes{
		Name: ptr("Renamed"), ClearDescription: true, ReworkAvailable: ptr(9),
	}}).
		When(restoreTo(history()...)).
		Then(t, organization.Updated{OrganizationID: "o1", At: t1, Changes: organization.Changes{
			Name: ptr("Acme"), Description: ptr("Makers"), ReworkAvailable: ptr(2),
		}})
}

func TestRestoreUndoesAnOwnershipTransferAndTheJoinItBrought(t *testing.T) {
	transfer := []kernel.Event{
		organization.MemberAdded{OrganizationID: "o1", UserID: "heir", At: t0},
		organization.OwnershipTransferred{OrganizationID: "o1", From: "owner", To: "heir", At: t0},
	}
	given(transfer...).
		When(restoreTo(history()...)).
		Then(t,
			organization.OwnershipTransferred{OrganizationID: "o1", From: "heir", To: "owner", At: t1},
			organization.MemberRemoved{OrganizationID: "o1", UserID: "heir", At: t1})
	// Redone: the heir joins before it owns.
	given().
		When(restoreTo(append(history(), transfer...)...)).
		Then(t,
			organization.MemberAdded{OrganizationID: "o1", UserID: "heir", At: t1},
			organization.OwnershipTransferred{OrganizationID: "o1", From: "owner", To: "heir", At: t1})
}

func TestRestoreChangesMembersBack(t *testing.T) {
	given(organization.MemberRemoved{OrganizationID: "o1", UserID: "member", At: t0}).
		When(restoreTo(history()...)).
		Then(t, organization.MemberAdded{OrganizationID: "o1", UserID: "member", At: t1})
	given(organization.MemberAdded{OrganizationID: "o1", UserID: "guest", At: t0}).
		When(restoreTo(history()...)).
		Then(t, organization.MemberRemoved{OrganizationID: "o1", UserID: "guest", At: t1})
}

func TestRestoreNeedsTheOrganizationToExistSomewhere(t *testing.T) {
	kerneltest.Given(organization.Organizations).When(restoreTo(history()...)).ThenError(t, organization.ErrNotFound)
}
