// Package organization is the organization aggregate: a profile, an owner
// and members. Who may do what depends only on the actor and the
// organization, so those rules are decided here too.
package organization

import (
	"maps"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// Kind is the stream category of organizations.
const Kind = "organization"

// Actor is who issues a command, as far as the rules need to know.
type Actor struct {
	ID        string
	Superuser bool
}

// Profile is what the owner manages about an organization.
type Profile struct {
	Name            string  `json:"name"`
	AvatarImage     string  `json:"avatar_image"`
	Description     *string `json:"description"`
	ReworkAvailable int     `json:"rework_available"`
}

// Organization is the state folded from an organization's events.
type Organization struct {
	ID      string
	Created bool
	Deleted bool
	Profile
	OwnerID string
	// Members maps each member's user id to when it joined. The owner is
	// always a member.
	Members   map[string]time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Exists reports whether the organization was created and not deleted.
func (o Organization) Exists() bool { return o.Created && !o.Deleted }

// IsMember reports whether a user belongs to the organization.
func (o Organization) IsMember(userID string) bool {
	_, ok := o.Members[userID]
	return ok
}

// Created: a new organization; its owner joins it by a MemberAdded that
// follows.
type Created struct {
	OrganizationID string `json:"organization_id"`
	Profile
	OwnerID string    `json:"owner_id"`
	At      time.Time `json:"at"`
}

// Changes lists profile fields that change; nil means unchanged.
// ClearDescription sets the description to null.
type Changes struct {
	Name             *string `json:"name,omitempty"`
	AvatarImage      *string `json:"avatar_image,omitempty"`
	Description      *string `json:"description,omitempty"`
	ClearDescription bool    `json:"clear_description,omitempty"`
	ReworkAvailable  *int    `json:"rework_available,omitempty"`
}

// Empty reports whether nothing changes.
func (c Changes) Empty() bool { return c == Changes{} }

// Updated: profile fields changed.
type Updated struct {
	OrganizationID string    `json:"organization_id"`
	Changes        Changes   `json:"changes"`
	At             time.Time `json:"at"`
}

// OwnershipTransferred: another member owns the organization.
type OwnershipTransferred struct {
	OrganizationID string    `json:"organization_id"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	At             time.Time `json:"at"`
}

// MemberAdded: a user joined.
type MemberAdded struct {
	OrganizationID string    `json:"organization_id"`
	UserID         string    `json:"user_id"`
	At             time.Time `json:"at"`
}

// MemberRemoved: a user left or was removed.
type MemberRemoved struct {
	OrganizationID string    `json:"organization_id"`
	UserID         string    `json:"user_id"`
	At             time.Time `json:"at"`
}

// Deleted: the organization is gone, and its memberships with it.
type Deleted struct {
	OrganizationID string    `json:"organization_id"`
	At             time.Time `json:"at"`
}

func (Created) EventType() string              { return "organization.Created" }
func (Updated) EventType() string              { return "organization.Updated" }
func (OwnershipTransferred) EventType() string { return "organization.OwnershipTransferred" }
func (MemberAdded) EventType() string          { return "organization.MemberAdded" }
func (MemberRemoved) EventType() string        { return "organization.MemberRemoved" }
func (Deleted) EventType() string              { return "organization.Deleted" }

// RegisterEvents adds this package's events to a registry.
func RegisterEvents(r *kernel.Registry) {
	r.Register(Created{}, Updated{}, OwnershipTransferred{}, MemberAdded{}, MemberRemoved{}, Deleted{}, Restored{})
}

// Organizations folds organization events.
var Organizations = kernel.Aggregate[Organization]{Kind: Kind, Evolve: evolve}

// evolve never mutates the member map it is given: states are values, and a
// caller may keep the one it folded from.
func evolve(o Organization, e kernel.Event) Organization {
	switch e := e.(type) {
	case Created:
		o = Organization{ID: e.OrganizationID, Created: true, Profile: e.Profile, OwnerID: e.OwnerID,
			Members: map[string]time.Time{}, CreatedAt: e.At, UpdatedAt: e.At}
	case Updated:
		o.Profile = e.Changes.apply(o.Profile)
		o.UpdatedAt = e.At
	case OwnershipTransferred:
		o.OwnerID = e.To
		o.UpdatedAt = e.At
	case MemberAdded:
		o.Members = maps.Clone(o.Members)
		o.Members[e.UserID] = e.At
	case MemberRemoved:
		o.Members = maps.Clone(o.Members)
		delete(o.Members, e.UserID)
	case Deleted:
		o.Deleted = true
		o.Members = nil
	case Restored:
		o = e.apply(o)
	}
	return o
}

func (c Changes) apply(p Profile) Profile {
	if c.Name != nil {
		p.Name = *c.Name
	}
	if c.AvatarImage != nil {
		p.AvatarImage = *c.AvatarImage
	}
	if c.Description != nil {
		d := *c.Description
		p.Description = &d
	}
	if c.ClearDescription {
		p.Description = nil
	}
	if c.ReworkAvailable != nil {
		p.ReworkAvailable = *c.ReworkAvailable
	}
	return p
}

// effective drops the changes that would leave a field as it is.
func (c Changes) effective(p Profile) Changes {
	if c.Name != nil && *c.Name == p.Name {
		c.Name = nil
	}
	if c.AvatarImage != nil && *c.AvatarImage == p.AvatarImage {
		c.AvatarImage = nil
	}
	if c.Description != nil && p.Description != nil && *c.Description == *p.Description {
		c.Description = nil
	}
	if c.ClearDescription && p.Description == nil {
		c.ClearDescription = false
	}
	if c.ReworkAvailable != nil && *c.ReworkAvailable == p.ReworkAvailable {
		c.ReworkAvailable = nil
	}
	return c
}
