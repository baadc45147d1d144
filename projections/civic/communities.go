package civic

import (
	"time"

	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/projections"
)

var (
	communities  = projections.Into("communities", "id", "name", "logo", "created_at", "updated_at")
	members      = projections.Into("community_members", "community_id", "user_id", "added_at")
	joinRequests = projections.Into("join_requests", "id", "community_id", "user_id", "message", "status", "created_at")
)

// Communities projects communities, their members and join requests. The
// members and requests of a deleted community or user stay, as they do in
// the community's stream, so that restoring it brings them back; queries
// show only those of communities and users that exist.
func Communities() projections.Projector {
	return define("civic.communities", 1,
		projections.On(func(e community.Created) []projections.Write {
			return writes(communities.Row(e.CommunityID, e.Name, e.Logo, e.At, e.At))
		}),
		projections.On(func(e community.Updated) []projections.Write {
			return writes(projections.Exec(`
UPDATE communities SET name = coalesce($2, name), logo = coalesce($3, logo), updated_at = $4 WHERE id = $1`,
				e.CommunityID, e.Changes.Name, e.Changes.Logo, e.At))
		}),
		projections.On(func(e community.Deleted) []projections.Write {
			return writes(projections.Exec(`DELETE FROM communities WHERE id = $1`, e.CommunityID))
		}),
		projections.On(func(e community.Restored) []projections.Write {
			return writes(communities.Row(e.CommunityID, e.Name, e.Logo, e.CreatedAt, e.At))
		}),
		projections.On(func(e community.MemberRemoved) []projections.Write {
			return writes(projections.Exec(`DELETE FROM community_members WHERE community_id = $1 AND user_id = $2`, e.CommunityID, e.UserID))
		}),
		projections.On(func(e community.JoinWithdrawn) []projections.Write {
			return writes(projections.Exec(`DELETE FROM join_requests WHERE id = $1`, e.RequestID))
		}),
		projections.On(func(e community.JoinReopened) []projections.Write {
			return writes(projections.Exec(`UPDATE join_requests SET status = $2, decided_at = NULL WHERE id = $1`, e.RequestID, community.Pending))
		}),
		projections.On(func(e community.MemberAdded) []projections.Write {
			return writes(addMember(e.CommunityID, e.UserID, e.At))
		}),
		projections.On(func(e community.JoinRequested) []projections.Write {
			return writes(joinRequests.Row(e.RequestID, e.CommunityID, e.UserID, e.Message, community.Pending, e.At))
		}),
		projections.On(func(e community.JoinApproved) []projections.Write {
			return writes(decideRequest(e.RequestID, community.Approved, e.At), addMember(e.CommunityID, e.UserID, e.At))
		}),
		projections.On(func(e community.JoinRejected) []projections.Write {
			return writes(decideRequest(e.RequestID, community.Rejected, e.At))
		}),
	)
}

func addMember(communityID, userID string, at time.Time) projections.Write {
	return members.Row(communityID, userID, at)
}

func decideRequest(requestID, status string, at time.Time) projections.Write {
	return projections.Exec(`UPDATE join_requests SET status = $2, decided_at = $3 WHERE id = $1`, requestID, status, at)
}
