// Package community holds the command handlers of communities: the domain
// decides, these check the users named and append.
package community

import (
	"context"
	"time"

	"github.com/annals-dev/annals/commands"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/domain/kernel"
)

// Communities handles community commands.
type Communities struct {
	x     *commands.Executor
	users *cmdidentity.Users
	now   func() time.Time
}

// NewCommunities returns the community command handlers; users tells which
// accounts exist.
func NewCommunities(x *commands.Executor, users *cmdidentity.Users) *Communities {
	return &Communities{x: x, users: users, now: func() time.Time { return x.Now().UTC() }}
}

// Create founds a community; communityID is chosen by the caller.
func (h *Communities) Create(ctx context.Context, meta commands.Meta, communityID, name, logo string) (commands.Result, error) {
	created := community.Created{CommunityID: communityID, Name: name, Logo: logo, At: h.now()}
	return h.execute(ctx, meta, communityID, func(c community.Community) ([]kernel.Event, error) {
		return community.Create(c, created)
	})
}

// Update changes a community's name or logo.
func (h *Communities) Update(ctx context.Context, meta commands.Meta, communityID string, changes community.Changes) (commands.Result, error) {
	return h.execute(ctx, meta, communityID, func(c community.Community) ([]kernel.Event, error) {
		return community.Update(c, changes, h.now())
	})
}

// Delete ends a community.
func (h *Communities) Delete(ctx context.Context, meta commands.Meta, communityID string) (commands.Result, error) {
	return h.execute(ctx, meta, communityID, func(c community.Community) ([]kernel.Event, error) {
		return community.Delete(c, h.now())
	})
}

// AddMember makes an existing user a member.
func (h *Communities) AddMember(ctx context.Context, meta commands.Meta, communityID, userID string) (commands.Result, error) {
	if _, _, err := h.users.Get(ctx, meta.Realm, userID); err != nil {
		return commands.Result{}, err
	}
	return h.execute(ctx, meta, communityID, func(c community.Community) ([]kernel.Event, error) {
		return community.AddMember(c, userID, h.now())
	})
}

// RequestJoin is a user's request to join; RequestID is chosen by the
// caller.
type RequestJoin struct {
	CommunityID string
	RequestID   string
	UserID      string
	Message     *string
}

// RequestJoin files an existing user's request to join.
func (h *Communities) RequestJoin(ctx context.Context, meta commands.Meta, cmd RequestJoin) (commands.Result, error) {
	if _, _, err := h.users.Get(ctx, meta.Realm, cmd.UserID); err != nil {
		return commands.Result{}, err
	}
	requested := community.JoinRequested{CommunityID: cmd.CommunityID, RequestID: cmd.RequestID, UserID: cmd.UserID, Message: cmd.Message, At: h.now()}
	return h.execute(ctx, meta, cmd.CommunityID, func(c community.Community) ([]kernel.Event, error) {
		return community.RequestJoin(c, requested)
	})
}

// DecideJoin approves or rejects a pending request.
func (h *Communities) DecideJoin(ctx context.Context, meta commands.Meta, communityID, requestID string, approve bool) (commands.Result, error) {
	return h.execute(ctx, meta, communityID, func(c community.Community) ([]kernel.Event, error) {
		return community.Decide(c, requestID, approve, h.now())
	})
}

func (h *Communities) execute(ctx context.Context, meta commands.Meta, communityID string,
	decide func(community.Community) ([]kernel.Event, error)) (commands.Result, error) {
	return commands.Execute(ctx, h.x, community.Communities, meta, communityID, decide)
}
