package community

import (
	"maps"
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Restored: a deleted community is back with the name and logo it returns
// with. Its members and requests never left its stream, so they are back
// too. CreatedAt is the community's, for read models to show again.
type Restored struct {
	CommunityID string    `json:"community_id"`
	Name        string    `json:"name"`
	Logo        string    `json:"logo"`
	CreatedAt   time.Time `json:"created_at"`
	At          time.Time `json:"at"`
}

// MemberRemoved: a user is no longer a member.
type MemberRemoved struct {
	CommunityID string    `json:"community_id"`
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
}

// JoinWithdrawn: a request to join is gone, as if never filed.
type JoinWithdrawn struct {
	CommunityID string    `json:"community_id"`
	RequestID   string    `json:"request_id"`
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
}

// JoinReopened: a decided request is pending again. A member it made
// stays one until removed.
type JoinReopened struct {
	CommunityID string    `json:"community_id"`
	RequestID   string    `json:"request_id"`
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
}

func (Restored) EventType() string      { return "community.Restored" }
func (MemberRemoved) EventType() string { return "community.MemberRemoved" }
func (JoinWithdrawn) EventType() string { return "community.JoinWithdrawn" }
func (JoinReopened) EventType() string  { return "community.JoinReopened" }

func evolveRestore(c Community, e kernel.Event) Community {
	switch e := e.(type) {
	case Restored:
		c.Deleted, c.Name, c.Logo = false, e.Name, e.Logo
	case MemberRemoved:
		c.Members = maps.Clone(c.Members)
		delete(c.Members, e.UserID)
	case JoinWithdrawn:
		c.Requests = maps.Clone(c.Requests)
		delete(c.Requests, e.RequestID)
	case JoinReopened:
		c.Requests = withStatus(c.Requests, e.RequestID, e.UserID, Pending)
	}
	return c
}

// Restore decides the events that bring a community back to target, an
// earlier state of the same stream: a creation undone is a deletion, a
// deletion undone a restoration; then its name and logo, its requests and
// its members are changed back, requests first since approving one makes a
// member.
func Restore(c, target Community, at time.Time) ([]kernel.Event, error) {
	switch {
	case !target.Exists():
		if !c.Exists() {
			return nil, nil
		}
		return Delete(c, at)
	case !c.Created:
		return nil, ErrCommunityNotFound
	}
	var events []kernel.Event
	if c.Deleted {
		events = append(events, Restored{CommunityID: c.ID, Name: target.Name, Logo: target.Logo, CreatedAt: c.CreatedAt, At: at})
	}
	w := Communities.Fold(c, events...)
	updated, err := Update(w, Changes{Name: &target.Name, Logo: &target.Logo}, at)
	if err != nil {
		return nil, err
	}
	events = append(append(events, updated...), restoreRequests(w, target, at)...)
	w = Communities.Fold(c, events...)
	for _, id := range slices.Sorted(maps.Keys(target.Members)) {
		if !w.IsMember(id) {
			events = append(events, MemberAdded{CommunityID: c.ID, UserID: id, At: at})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(w.Members)) {
		if !target.IsMember(id) {
			events = append(events, MemberRemoved{CommunityID: c.ID, UserID: id, At: at})
		}
	}
	return events, nil
}

// restoreRequests withdraws requests target does not have, files again
// those it has, and moves each to target's status.
func restoreRequests(c, target Community, at time.Time) []kernel.Event {
	var events []kernel.Event
	for _, id := range slices.Sorted(maps.Keys(c.Requests)) {
		if r, kept := c.Requests[id], target.Requests[id].ID != ""; !kept {
			events = append(events, JoinWithdrawn{CommunityID: c.ID, RequestID: id, UserID: r.UserID, At: at})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(target.Requests)) {
		want, have := target.Requests[id], c.Requests[id]
		switch {
		case have.ID == "":
			events = append(events, JoinRequested{CommunityID: c.ID, RequestID: id, UserID: want.UserID, Message: want.Message, At: at})
		case have.Status != want.Status && have.Status != Pending:
			events = append(events, JoinReopened{CommunityID: c.ID, RequestID: id, UserID: want.UserID, At: at})
		}
		switch {
		case have.Status == want.Status:
		case want.Status == Approved:
			events = append(events, JoinApproved{CommunityID: c.ID, RequestID: id, UserID: want.UserID, At: at})
		case want.Status == Rejected:
			events = append(events, JoinRejected{CommunityID: c.ID, RequestID: id, UserID: want.UserID, At: at})
		}
	}
	return events
}
