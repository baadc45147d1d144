package audit

import (
	"maps"
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/domain/role"
)

// Kinds of child entities.
const (
	OrganizationMember   = "organization_member"
	CommunityMember      = "community_member"
	CommunityJoinRequest = "community_join_request"
)

// Domain is the catalog of every aggregate of the domain. Views list the
// fields they show one by one, so that a field added to a state (a secret,
// say) is shown only once someone decides it may be.
var Domain = NewCatalog(
	[]Kind{
		Of(Stream[identity.User]{
			Aggregate: identity.Users, Show: userView, Undo: identity.Restore,
			Redact: func(u identity.User) identity.User { u.PasswordHash = ""; return u },
		}),
		Of(Stream[role.Grants]{
			Aggregate: role.UserGrants, Of: identity.UserKind, FacetKey: "roles", Undo: role.RestoreGrants,
			Show: func(g role.Grants) any { return nonNil(g.Roles) },
		}),
		Of(Stream[identity.Session]{
			Aggregate: identity.Sessions, Of: identity.UserKind,
			OwnerOf: func(s identity.Session) string { return s.UserID },
			Redact:  func(s identity.Session) identity.Session { s.RefreshID = ""; return s },
		}),
		Of(Stream[identity.PasswordReset]{
			Aggregate: identity.PasswordResets, Of: identity.UserKind,
			OwnerOf: func(r identity.PasswordReset) string { return r.UserID },
		}),
		Of(Stream[organization.Organization]{
			Aggregate: organization.Organizations, Show: organizationView, Undo: organization.Restore,
			ChildOf: organizationChild,
		}),
		Of(Stream[role.Role]{Aggregate: role.Roles, Show: roleView, Undo: role.Restore}),
		Of(Stream[role.Module]{Aggregate: role.Modules, Show: moduleView, Undo: role.RestoreModule}),
		Of(Stream[community.Community]{
			Aggregate: community.Communities, Show: communityView, Undo: community.Restore, ChildOf: communityChild,
		}),
	},
	[]string{identity.EmailKind, TrailKind},
	[]kernel.Event{
		identity.UserPasswordChanged{}, identity.LoginSucceeded{}, identity.LoginFailed{}, identity.LockoutCleared{},
		identity.SessionStarted{}, identity.SessionRefreshed{}, identity.RefreshTokenReused{}, identity.SessionEnded{},
		identity.PasswordResetIssued{}, identity.PasswordResetUsed{},
	},
)

type userSnapshot struct {
	ID              string     `json:"id"`
	Email           string     `json:"email"`
	FullName        *string    `json:"full_name"`
	Active          bool       `json:"active"`
	Superuser       bool       `json:"superuser"`
	ReworkAvailable int        `json:"rework_available"`
	Role            string     `json:"role,omitempty"`
	FailedLogins    int        `json:"failed_logins"`
	LockedUntil     *time.Time `json:"locked_until"`
	LastLogin       *time.Time `json:"last_login"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func userView(u identity.User) any {
	if !u.Exists() {
		return nil
	}
	return userSnapshot{
		ID: u.ID, Email: u.Email, FullName: u.FullName, Active: u.Active, Superuser: u.Superuser,
		ReworkAvailable: u.ReworkAvailable, Role: u.Role, FailedLogins: u.FailedLogins,
		LockedUntil: optionalTime(u.LockedUntil), LastLogin: optionalTime(u.LastLogin), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

type organizationSnapshot struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	AvatarImage     string    `json:"avatar_image"`
	Description     *string   `json:"description"`
	ReworkAvailable int       `json:"rework_available"`
	OwnerID         string    `json:"owner_id"`
	Members         []string  `json:"members"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func organizationView(o organization.Organization) any {
	if !o.Exists() {
		return nil
	}
	return organizationSnapshot{
		ID: o.ID, Name: o.Name, AvatarImage: o.AvatarImage, Description: o.Description, ReworkAvailable: o.ReworkAvailable,
		OwnerID: o.OwnerID, Members: slices.Sorted(maps.Keys(o.Members)), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

func organizationChild(e kernel.Event) (Child, bool) {
	switch e := e.(type) {
	case organization.MemberAdded:
		return Child{Kind: OrganizationMember, ID: e.UserID}, true
	case organization.MemberRemoved:
		return Child{Kind: OrganizationMember, ID: e.UserID}, true
	}
	return Child{}, false
}

type roleSnapshot struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func roleView(r role.Role) any {
	if !r.Exists() {
		return nil
	}
	return roleSnapshot{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt}
}

type moduleSnapshot struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
}

func moduleView(m role.Module) any {
	if !m.Exists() {
		return nil
	}
	return moduleSnapshot{ID: m.ID, Name: m.Name, Roles: nonNil(m.Roles), CreatedAt: m.CreatedAt}
}

type communitySnapshot struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Logo         string               `json:"logo"`
	Members      []string             `json:"members"`
	JoinRequests []joinRequestSummary `json:"join_requests"`
	CreatedAt    time.Time            `json:"created_at"`
}

type joinRequestSummary struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

func communityView(c community.Community) any {
	if !c.Exists() {
		return nil
	}
	requests := []joinRequestSummary{}
	for _, id := range slices.Sorted(maps.Keys(c.Requests)) {
		r := c.Requests[id]
		requests = append(requests, joinRequestSummary{ID: r.ID, UserID: r.UserID, Status: r.Status})
	}
	return communitySnapshot{
		ID: c.ID, Name: c.Name, Logo: c.Logo, Members: slices.Sorted(maps.Keys(c.Members)), JoinRequests: requests, CreatedAt: c.CreatedAt,
	}
}

func communityChild(e kernel.Event) (Child, bool) {
	switch e := e.(type) {
	case community.MemberAdded:
		return Child{Kind: CommunityMember, ID: e.UserID}, true
	case community.MemberRemoved:
		return Child{Kind: CommunityMember, ID: e.UserID}, true
	case community.JoinRequested:
		return Child{Kind: CommunityJoinRequest, ID: e.RequestID}, true
	case community.JoinApproved:
		return Child{Kind: CommunityJoinRequest, ID: e.RequestID}, true
	case community.JoinRejected:
		return Child{Kind: CommunityJoinRequest, ID: e.RequestID}, true
	case community.JoinWithdrawn:
		return Child{Kind: CommunityJoinRequest, ID: e.RequestID}, true
	case community.JoinReopened:
		return Child{Kind: CommunityJoinRequest, ID: e.RequestID}, true
	}
	return Child{}, false
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nonNil shows an empty list as [] rather than null.
func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}
