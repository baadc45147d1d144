// Package organization holds the command handlers of organizations: the
// domain decides, these load the streams it decides on and append.
package organization

import (
	"context"
	"time"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
)

// Organizations handles organization commands.
type Organizations struct {
	x   *commands.Executor
	now func() time.Time
}

// NewOrganizations returns the organization command handlers.
func NewOrganizations(x *commands.Executor) *Organizations {
	return &Organizations{x: x, now: func() time.Time { return x.Now().UTC() }}
}

// Create is a new organization. OrganizationID is chosen by the caller.
type Create struct {
	OrganizationID string
	organization.Profile
}

// Create founds an organization owned by the actor.
func (h *Organizations) Create(ctx context.Context, meta commands.Meta, actor organization.Actor, cmd Create) (commands.Result, error) {
	return h.execute(ctx, meta, cmd.OrganizationID, func(o organization.Organization) ([]kernel.Event, error) {
		return organization.Create(o, actor, cmd.OrganizationID, cmd.Profile, h.now())
	})
}

// Update changes the profile and, when NewOwner is not "", hands the
// organization to that user.
type Update struct {
	OrganizationID string
	Changes        organization.Changes
	NewOwner       string
}

// Update applies profile changes and an ownership transfer in one append.
func (h *Organizations) Update(ctx context.Context, meta commands.Meta, actor organization.Actor, cmd Update) (commands.Result, error) {
	if cmd.NewOwner != "" {
		if err := h.userExists(ctx, meta.Realm, cmd.NewOwner); err != nil {
			return commands.Result{}, err
		}
	}
	return h.execute(ctx, meta, cmd.OrganizationID, func(o organization.Organization) ([]kernel.Event, error) {
		return organization.Update(o, actor, cmd.Changes, cmd.NewOwner, h.now())
	})
}

// AddMember makes an existing user a member.
func (h *Organizations) AddMember(ctx context.Context, meta commands.Meta, actor organization.Actor, organizationID, userID string) (commands.Result, error) {
	if err := h.userExists(ctx, meta.Realm, userID); err != nil {
		return commands.Result{}, err
	}
	return h.execute(ctx, meta, organizationID, func(o organization.Organization) ([]kernel.Event, error) {
		return organization.AddMember(o, actor, userID, h.now())
	})
}

// RemoveMember takes a member out (or lets the actor leave).
func (h *Organizations) RemoveMember(ctx context.Context, meta commands.Meta, actor organization.Actor, organizationID, userID string) (commands.Result, error) {
	return h.execute(ctx, meta, organizationID, func(o organization.Organization) ([]kernel.Event, error) {
		return organization.RemoveMember(o, actor, userID, h.now())
	})
}

// Delete ends an organization and its memberships.
func (h *Organizations) Delete(ctx context.Context, meta commands.Meta, actor organization.Actor, organizationID string) (commands.Result, error) {
	return h.execute(ctx, meta, organizationID, func(o organization.Organization) ([]kernel.Event, error) {
		return organization.Delete(o, actor, h.now())
	})
}

// AuthorizeMigration checks, on the organization's latest state, that the
// actor may migrate sourceUserID's personal resources into it.
func (h *Organizations) AuthorizeMigration(ctx context.Context, realm string, actor organization.Actor, organizationID, sourceUserID string) error {
	o, _, err := commands.Load(ctx, h.x, organization.Organizations, realm, organizationID)
	if err != nil {
		return err
	}
	return organization.AuthorizeMigration(o, actor, sourceUserID)
}

func (h *Organizations) execute(ctx context.Context, meta commands.Meta, organizationID string,
	decide func(organization.Organization) ([]kernel.Event, error)) (commands.Result, error) {
	return commands.Execute(ctx, h.x, organization.Organizations, meta, organizationID, decide)
}

// userExists checks a user on its stream: members and owners must be
// accounts of the same realm.
func (h *Organizations) userExists(ctx context.Context, realm, userID string) error {
	u, _, err := commands.Load(ctx, h.x, identity.Users, realm, userID)
	if err != nil {
		return err
	}
	if !u.Exists() {
		return identity.ErrUserNotFound
	}
	return nil
}
