// Package sartiq serves the Sartiq users & organizations API (a FastAPI
// full-stack-template service) on the shared command and query machinery:
// its routes, request and response shapes, FastAPI error bodies and OAuth2
// password login.
package sartiq

import (
	"context"
	"net/http"
	"path"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/auditapi"
	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/projectionsapi"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	cmdorganization "github.com/annals-dev/annals/commands/organization"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/sartiq"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// Dialect is the sartiq backend.
type Dialect struct {
	fastapi.Responder
	users   *cmdidentity.Users
	orgs    *cmdorganization.Organizations
	reads   *readmodel.Queries
	auth    kit.Authenticator
	handler http.Handler
}

var (
	_ kit.Dialect     = (*Dialect)(nil)
	_ kit.ErrorWriter = (*Dialect)(nil)
)

// New builds the dialect. It registers the events it writes in the
// executor's registry, which the projection runtime decodes with.
func New(deps kit.Deps) *Dialect {
	identity.RegisterEvents(deps.Executor.Registry)
	organization.RegisterEvents(deps.Executor.Registry)
	users := cmdidentity.NewUsers(deps.Executor, deps.Passwords)
	d := &Dialect{
		Responder: fastapi.Responder{Deps: deps, Realm: readmodel.Realm},
		users:     users,
		orgs:      cmdorganization.NewOrganizations(deps.Executor),
		reads:     readmodel.NewQueries(deps.Pool),
		auth:      kit.Authenticator{Realm: readmodel.Realm, Tokens: deps.Tokens, Users: users},
	}
	d.handler = d.routes()
	return d
}

// Name is the realm of the dialect's events.
func (d *Dialect) Name() string { return readmodel.Realm }

// Handler serves the seed's paths.
func (d *Dialect) Handler() http.Handler { return d.handler }

// Projectors build the sartiq read models.
func (d *Dialect) Projectors() []projections.Projector { return projection.Projectors() }

// Migrate brings the sartiq schema up to date.
func (d *Dialect) Migrate(ctx context.Context) error { return readmodel.Migrate(ctx, d.Deps.Pool) }

// Bootstrap creates the configured superuser unless its email is taken.
func (d *Dialect) Bootstrap(ctx context.Context) error {
	return d.Deps.EnsureAdmin(ctx, readmodel.Realm, d.users)
}

func (d *Dialect) routes() http.Handler {
	r := fastapi.NewRouter()
	auditapi.Mount(r, d.Deps, d.auth, d.Fail)
	projectionsapi.Mount(r, d.Deps, d.auth, d.Fail)
	r.Route("/api/v1", func(r chi.Router) {
		r.HandleFunc("/users", addSlash)
		r.HandleFunc("/organizations", addSlash)
		r.Post("/login/access-token", d.login)
		r.Post("/users/signup", d.signup)
		r.Group(func(r chi.Router) {
			r.Use(d.auth.Middleware(d.Fail))
			r.Get("/users/me", d.readMe)
			r.Patch("/users/me", d.updateMe)
			r.Patch("/users/me/password", d.updatePasswordMe)
			r.Get("/users/{user_id}", d.readUser)
			r.Group(func(r chi.Router) {
				r.Use(d.superusersOnly)
				r.Get("/users/", d.listUsers)
				r.Post("/users/", d.createUser)
				r.Patch("/users/{user_id}", d.updateUser)
				r.Delete("/users/{user_id}", d.deleteUser)
			})
			r.Get("/organizations/", d.listOrganizations)
			r.Post("/organizations/", d.createOrganization)
			r.Get("/organizations/{organization_id}", d.readOrganization)
			r.Put("/organizations/{organization_id}", d.updateOrganization)
			r.Delete("/organizations/{organization_id}", d.deleteOrganization)
			r.Get("/organizations/{organization_id}/members", d.listMembers)
			r.Post("/organizations/{organization_id}/members", d.addMember)
			r.Delete("/organizations/{organization_id}/members/{user_id}", d.removeMember)
			r.Post("/organizations/{organization_id}/migrate-resources", d.migrateResources)
		})
	})
	return r
}

// addSlash redirects a collection path given without its trailing slash,
// as FastAPI does. The Location is relative, so it stays right under any
// prefix the dialect is mounted at.
func addSlash(w http.ResponseWriter, r *http.Request) {
	target := path.Base(r.URL.Path) + "/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// superusersOnly refuses every other caller, as the template's
// get_current_active_superuser dependency does.
func (d *Dialect) superusersOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !kit.PrincipalFrom(r.Context()).User.Superuser {
			d.Fail(w, r, errNotSuperuser)
			return
		}
		next.ServeHTTP(w, r)
	})
}
