package fastapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/commands"
)

// Responder is the plumbing every FastAPI dialect answers with; a dialect
// embeds it. Transport makes the dialect a kit.ErrorWriter.
type Responder struct {
	Transport
	Deps  kit.Deps
	Realm string
	// Messages rewords domain errors by code, where the dialect's seed
	// words them differently.
	Messages Messages
}

// NewRouter is a chi router that answers unknown paths and methods as
// FastAPI does.
func NewRouter() *chi.Mux {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { WriteDetail(w, http.StatusNotFound, "Not Found") })
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		WriteDetail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	})
	return r
}

// Fail answers an error: domain errors with their status and message,
// anything else as a logged 500.
func (s Responder) Fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, s.Deps.Logger, s.Messages, err)
}

// Reply answers v with 200, or err if the read failed.
func (s Responder) Reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// Await waits until the realm's read models include the results' events,
// so that what the handler reads next, and the client after it, shows the
// write.
func (s Responder) Await(r *http.Request, results ...commands.Result) {
	s.Deps.Await(r.Context(), s.Realm, results...)
}

// Written answers a command: once the read models include what it appended
// (a refused command may have recorded the attempt), its failure, or what
// read then returns, with status.
func Written[T any](s Responder, w http.ResponseWriter, r *http.Request, status int, res commands.Result, err error,
	read func(context.Context) (T, error)) {
	s.Await(r, res)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	v, err := read(r.Context())
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, status, v)
}

// Meta is the audit metadata of a command issued by the request's caller
// (nobody on public routes).
func (s Responder) Meta(r *http.Request, command string) commands.Meta {
	return kit.CommandMeta(r, s.Realm, kit.PrincipalFrom(r.Context()).User.ID, command)
}

// Body reads the JSON body; when it cannot be read at all (too large, cut
// off) it answers and returns false.
func (s Responder) Body(w http.ResponseWriter, r *http.Request) (*Body, bool) {
	b, err := ReadBody(r)
	if err != nil {
		s.Fail(w, r, err)
		return nil, false
	}
	return b, true
}

// Valid answers 422 with every error found, path and query parameters
// first and body fields after, as FastAPI orders them.
func Valid(w http.ResponseWriter, found ...Errors) bool {
	all := slices.Concat(found...)
	if len(all) == 0 {
		return true
	}
	WriteValidation(w, all)
	return false
}
