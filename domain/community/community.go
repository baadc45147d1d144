// Package community holds communities: named groups of users, joined by an
// administrator adding a member or by approving a user's join request.
package community

import (
	"maps"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Kind is the stream category of communities. A community's stream also
// holds its members and join requests, so "one pending request per user"
// and "no member twice" hold under concurrency.
const Kind = "community"

// Request states.
const (
	Pending  = "pending"
	Approved = "approved"
	Rejected = "rejected"
)

// Community is the state folded from a community's events.
type Community struct {
	ID        string
	Name      string
	Logo      string
	Created   bool
	Deleted   bool
	CreatedAt time.Time
	Members   map[string]bool    // by user id
	Requests  map[string]Request // by request id
}

// Request is a user's request to join.
type Request struct {
	ID      string
	UserID  string
	Status  string
	Message *string
}

// Exists reports whether the community is created and not deleted.
func (c Community) Exists() bool { return c.Created && !c.Deleted }

// IsMember reports whether a user belongs to the community.
func (c Community) IsMember(userID string) bool { return c.Members[userID] }

func (c Community) pendingRequestOf(userID string) bool {
	for _, r := range c.Requests {
		if r.UserID == userID && r.Status == Pending {
			return true
		}
	}
	return false
}

// Created: a new community.
type Created struct {
	CommunityID string    `json:"community_id"`
	Name        string    `json:"name"`
	Logo        string    `json:"logo"`
	At          time.Time `json:"at"`
}

// Changes lists fields that change; nil means unchanged.
type Changes struct {
	Name *string `json:"name,omitempty"`
	Logo *string `json:"logo,omitempty"`
}

// Updated: the community's name or logo changed.
type Updated struct {
	CommunityID string    `json:"community_id"`
	Changes     Changes   `json:"changes"`
	At          time.Time `json:"at"`
}

// Deleted: the community is gone, with its members and requests.
type Deleted struct {
	CommunityID string    `json:"community_id"`
	At          time.Time `json:"at"`
}

// MemberAdded: a user became a member.
type MemberAdded struct {
	CommunityID string    `json:"community_id"`
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
}

// JoinRequested: a user asked to join.
type JoinRequested struct {
	CommunityID string    `json:"community_id"`
	RequestID   string    `json:"request_id"`
	UserID      string    `json:"user_id"`
	Message     *string   `json:"message"`
	At          time.Time `json:"at"`
}

// JoinApproved: the request is granted and its user is a member from now.
type JoinApproved struct {
	CommunityID string    `json:"community_id"`
	RequestID   string    `json:"request_id"`
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
}

// JoinRejected: the request is turned down.
type JoinRejected struct {
	CommunityID string    `json:"community_id"`
	RequestID   string    `json:"request_id"`
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
}

func (Created) EventType() string       { return "community.Created" }
func (Updated) EventType() string       { return "community.Updated" }
func (Deleted) EventType() string       { return "community.Deleted" }
func (MemberAdded) EventType() string   { return "community.MemberAdded" }
func (JoinRequested) EventType() string { return "community.JoinRequested" }
func (JoinApproved) EventType() string  { return "community.JoinApproved" }
func (JoinRejected) EventType() string  { return "community.JoinRejected" }

// Communities folds community events.
var Communities = kernel.Aggregate[Community]{Kind: Kind, Evolve: func(c Community, e kernel.Event) Community {
	switch e := e.(type) {
	case Created:
		c = Community{ID: e.CommunityID, Name: e.Name, Logo: e.Logo, Created: true, CreatedAt: e.At,
			Members: map[string]bool{}, Requests: map[string]Request{}}
	case Updated:
		if e.Changes.Name != nil {
			c.Name = *e.Changes.Name
		}
		if e.Changes.Logo != nil {
			c.Logo = *e.Changes.Logo
		}
	case Deleted:
		c.Deleted = true
	case MemberAdded:
		c.Members = with(c.Members, e.UserID, true)
	case JoinRequested:
		c.Requests = with(c.Requests, e.RequestID, Request{ID: e.RequestID, UserID: e.UserID, Status: Pending, Message: e.Message})
	case JoinApproved:
		c.Requests = withStatus(c.Requests, e.RequestID, e.UserID, Approved)
		c.Members = with(c.Members, e.UserID, true)
	case JoinRejected:
		c.Requests = withStatus(c.Requests, e.RequestID, e.UserID, Rejected)
	default:
		c = evolveRestore(c, e)
	}
	return c
}}

// withStatus returns a copy of requests with one request's status set; its
// message stays.
func withStatus(requests map[string]Request, id, userID, status string) map[string]Request {
	r := requests[id]
	r.ID, r.UserID, r.Status = id, userID, status
	return with(requests, id, r)
}

// with returns a copy of m with k set to v: a state already handed out is
// never changed.
func with[V any](m map[string]V, k string, v V) map[string]V {
	out := make(map[string]V, len(m)+1)
	maps.Copy(out, m)
	out[k] = v
	return out
}

// Create decides a new community; its id is chosen by the caller.
func Create(c Community, e Created) ([]kernel.Event, error) {
	if c.Created {
		return nil, kernel.Conflict("community_exists", "community already exists")
	}
	return []kernel.Event{e}, nil
}

// Update decides a change, keeping only fields that really change.
func Update(c Community, ch Changes, at time.Time) ([]kernel.Event, error) {
	if !c.Exists() {
		return nil, ErrCommunityNotFound
	}
	if ch.Name != nil && *ch.Name == c.Name {
		ch.Name = nil
	}
	if ch.Logo != nil && *ch.Logo == c.Logo {
		ch.Logo = nil
	}
	if ch == (Changes{}) {
		return nil, nil
	}
	return []kernel.Event{Updated{CommunityID: c.ID, Changes: ch, At: at}}, nil
}

// Delete decides the end of a community.
func Delete(c Community, at time.Time) ([]kernel.Event, error) {
	if !c.Exists() {
		return nil, ErrCommunityNotFound
	}
	return []kernel.Event{Deleted{CommunityID: c.ID, At: at}}, nil
}

// AddMember decides adding a user, who must not be a member yet.
func AddMember(c Community, userID string, at time.Time) ([]kernel.Event, error) {
	switch {
	case !c.Exists():
		return nil, ErrCommunityNotFound
	case c.IsMember(userID):
		return nil, ErrAlreadyMember
	}
	return []kernel.Event{MemberAdded{CommunityID: c.ID, UserID: userID, At: at}}, nil
}

// RequestJoin decides a join request of a user who is not a member and has
// no request pending.
func RequestJoin(c Community, e JoinRequested) ([]kernel.Event, error) {
	switch {
	case !c.Exists():
		return nil, ErrCommunityNotFound
	case c.IsMember(e.UserID):
		return nil, ErrAlreadyMember
	case c.pendingRequestOf(e.UserID):
		return nil, ErrRequestPending
	case c.Requests[e.RequestID].ID != "":
		return nil, kernel.Conflict("join_request_exists", "join request already exists")
	}
	return []kernel.Event{e}, nil
}

// Decide approves or rejects a pending request.
func Decide(c Community, requestID string, approve bool, at time.Time) ([]kernel.Event, error) {
	if !c.Exists() {
		return nil, ErrCommunityNotFound
	}
	r, ok := c.Requests[requestID]
	switch {
	case !ok:
		return nil, ErrRequestNotFound
	case r.Status != Pending:
		return nil, ErrRequestDecided
	case approve:
		return []kernel.Event{JoinApproved{CommunityID: c.ID, RequestID: r.ID, UserID: r.UserID, At: at}}, nil
	default:
		return []kernel.Event{JoinRejected{CommunityID: c.ID, RequestID: r.ID, UserID: r.UserID, At: at}}, nil
	}
}

// Errors of communities, matched by code at the edge.
var (
	ErrCommunityNotFound = kernel.NotFound("community_not_found", "Community not found")
	ErrRequestNotFound   = kernel.NotFound("join_request_not_found", "Join request not found")
	ErrNotMember         = kernel.NotFound("not_member", "User is not a member of this community")
	ErrAlreadyMember     = kernel.Rule("already_member", "User is already a member of this community")
	ErrRequestPending    = kernel.Rule("join_request_pending", "User already has a pending request to join this community")
	ErrRequestDecided    = kernel.Rule("join_request_decided", "Join request was already decided")
)

// RegisterEvents adds this package's events to a registry.
func RegisterEvents(r *kernel.Registry) {
	r.Register(Created{}, Updated{}, Deleted{}, MemberAdded{}, JoinRequested{}, JoinApproved{}, JoinRejected{},
		Restored{}, MemberRemoved{}, JoinWithdrawn{}, JoinReopened{})
}
