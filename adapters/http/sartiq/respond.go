package sartiq

import (
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// Failures this dialect words itself, as the FastAPI template does.
var (
	errNotSuperuser     = kernel.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")
	errSuperuserDeletes = kernel.Rule("superuser_self_delete", "Super users are not allowed to delete themselves")
	errLoginRefused     = kernel.Rule("bad_credentials", "Incorrect email or password")
)

// message is the template's Message body.
type message struct {
	Message string `json:"message"`
}

// fail answers an error: domain errors with their status and message,
// anything else as a logged 500.
func (d *Dialect) fail(w http.ResponseWriter, r *http.Request, err error) {
	fastapi.WriteError(w, r, d.deps.Logger, nil, err)
}

// reply answers v, or err if the read failed.
func (d *Dialect) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		d.fail(w, r, err)
		return
	}
	fastapi.WriteJSON(w, http.StatusOK, v)
}

// await waits until the read models include every given result, so that
// what the handler reads next, and the client after it, shows the write.
// Positions are ordered, so waiting for the latest covers the others.
func (d *Dialect) await(r *http.Request, results ...commands.Result) {
	var latest commands.Result
	for _, res := range results {
		if res.Appended() && !res.Position.Less(latest.Position) {
			latest = res
		}
	}
	d.deps.Await(r.Context(), readmodel.Realm, latest)
}

// confirm answers a command with a Message once the read models include
// its events.
func (d *Dialect) confirm(w http.ResponseWriter, r *http.Request, text string, res commands.Result, err error) {
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.await(r, res)
	fastapi.WriteJSON(w, http.StatusOK, message{Message: text})
}

// meta is the audit metadata of a command issued by the request's caller.
func (d *Dialect) meta(r *http.Request, command string) commands.Meta {
	return kit.CommandMeta(r, readmodel.Realm, kit.PrincipalFrom(r.Context()).User.ID, command)
}

// body reads the JSON body; when it cannot be read at all (too large, cut
// off) it answers and returns false.
func (d *Dialect) body(w http.ResponseWriter, r *http.Request) (*fastapi.Body, bool) {
	b, err := fastapi.ReadBody(r)
	if err != nil {
		d.fail(w, r, err)
		return nil, false
	}
	return b, true
}

// valid answers 422 with every error found, path and query parameters
// first and body fields after, as FastAPI orders them.
func valid(w http.ResponseWriter, found ...fastapi.Errors) bool {
	all := slices.Concat(found...)
	if len(all) == 0 {
		return true
	}
	fastapi.WriteValidation(w, all)
	return false
}

// page reads the skip/limit/search query parameters. Negative values are
// refused: they have no meaning for a page.
func page(p *fastapi.Params) readmodel.Page {
	nonNegative := fastapi.Bounds{HasGe: true}
	return readmodel.Page{
		Skip:   p.Int("skip", 0, nonNegative),
		Limit:  p.Int("limit", 100, nonNegative),
		Search: p.Str("search"),
	}
}

// actor is the caller as the organization rules see it.
func actor(r *http.Request) organization.Actor {
	u := kit.PrincipalFrom(r.Context()).User
	return organization.Actor{ID: u.ID, Superuser: u.Superuser}
}

// callerID is the caller's user id. Ids of this realm are UUIDs; were one
// not, it would be uuid.Nil, which names no user and no membership.
func callerID(r *http.Request) uuid.UUID {
	id, _ := uuid.Parse(kit.PrincipalFrom(r.Context()).User.ID)
	return id
}

// viewer is the caller as the read models filter for it.
func viewer(r *http.Request) readmodel.Viewer {
	return readmodel.Viewer{UserID: callerID(r), Superuser: kit.PrincipalFrom(r.Context()).User.Superuser}
}

// self reports whether id is the caller's.
func self(r *http.Request, id uuid.UUID) bool { return callerID(r) == id }
