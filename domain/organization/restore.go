package organization

import (
	"maps"
	"slices"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Restored: a deleted organization is back with the profile, owner and
// members it returns with (deletion ends memberships, so they travel with
// it), and its original creation time for read models to show again.
type Restored struct {
	OrganizationID string `json:"organization_id"`
	Profile
	OwnerID string `json:"owner_id"`
	// Members maps each member's user id to when it joined.
	Members   map[string]time.Time `json:"members"`
	CreatedAt time.Time            `json:"created_at"`
	At        time.Time            `json:"at"`
}

func (Restored) EventType() string { return "organization.Restored" }

func (e Restored) apply(o Organization) Organization {
	o.Deleted = false
	o.Profile, o.OwnerID, o.Members = e.Profile, e.OwnerID, maps.Clone(e.Members)
	o.UpdatedAt = e.At
	return o
}

// Restore decides the events that bring an organization back to target, an
// earlier state of the same stream: a creation undone is a deletion, a
// deletion undone a restoration; otherwise the profile, the owner and the
// members are changed back. Members rejoin at, since that is when they do.
// Undoing is the author's right over its own action, so no actor rules
// apply here; the caller checks whose action it was.
func Restore(o, target Organization, at time.Time) ([]kernel.Event, error) {
	switch {
	case !target.Exists():
		if !o.Exists() {
			return nil, nil
		}
		return []kernel.Event{Deleted{OrganizationID: o.ID, At: at}}, nil
	case !o.Created:
		return nil, ErrNotFound
	case o.Deleted:
		return []kernel.Event{Restored{
			OrganizationID: o.ID, Profile: target.Profile, OwnerID: target.OwnerID,
			Members: maps.Clone(target.Members), CreatedAt: o.CreatedAt, At: at,
		}}, nil
	}
	var events []kernel.Event
	if c := changesTo(target.Profile).effective(o.Profile); !c.Empty() {
		events = append(events, Updated{OrganizationID: o.ID, Changes: c, At: at})
	}
	// Members join before the ownership moves and leave after it, so that
	// the owner is a member throughout.
	for _, id := range slices.Sorted(maps.Keys(target.Members)) {
		if !o.IsMember(id) {
			events = append(events, MemberAdded{OrganizationID: o.ID, UserID: id, At: at})
		}
	}
	if target.OwnerID != o.OwnerID {
		events = append(events, OwnershipTransferred{OrganizationID: o.ID, From: o.OwnerID, To: target.OwnerID, At: at})
	}
	for _, id := range slices.Sorted(maps.Keys(o.Members)) {
		if !target.IsMember(id) {
			events = append(events, MemberRemoved{OrganizationID: o.ID, UserID: id, At: at})
		}
	}
	return events, nil
}

// changesTo sets every profile field to p's; effective keeps those that
// differ.
func changesTo(p Profile) Changes {
	c := Changes{Name: &p.Name, AvatarImage: &p.AvatarImage, ReworkAvailable: &p.ReworkAvailable}
	if p.Description == nil {
		c.ClearDescription = true
	} else {
		c.Description = p.Description
	}
	return c
}
