package civic

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/commands"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// listRoles answers every role definition.
func (d *Dialect) listRoles(w http.ResponseWriter, r *http.Request) {
	roles, err := d.reads.Roles(r.Context())
	d.Reply(w, r, roles, err)
}

// createRole defines a role (UserRoleCreate).
func (d *Dialect) createRole(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", labelRules)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	id := uuid.NewString()
	res, err := d.roles.Create(r.Context(), d.Meta(r, "CreateUserRole"), id, name.V)
	d.answerRole(w, r, http.StatusCreated, id, res, err)
}

// renameRole gives a role a new name (UserRoleCreate reused for updates).
func (d *Dialect) renameRole(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "user_role_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", labelRules)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := d.roles.Rename(r.Context(), d.Meta(r, "UpdateUserRole"), id, name.V)
	d.answerRole(w, r, http.StatusOK, id, res, err)
}

func (d *Dialect) answerRole(w http.ResponseWriter, r *http.Request, status int, id string, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, status, res, err, func(ctx context.Context) (readmodel.Role, error) { return d.reads.Role(ctx, id) })
}

// deleteRole ends a role; no user holds it and no module allows it after.
func (d *Dialect) deleteRole(w http.ResponseWriter, r *http.Request) {
	res, err := d.roles.Delete(r.Context(), d.Meta(r, "DeleteUserRole"), chi.URLParam(r, "user_role_id"))
	d.done(w, r, res, err)
}

// rolesOfUser answers the roles a user holds, to that user or a superuser.
func (d *Dialect) rolesOfUser(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "user_id")
	if err := selfOrSuperuser(r, id); err != nil {
		d.Fail(w, r, err)
		return
	}
	roles, err := d.reads.RolesOfUser(r.Context(), id)
	d.Reply(w, r, roles, err)
}

// holdersOfRole answers the users holding a role, each as {name, id}: the
// seed types this listing's items as UserRoleResponse.
func (d *Dialect) holdersOfRole(w http.ResponseWriter, r *http.Request) {
	holders, err := d.reads.HoldersOfRole(r.Context(), chi.URLParam(r, "role_id"))
	d.Reply(w, r, holders, err)
}

// revokeRole takes one role away from a user.
func (d *Dialect) revokeRole(w http.ResponseWriter, r *http.Request) {
	res, err := d.roles.Revoke(r.Context(), d.Meta(r, "DeleteUserRoleByUserAndRole"), chi.URLParam(r, "user_id"), chi.URLParam(r, "role_id"))
	d.done(w, r, res, err)
}
