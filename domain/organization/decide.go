package organization

import (
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Errors of this aggregate, matched by code at the edge.
var (
	ErrNotFound          = kernel.NotFound("organization_not_found", "Organization not found")
	ErrExists            = kernel.Conflict("organization_exists", "Organization already exists")
	ErrNotPrivileged     = kernel.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")
	ErrAlreadyMember     = kernel.Rule("already_member", "User is already a member of this organization")
	ErrNotMember         = kernel.NotFound("member_not_found", "User is not a member of this organization")
	ErrOwnerNotRemovable = kernel.Rule("owner_not_removable", "The organization owner cannot be removed")
	ErrSourceNotMember   = kernel.Rule("source_not_member", "The source user is not a member of this organization")
)

// VisibleTo reports whether an actor may see the organization at all:
// members see theirs, superusers see every one.
func (o Organization) VisibleTo(a Actor) bool {
	return o.Exists() && (a.Superuser || o.IsMember(a.ID))
}

// ManagedBy reports whether an actor may change the organization.
func (o Organization) ManagedBy(a Actor) bool { return a.Superuser || o.OwnerID == a.ID }

// see fails the way an organization the actor may not see fails: as if it
// did not exist, so that outsiders learn nothing about it.
func (o Organization) see(a Actor) error {
	if !o.VisibleTo(a) {
		return ErrNotFound
	}
	return nil
}

// manage fails unless the actor sees the organization and may change it.
func (o Organization) manage(a Actor) error {
	if err := o.see(a); err != nil {
		return err
	}
	if !o.ManagedBy(a) {
		return ErrNotPrivileged
	}
	return nil
}

// Create decides a new organization owned by the actor, who is also its
// first member. The id is chosen by the caller before the append.
func Create(o Organization, a Actor, id string, p Profile, at time.Time) ([]kernel.Event, error) {
	if o.Created {
		return nil, ErrExists
	}
	return []kernel.Event{
		Created{OrganizationID: id, Profile: p, OwnerID: a.ID, At: at},
		MemberAdded{OrganizationID: id, UserID: a.ID, At: at},
	}, nil
}

// Update decides profile changes and, when newOwner is not "", an ownership
// transfer; a new owner who is not a member joins first. Only fields that
// really change are kept.
func Update(o Organization, a Actor, c Changes, newOwner string, at time.Time) ([]kernel.Event, error) {
	if err := o.manage(a); err != nil {
		return nil, err
	}
	var events []kernel.Event
	if c = c.effective(o.Profile); !c.Empty() {
		events = append(events, Updated{OrganizationID: o.ID, Changes: c, At: at})
	}
	if newOwner != "" && newOwner != o.OwnerID {
		if !o.IsMember(newOwner) {
			events = append(events, MemberAdded{OrganizationID: o.ID, UserID: newOwner, At: at})
		}
		events = append(events, OwnershipTransferred{OrganizationID: o.ID, From: o.OwnerID, To: newOwner, At: at})
	}
	return events, nil
}

// AddMember decides that a user joins; a member cannot join twice.
func AddMember(o Organization, a Actor, userID string, at time.Time) ([]kernel.Event, error) {
	if err := o.manage(a); err != nil {
		return nil, err
	}
	if o.IsMember(userID) {
		return nil, ErrAlreadyMember
	}
	return []kernel.Event{MemberAdded{OrganizationID: o.ID, UserID: userID, At: at}}, nil
}

// RemoveMember decides that a member leaves. Members may leave; the owner
// and superusers may remove anyone but the owner, who never leaves.
func RemoveMember(o Organization, a Actor, userID string, at time.Time) ([]kernel.Event, error) {
	if err := o.see(a); err != nil {
		return nil, err
	}
	if userID != a.ID && !o.ManagedBy(a) {
		return nil, ErrNotPrivileged
	}
	if !o.IsMember(userID) {
		return nil, ErrNotMember
	}
	if userID == o.OwnerID {
		return nil, ErrOwnerNotRemovable
	}
	return []kernel.Event{MemberRemoved{OrganizationID: o.ID, UserID: userID, At: at}}, nil
}

// Delete decides the end of the organization and of its memberships.
func Delete(o Organization, a Actor, at time.Time) ([]kernel.Event, error) {
	if err := o.manage(a); err != nil {
		return nil, err
	}
	return []kernel.Event{Deleted{OrganizationID: o.ID, At: at}}, nil
}

// AuthorizeMigration checks that an actor may move a source user's personal
// resources into the organization: only superusers may, and only for a
// member of it.
func AuthorizeMigration(o Organization, a Actor, sourceUserID string) error {
	if err := o.see(a); err != nil {
		return err
	}
	if !a.Superuser {
		return ErrNotPrivileged
	}
	if !o.IsMember(sourceUserID) {
		return ErrSourceNotMember
	}
	return nil
}
