package civic

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/community"
)

// Community is a community (CommunityResponse).
type Community struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Logo string `json:"logo"`
}

// Member is a user's membership (AddUserToCommunityResponse).
type Member struct {
	UserID      string    `json:"user_id"`
	CommunityID string    `json:"community_id"`
	AddedAt     time.Time `json:"added_at"`
}

// JoinRequest is a user's request to join a community.
type JoinRequest struct {
	ID          string     `json:"id"`
	CommunityID string     `json:"community_id"`
	UserID      string     `json:"user_id"`
	Message     *string    `json:"message"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at"`
}

func scanCommunity(row pgx.CollectableRow) (Community, error) {
	var c Community
	return c, row.Scan(&c.ID, &c.Name, &c.Logo)
}

func scanMember(row pgx.CollectableRow) (Member, error) {
	var m Member
	err := row.Scan(&m.CommunityID, &m.UserID, &m.AddedAt)
	m.AddedAt = m.AddedAt.UTC()
	return m, err
}

func scanJoinRequest(row pgx.CollectableRow) (JoinRequest, error) {
	var r JoinRequest
	err := row.Scan(&r.ID, &r.CommunityID, &r.UserID, &r.Message, &r.Status, &r.CreatedAt, &r.DecidedAt)
	r.CreatedAt, r.DecidedAt = r.CreatedAt.UTC(), inUTC(r.DecidedAt)
	return r, err
}

// Communities returns every community, oldest first.
func (q *Queries) Communities(ctx context.Context) ([]Community, error) {
	return all(ctx, q, scanCommunity, `SELECT id, name, logo FROM civic.communities ORDER BY seq`)
}

// Community returns one community.
func (q *Queries) Community(ctx context.Context, id string) (Community, error) {
	return one(ctx, q, scanCommunity, community.ErrCommunityNotFound,
		`SELECT id, name, logo FROM civic.communities WHERE id = $1`, id)
}

// Members returns a community's members in the order they joined.
func (q *Queries) Members(ctx context.Context, communityID string) ([]Member, error) {
	if err := q.communityExists(ctx, communityID); err != nil {
		return nil, err
	}
	return all(ctx, q, scanMember, `
SELECT m.community_id, m.user_id, m.added_at FROM civic.community_members m JOIN civic.users u ON u.id = m.user_id
WHERE m.community_id = $1 ORDER BY m.seq`, communityID)
}

// Member returns one membership.
func (q *Queries) Member(ctx context.Context, communityID, userID string) (Member, error) {
	return one(ctx, q, scanMember, community.ErrNotMember, `
SELECT m.community_id, m.user_id, m.added_at FROM civic.community_members m
JOIN civic.users u ON u.id = m.user_id JOIN civic.communities c ON c.id = m.community_id
WHERE m.community_id = $1 AND m.user_id = $2`, communityID, userID)
}

// joinRequests are the requests of users and communities that exist: the
// rows of deleted ones stay for a restore to bring back.
const (
	joinRequestColumns = `r.id, r.community_id, r.user_id, r.message, r.status, r.created_at, r.decided_at`
	joinRequests       = `civic.join_requests r JOIN civic.users u ON u.id = r.user_id JOIN civic.communities c ON c.id = r.community_id`
)

// JoinRequests returns a community's join requests, oldest first.
func (q *Queries) JoinRequests(ctx context.Context, communityID string) ([]JoinRequest, error) {
	if err := q.communityExists(ctx, communityID); err != nil {
		return nil, err
	}
	return all(ctx, q, scanJoinRequest, `SELECT `+joinRequestColumns+` FROM `+joinRequests+`
WHERE r.community_id = $1 ORDER BY r.seq`, communityID)
}

// JoinRequest returns one join request of a community.
func (q *Queries) JoinRequest(ctx context.Context, communityID, requestID string) (JoinRequest, error) {
	return one(ctx, q, scanJoinRequest, community.ErrRequestNotFound, `SELECT `+joinRequestColumns+`
FROM `+joinRequests+` WHERE r.community_id = $1 AND r.id = $2`, communityID, requestID)
}

func (q *Queries) communityExists(ctx context.Context, id string) error {
	return q.exists(ctx, community.ErrCommunityNotFound, `SELECT 1 FROM civic.communities WHERE id = $1`, id)
}
