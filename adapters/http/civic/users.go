package civic

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	cmdrole "github.com/annals-dev/annals/commands/role"
	"github.com/annals-dev/annals/domain/identity"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// listUsers answers accounts oldest first, skip/limit paged.
func (d *Dialect) listUsers(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	nonNegative := fastapi.Bounds{HasGe: true}
	skip := p.Int("skip", 0, nonNegative)
	limit := p.Int("limit", 100, nonNegative)
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	users, err := d.reads.Users(r.Context(), skip, limit)
	d.Reply(w, r, users, err)
}

// readUser answers one account, to itself or a superuser.
func (d *Dialect) readUser(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "user_id")
	if err := selfOrSuperuser(r, id); err != nil {
		d.Fail(w, r, err)
		return
	}
	u, err := d.reads.User(r.Context(), id)
	d.Reply(w, r, u, err)
}

// updateUser changes an account (UserUpdate; absent and null fields stay).
// Users change their own name and email; status and roles, and other
// users, are a superuser's to change.
func (d *Dialect) updateUser(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "user_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", optionalNameRules)
	email := b.Email("email", optional)
	status := b.Bool("status", optional)
	roles := b.Str("role", optional)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	err := selfOrSuperuser(r, id)
	if err == nil && !caller(r).Superuser && (status.Has() || roles.Has()) {
		err = errNotSuperuser
	}
	if err != nil {
		d.Fail(w, r, err)
		return
	}
	cmd := cmdrole.UpdateUser{UserID: id, Changes: identity.UserChanges{FullName: name.Ptr(), Email: email.Ptr(), Active: status.Ptr()}}
	if roles.Has() {
		ids := roleIDs(roles.V)
		cmd.Roles = &ids
	}
	res, err := d.roles.UpdateUser(r.Context(), d.Meta(r, "UpdateUser"), cmd)
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(ctx context.Context) (readmodel.User, error) {
		return d.reads.User(ctx, id)
	})
}

// deleteUser ends an account.
func (d *Dialect) deleteUser(w http.ResponseWriter, r *http.Request) {
	res, err := d.users.Delete(r.Context(), d.Meta(r, "DeleteUser"), chi.URLParam(r, "user_id"))
	d.done(w, r, res, err)
}

// addToCommunity makes a user a member of the community in the path
// (CommunityAddUserRequest). The body may repeat the community id; it must
// then be the path's.
func (d *Dialect) addToCommunity(w http.ResponseWriter, r *http.Request) {
	communityID := chi.URLParam(r, "community_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	userID := b.Str("user_id", required)
	if bodyID := b.Str("community_id", optional); bodyID.Has() && bodyID.V != communityID {
		b.Fail("community_id", "value_error", "Value error, community_id must be the community of the path", bodyID.V,
			map[string]any{"error": map[string]any{}})
	}
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := d.communities.AddMember(r.Context(), d.Meta(r, "AddUserToCommunity"), communityID, userID.V)
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(ctx context.Context) (readmodel.Member, error) {
		return d.reads.Member(ctx, communityID, userID.V)
	})
}
