package civic

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/role"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// listModules answers a page of modules, filtered by part of the name and
// by a role allowed to use them.
func (d *Dialect) listModules(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	f := readmodel.ModuleFilter{
		Name:   p.Str("module_name"),
		RoleID: p.Str("user_role_id"),
		Page:   p.Int("page", 1, fastapi.Bounds{Ge: 1, HasGe: true}),
		Limit:  p.Int("limit", 10, fastapi.Bounds{Ge: 1, HasGe: true, Le: 100, HasLe: true}),
	}
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	page, err := d.reads.Modules(r.Context(), f)
	d.Reply(w, r, page, err)
}

// readModule answers one module.
func (d *Dialect) readModule(w http.ResponseWriter, r *http.Request) {
	m, err := d.reads.Module(r.Context(), chi.URLParam(r, "module_id"))
	d.Reply(w, r, m, err)
}

// createModule defines a module and the roles that may use it
// (RoleBaseModuleCreate).
func (d *Dialect) createModule(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("module_name", nameRules)
	roles := b.StrList("user_roles", required)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	id := uuid.NewString()
	res, err := d.roles.CreateModule(r.Context(), d.Meta(r, "CreateRoleBaseModule"), id, name.V, roles.V)
	d.answerModule(w, r, http.StatusCreated, id, res, err)
}

// updateModule renames a module and replaces its roles
// (RoleBaseModuleUpdate; absent and null fields stay).
func (d *Dialect) updateModule(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "module_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("module_name", optionalNameRules)
	roles := b.StrList("user_roles", optional)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := d.roles.UpdateModule(r.Context(), d.Meta(r, "UpdateRoleBaseModule"), id,
		role.ModuleChanges{Name: name.Ptr(), Roles: roles.Ptr()})
	d.answerModule(w, r, http.StatusOK, id, res, err)
}

// addModuleRoles lets more roles use a module.
func (d *Dialect) addModuleRoles(w http.ResponseWriter, r *http.Request) {
	d.changeModuleRoles(w, r, "AddUserRolesToModule", d.roles.AddModuleRoles)
}

// removeModuleRoles stops roles from using a module.
func (d *Dialect) removeModuleRoles(w http.ResponseWriter, r *http.Request) {
	d.changeModuleRoles(w, r, "RemoveUserRolesFromModule", d.roles.RemoveModuleRoles)
}

// changeModuleRoles reads RoleBaseModuleUserRoleOperation and applies it.
func (d *Dialect) changeModuleRoles(w http.ResponseWriter, r *http.Request, command string,
	change func(context.Context, commands.Meta, string, []string) (commands.Result, error)) {
	id := chi.URLParam(r, "module_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	roles := b.StrList("user_role_ids", fastapi.Rules{Required: true, Min: 1})
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := change(r.Context(), d.Meta(r, command), id, roles.V)
	d.answerModule(w, r, http.StatusOK, id, res, err)
}

func (d *Dialect) answerModule(w http.ResponseWriter, r *http.Request, status int, id string, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, status, res, err, func(ctx context.Context) (readmodel.Module, error) { return d.reads.Module(ctx, id) })
}
