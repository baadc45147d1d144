package community_test

import (
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/kernel/kerneltest"
)

var t1 = t0.Add(time.Hour)

func restoreTo(target ...kernel.Event) func(community.Community) ([]kernel.Event, error) {
	state := community.Communities.Fold(community.Community{}, target...)
	return func(c community.Community) ([]kernel.Event, error) { return community.Restore(c, state, t1) }
}

func TestRestoreCommunityLifecycle(t *testing.T) {
	deleted := community.Deleted{CommunityID: "c1", At: t0}
	kerneltest.Given(community.Communities, created()).When(restoreTo()).Then(t, community.Deleted{CommunityID: "c1", At: t1})
	kerneltest.Given(community.Communities, created(), deleted).When(restoreTo()).Then(t)
	kerneltest.Given(community.Communities, created(), community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0}, deleted).
		When(restoreTo(created(), community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0})).
		Then(t, community.Restored{CommunityID: "c1", Name: "Riverside", CreatedAt: t0, At: t1})
	kerneltest.Given(community.Communities).When(restoreTo(created())).ThenError(t, community.ErrCommunityNotFound)

	back := community.Communities.Fold(community.Community{}, created(), community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0},
		deleted, community.Restored{CommunityID: "c1", Name: "Riverside", CreatedAt: t0, At: t1})
	if !back.Exists() || !back.IsMember("u1") || back.Name != "Riverside" {
		t.Fatalf("restored community %+v", back)
	}
}

func TestRestoreChangesNameLogoAndMembersBack(t *testing.T) {
	name, logo := "Hillside", "hill.png"
	kerneltest.Given(community.Communities, created(),
		community.Updated{CommunityID: "c1", Changes: community.Changes{Name: &name, Logo: &logo}, At: t0},
		community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0}).
		When(restoreTo(created())).
		Then(t,
			community.Updated{CommunityID: "c1", Changes: community.Changes{Name: ptr("Riverside"), Logo: ptr("")}, At: t1},
			community.MemberRemoved{CommunityID: "c1", UserID: "u1", At: t1})
	kerneltest.Given(community.Communities, created()).
		When(restoreTo(created(), community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t0})).
		Then(t, community.MemberAdded{CommunityID: "c1", UserID: "u1", At: t1})
}

func TestRestoreJoinRequests(t *testing.T) {
	msg := ptr("let me in")
	asked := community.JoinRequested{CommunityID: "c1", RequestID: "q1", UserID: "u1", Message: msg, At: t0}
	approved := community.JoinApproved{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t0}
	t.Run("a request undone is withdrawn", func(t *testing.T) {
		kerneltest.Given(community.Communities, created(), asked).When(restoreTo(created())).
			Then(t, community.JoinWithdrawn{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t1})
	})
	t.Run("a withdrawal redone files the request again", func(t *testing.T) {
		kerneltest.Given(community.Communities, created(), asked, community.JoinWithdrawn{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t0}).
			When(restoreTo(created(), asked)).
			Then(t, community.JoinRequested{CommunityID: "c1", RequestID: "q1", UserID: "u1", Message: msg, At: t1})
	})
	t.Run("an approval undone reopens the request and removes the member", func(t *testing.T) {
		kerneltest.Given(community.Communities, created(), asked, approved).When(restoreTo(created(), asked)).
			Then(t,
				community.JoinReopened{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t1},
				community.MemberRemoved{CommunityID: "c1", UserID: "u1", At: t1})
	})
	t.Run("an approval redone approves again", func(t *testing.T) {
		kerneltest.Given(community.Communities, created(), asked).When(restoreTo(created(), asked, approved)).
			Then(t, community.JoinApproved{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t1})
	})
	t.Run("an approval turned into a rejection", func(t *testing.T) {
		kerneltest.Given(community.Communities, created(), asked, approved).
			When(restoreTo(created(), asked, community.JoinRejected{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t0})).
			Then(t,
				community.JoinReopened{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t1},
				community.JoinRejected{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t1},
				community.MemberRemoved{CommunityID: "c1", UserID: "u1", At: t1})
	})
	reopened := community.Communities.Fold(community.Community{}, created(), asked, approved,
		community.JoinReopened{CommunityID: "c1", RequestID: "q1", UserID: "u1", At: t1})
	if r := reopened.Requests["q1"]; r.Status != community.Pending || r.Message != msg {
		t.Fatalf("reopened request %+v", r)
	}
}

func ptr[T any](v T) *T { return &v }
