package sartiq

import (
	"context"
	"net/http"

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
	errNotSuperuser = kernel.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")
	errLoginRefused = kernel.Rule("bad_credentials", "Incorrect email or password")
)

// message is the template's Message body.
type message struct {
	Message string `json:"message"`
}

// confirm answers a command with a Message once the read models include
// its events.
func (d *Dialect) confirm(w http.ResponseWriter, r *http.Request, text string, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(context.Context) (message, error) {
		return message{Message: text}, nil
	})
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
