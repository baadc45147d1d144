package civic

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/projections"
)

// Communities projects communities, their members and join requests.
func Communities() projections.Projector {
	return newProjector("civic.communities", 1,
		on(func(ctx context.Context, tx pgx.Tx, e community.Created) error {
			return exec(ctx, tx, sql(`
INSERT INTO civic.communities (id, name, logo, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
				e.CommunityID, e.Name, e.Logo, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e community.Updated) error {
			return exec(ctx, tx, sql(`
UPDATE civic.communities SET name = coalesce($2, name), logo = coalesce($3, logo), updated_at = $4 WHERE id = $1`,
				e.CommunityID, e.Changes.Name, e.Changes.Logo, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e community.Deleted) error {
			return exec(ctx, tx,
				sql(`DELETE FROM civic.communities WHERE id = $1`, e.CommunityID),
				sql(`DELETE FROM civic.community_members WHERE community_id = $1`, e.CommunityID),
				sql(`DELETE FROM civic.join_requests WHERE community_id = $1`, e.CommunityID))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e community.MemberAdded) error {
			return exec(ctx, tx, addMember(e.CommunityID, e.UserID, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e community.JoinRequested) error {
			return exec(ctx, tx, sql(`
INSERT INTO civic.join_requests (id, community_id, user_id, message, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				e.RequestID, e.CommunityID, e.UserID, e.Message, community.Pending, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e community.JoinApproved) error {
			return exec(ctx, tx, decideRequest(e.RequestID, community.Approved, e.At), addMember(e.CommunityID, e.UserID, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e community.JoinRejected) error {
			return exec(ctx, tx, decideRequest(e.RequestID, community.Rejected, e.At))
		}),
		on(func(ctx context.Context, tx pgx.Tx, e identity.UserDeleted) error {
			return exec(ctx, tx,
				sql(`DELETE FROM civic.community_members WHERE user_id = $1`, e.UserID),
				sql(`DELETE FROM civic.join_requests WHERE user_id = $1`, e.UserID))
		}),
	)
}

func addMember(communityID, userID string, at time.Time) stmt {
	return sql(`
INSERT INTO civic.community_members (community_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		communityID, userID, at)
}

func decideRequest(requestID, status string, at time.Time) stmt {
	return sql(`UPDATE civic.join_requests SET status = $2, decided_at = $3 WHERE id = $1`, requestID, status, at)
}
