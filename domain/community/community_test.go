package community_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func created() community.Created {
	return community.Created{CommunityID: "c1", Name: "Riverside", At: t0}
}

func requested(id, user string) community.JoinRequested {
	return community.JoinRequested{CommunityID: "c1", RequestID: id, UserID: user, At: t0}
}

func TestUpdateKeepsOnlyRealChanges(t *testing.T) {
	same, logo := "Riverside", "logo.png"
	kerneltest.Given(community.Communities, created()).
		When(func(c community.Community) ([]kernel.Event, error) {
			return community.Update(c, community.Changes{Name: &same, Logo: &logo}, t0)
		}).
		Then(t, community.Updated{CommunityID: "c1", Changes: community.Changes{Logo: &logo}, At: t0})
	kerneltest.Given(community.Communities, created()).
		When(func(c community.Community) ([]kernel.Event, error) {
			return community.Update(c, community.Changes{Name: &same}, t0)
		}).
		Then(t)
}

func TestDeletedCommunityIsNotFound(t *testing.T) {
	gone := []kernel.Event{created(), community.Deleted{CommunityID: "c1", At: t0}}
	kerneltest.Given(community.Communities, gone...).
		When(func(c community.Community) ([]kernel.Event, error) { return community.AddMember(c, "u1", t0) }).
		ThenError(t, community.ErrCommunityNotFound)
	kerneltest.Given(community.Communities, gone...).
		When(func(c community.Community) ([]kernel.Event, error) { return community.Delete(c, t0) }).
		ThenError(t, kernel.ErrNotFound)
}

func TestAMemberIsAddedOnce(t *testing.T) {
	kerneltest.Given(community.Communities, created()).
		When(func(c community.Community) ([]kernel.Event, error) { return community.AddMember(c, "u1", t0) }).
		Then(t, community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0})
	kerneltest.Given(community.Communities, created(), community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0}).
		When(func(c community.Community) ([]kernel.Event, error) { return community.AddMember(c, "u1", t0) }).
		ThenError(t, community.ErrAlreadyMember)
}

func TestOnePendingRequestPerUser(t *testing.T) {
	kerneltest.Given(community.Communities, created()).
		When(func(c community.Community) ([]kernel.Event, error) {
			return community.RequestJoin(c, requested("q1", "u1"))
		}).
		Then(t, requested("q1", "u1"))
	kerneltest.Given(community.Communities, created(), requested("q1", "u1")).
		When(func(c community.Community) ([]kernel.Event, error) {
			return community.RequestJoin(c, requested("q2", "u1"))
		}).
		ThenError(t, community.ErrRequestPending)
	rejected := community.JoinRejected{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t0}
	kerneltest.Given(community.Communities, created(), requested("q1", "u1"), rejected).
		When(func(c community.Community) ([]kernel.Event, error) {
			return community.RequestJoin(c, requested("q2", "u1"))
		}).
		Then(t, requested("q2", "u1"))
	kerneltest.Given(community.Communities, created(), community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0}).
		When(func(c community.Community) ([]kernel.Event, error) {
			return community.RequestJoin(c, requested("q1", "u1"))
		}).
		ThenError(t, community.ErrAlreadyMember)
}

func TestApprovalMakesAMemberAndDecidesOnce(t *testing.T) {
	approved := community.JoinApproved{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t0}
	kerneltest.Given(community.Communities, created(), requested("q1", "u1")).
		When(func(c community.Community) ([]kernel.Event, error) { return community.Decide(c, "q1", true, t0) }).
		Then(t, approved)
	c := community.Communities.Fold(community.Community{}, created(), requested("q1", "u1"), approved)
	if !c.IsMember("u1") {
		t.Fatal("approved user is not a member")
	}
	kerneltest.Given(community.Communities, created(), requested("q1", "u1"), approved).
		When(func(c community.Community) ([]kernel.Event, error) { return community.Decide(c, "q1", false, t0) }).
		ThenError(t, community.ErrRequestDecided)
	kerneltest.Given(community.Communities, created()).
		When(func(c community.Community) ([]kernel.Event, error) { return community.Decide(c, "nope", true, t0) }).
		ThenError(t, community.ErrRequestNotFound)
}

func TestEvolveNeverAltersAnEarlierState(t *testing.T) {
	before := community.Communities.Fold(community.Community{}, created(), requested("q1", "u1"))
	after := community.Communities.Evolve(before, community.JoinApproved{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t0})
	if before.IsMember("u1") || before.Requests["q1"].Status != community.Pending {
		t.Fatal("evolving changed the earlier state's maps")
	}
	if !after.IsMember("u1") || after.Requests["q1"].Status != community.Approved {
		t.Fatal("the new state lacks the approval")
	}
}
