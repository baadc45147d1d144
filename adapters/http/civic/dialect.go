// Package civic serves the Civic Data Trust API (a FastAPI service) on the
// shared command and query machinery: users with roles, role-based
// modules, communities, and JSON sign-in with rotating refresh tokens,
// lockout and password reset. It translates HTTP; the rules live in the
// domain and command packages.
package civic

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/auditapi"
	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/projectionsapi"
	cmdcommunity "github.com/annals-dev/annals/commands/community"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	cmdrole "github.com/annals-dev/annals/commands/role"
	"github.com/annals-dev/annals/domain/community"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/role"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/civic"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// Dialect is the civic backend.
type Dialect struct {
	fastapi.Responder
	lockout     identity.LockoutPolicy
	resetTTL    time.Duration
	users       *cmdidentity.Users
	sessions    *cmdidentity.Sessions
	resets      *cmdidentity.PasswordResets
	roles       *cmdrole.Roles
	communities *cmdcommunity.Communities
	reads       *readmodel.Queries
	auth        kit.Authenticator
	handler     http.Handler
}

var (
	_ kit.Dialect     = (*Dialect)(nil)
	_ kit.ErrorWriter = (*Dialect)(nil)
)

// Option tunes the dialect.
type Option func(*Dialect)

// WithLockout sets how many wrong passwords in a row lock an account and
// for how long (identity.DefaultLockout otherwise).
func WithLockout(p identity.LockoutPolicy) Option { return func(d *Dialect) { d.lockout = p } }

// WithResetTTL sets how long a password-reset token can be used
// (cmdidentity.DefaultResetTTL otherwise).
func WithResetTTL(ttl time.Duration) Option { return func(d *Dialect) { d.resetTTL = ttl } }

// New builds the dialect. It registers the events it writes in the
// executor's registry, which the projection runtime decodes with.
func New(deps kit.Deps, opts ...Option) *Dialect {
	identity.RegisterEvents(deps.Executor.Registry)
	role.RegisterEvents(deps.Executor.Registry)
	community.RegisterEvents(deps.Executor.Registry)
	d := &Dialect{Responder: fastapi.Responder{Deps: deps, Realm: readmodel.Realm}, lockout: identity.DefaultLockout, resetTTL: cmdidentity.DefaultResetTTL}
	for _, o := range opts {
		o(d)
	}
	x := deps.Executor
	d.users = cmdidentity.NewUsers(x, deps.Passwords)
	d.sessions = cmdidentity.NewSessions(x, d.users)
	d.resets = cmdidentity.NewPasswordResets(x, d.users, d.resetTTL)
	d.roles = cmdrole.NewRoles(x, d.users)
	d.communities = cmdcommunity.NewCommunities(x, d.users)
	d.reads = readmodel.NewQueries(deps.Pool)
	d.auth = kit.Authenticator{Realm: readmodel.Realm, Tokens: deps.Tokens, Users: d.users, Session: d.sessions.Check(readmodel.Realm)}
	d.handler = d.routes()
	return d
}

// Name is the realm of the dialect's events.
func (d *Dialect) Name() string { return readmodel.Realm }

// Handler serves the seed's paths.
func (d *Dialect) Handler() http.Handler { return d.handler }

// Projectors build the civic read models.
func (d *Dialect) Projectors() []projections.Projector { return projection.Projectors() }

// Migrate brings the civic schema up to date.
func (d *Dialect) Migrate(ctx context.Context) error { return readmodel.Migrate(ctx, d.Deps.Pool) }

// Bootstrap creates the configured superuser unless its email is taken.
func (d *Dialect) Bootstrap(ctx context.Context) error {
	return d.Deps.EnsureAdmin(ctx, readmodel.Realm, d.users)
}

// routes lays out the API. Sign-up, login, refresh and password reset are
// public; everything else needs a bearer token, and managing users, roles,
// modules and communities needs a superuser. Routes open to every signed-in
// user that concern one user check in the handler that it is the caller.
func (d *Dialect) routes() http.Handler {
	r := fastapi.NewRouter()
	auditapi.Mount(r, d.Deps, d.auth, d.Fail)
	projectionsapi.Mount(r, d.Deps, d.auth, d.Fail)
	r.Route("/api/v1", func(r chi.Router) {
		r.Post("/auth/signup", d.signup)
		r.Post("/auth/login", d.login)
		r.Post("/auth/refresh", d.refresh)
		r.Post("/auth/password-reset-request", d.requestPasswordReset)
		r.Post("/auth/password-reset", d.resetPassword)
		r.Group(func(r chi.Router) {
			r.Use(d.auth.Middleware(d.Fail))
			r.Post("/auth/logout", d.logout)
			r.Get("/users/{user_id}", d.readUser)
			r.Put("/users/{user_id}", d.updateUser)
			r.Get("/user-roles/", d.listRoles)
			r.Get("/user-roles/user/{user_id}", d.rolesOfUser)
			r.Get("/role-base-modules/", d.listModules)
			r.Get("/role-base-modules/{module_id}", d.readModule)
			r.Get("/communities/", d.listCommunities)
			r.Get("/communities/{community_id}", d.readCommunity)
			r.Post("/communities/join-requests", d.requestJoin)
			r.Group(func(r chi.Router) {
				r.Use(d.superusersOnly)
				r.Get("/users/", d.listUsers)
				r.Delete("/users/{user_id}", d.deleteUser)
				r.Post("/users/add-to-community/{community_id}", d.addToCommunity)
				r.Post("/user-roles/", d.createRole)
				r.Put("/user-roles/{user_role_id}", d.renameRole)
				r.Delete("/user-roles/{user_role_id}", d.deleteRole)
				r.Get("/user-roles/role/{role_id}", d.holdersOfRole)
				r.Delete("/user-roles/user/{user_id}/role/{role_id}", d.revokeRole)
				r.Post("/role-base-modules/", d.createModule)
				r.Put("/role-base-modules/{module_id}", d.updateModule)
				r.Put("/role-base-modules/{module_id}/add-roles", d.addModuleRoles)
				r.Put("/role-base-modules/{module_id}/remove-roles", d.removeModuleRoles)
				r.Post("/communities/", d.createCommunity)
				r.Put("/communities/{community_id}", d.updateCommunity)
				r.Delete("/communities/{community_id}", d.deleteCommunity)
				r.Get("/communities/{community_id}/members", d.listMembers)
				r.Get("/communities/{community_id}/join-requests", d.listJoinRequests)
				r.Post("/communities/{community_id}/join-requests/{request_id}/approve", d.approveJoin)
				r.Post("/communities/{community_id}/join-requests/{request_id}/reject", d.rejectJoin)
			})
		})
	})
	return r
}

// superusersOnly refuses every other caller.
func (d *Dialect) superusersOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !caller(r).Superuser {
			d.Fail(w, r, errNotSuperuser)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// caller is the authenticated user of the request.
func caller(r *http.Request) identity.User { return kit.PrincipalFrom(r.Context()).User }

// selfOrSuperuser fails unless the caller is userID or a superuser.
func selfOrSuperuser(r *http.Request, userID string) error {
	if u := caller(r); u.ID != userID && !u.Superuser {
		return errNotSuperuser
	}
	return nil
}
