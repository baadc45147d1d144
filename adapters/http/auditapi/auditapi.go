// Package auditapi serves the action log under a dialect's prefix, with the
// dialect's own authentication and error format, so that every dialect has
// it by mounting it: the actions log with its filters, undo by token, redo
// by log id, and the history of a resource with time travel. The shapes
// are those of the mercato seed's "Audit & Action Logs" module.
package auditapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/kit"
	cmdaudit "github.com/annals-dev/annals/commands/audit"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	readmodel "github.com/annals-dev/annals/readmodels/audit"
)

var _ cmdaudit.Log = (*readmodel.Queries)(nil)

// Limits of the actions listing.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// api serves one realm's action log.
type api struct {
	deps      kit.Deps
	realm     string
	fail      func(http.ResponseWriter, *http.Request, error)
	queries   *readmodel.Queries
	actions   *cmdaudit.Actions
	histories *readmodel.Histories
}

// Mount serves the log of auth's realm at /_annals on r, authenticated by
// auth and failing with fail (the dialect's error writer), and records the
// refusal of every command r's handlers issue. It adds a middleware, so it
// must come before r's routes.
func Mount(r chi.Router, deps kit.Deps, auth kit.Authenticator, fail func(http.ResponseWriter, *http.Request, error)) {
	audit.RegisterEvents(deps.Executor.Registry)
	queries := readmodel.NewQueries(deps.Pool)
	a := &api{
		deps: deps, realm: auth.Realm, fail: fail, queries: queries,
		actions:   cmdaudit.New(deps.Executor, cmdidentity.NewUsers(deps.Executor, deps.Passwords), queries),
		histories: readmodel.NewHistories(deps.Executor.Store, deps.Executor.Registry),
	}
	r.Use(deps.RecordRefusals(auth.Realm, a.actions.Refused))
	// Inline routes rather than a sub-router: other parts of Annals serve
	// their own paths under /_annals too.
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware(fail))
		r.Get("/_annals/audit/actions", a.list)
		r.Post("/_annals/audit/actions/undo", a.undo)
		r.Post("/_annals/audit/actions/redo", a.redo)
		r.Get("/_annals/history/{resourceKind}/{resourceId}", a.history)
	})
}

// actionList is the answer of the actions listing.
type actionList struct {
	Items []readmodel.Entry `json:"items"`
	// CanViewTenant tells whether the caller sees everyone's actions.
	CanViewTenant bool `json:"canViewTenant"`
}

// list answers the caller's actions, or a superuser's choice of everyone's.
func (a *api) list(w http.ResponseWriter, r *http.Request) {
	caller := kit.PrincipalFrom(r.Context()).User
	q := r.URL.Query()
	f := readmodel.Filter{
		Realm: a.realm, ActorID: q.Get("actorUserId"), OrganizationID: q.Get("organizationId"),
		ResourceKind: q.Get("resourceKind"), ResourceID: q.Get("resourceId"),
	}
	var errs []error
	f.IncludeRelated = flag(q.Get("includeRelated"), "includeRelated", &errs)
	f.UndoableOnly = flag(q.Get("undoableOnly"), "undoableOnly", &errs)
	f.Limit = limit(q.Get("limit"), &errs)
	f.Before = timestamp(q.Get("before"), "before", &errs)
	f.After = timestamp(q.Get("after"), "after", &errs)
	if !caller.Superuser {
		if f.ActorID != "" && f.ActorID != caller.ID {
			errs = append(errs, invalidFilter("actorUserId: only administrators may see other users' actions"))
		}
		f.ActorID = caller.ID
	}
	if len(errs) > 0 {
		a.fail(w, r, errs[0])
		return
	}
	items, err := a.queries.Actions(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if items == nil {
		items = []readmodel.Entry{}
	}
	writeJSON(w, actionList{Items: items, CanViewTenant: caller.Superuser})
}

// undone is the answer of an undo: the action undone, which redo takes.
type undone struct {
	OK    bool   `json:"ok"`
	LogID string `json:"logId"`
}

// undo takes back the action an undo token names.
func (a *api) undo(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UndoToken string `json:"undoToken"`
	}
	if !a.read(w, r, &in) {
		return
	}
	meta := kit.CommandMeta(r, a.realm, kit.PrincipalFrom(r.Context()).User.ID, audit.UndoCommand)
	out, err := a.actions.Undo(r.Context(), meta, in.UndoToken)
	a.deps.Await(r.Context(), a.realm, out.Result)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, undone{OK: true, LogID: out.LogID})
}

// redone is the answer of a redo: the redo's own entry and the token that
// undoes it.
type redone struct {
	OK        bool   `json:"ok"`
	LogID     string `json:"logId"`
	UndoToken string `json:"undoToken"`
}

// redo applies again the action a log id names.
func (a *api) redo(w http.ResponseWriter, r *http.Request) {
	var in struct {
		LogID string `json:"logId"`
	}
	if !a.read(w, r, &in) {
		return
	}
	meta := kit.CommandMeta(r, a.realm, kit.PrincipalFrom(r.Context()).User.ID, audit.RedoCommand)
	out, err := a.actions.Redo(r.Context(), meta, in.LogID)
	a.deps.Await(r.Context(), a.realm, out.Result)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, redone{OK: true, LogID: out.LogID, UndoToken: out.UndoToken})
}

// history answers a resource's events and its state as of ?asOf= (an RFC
// 3339 time or a version of its stream). Superusers see every resource;
// others their own account and what they acted on, and to them other
// resources do not exist.
func (a *api) history(w http.ResponseWriter, r *http.Request) {
	caller := kit.PrincipalFrom(r.Context()).User
	kind, id := chi.URLParam(r, "resourceKind"), chi.URLParam(r, "resourceId")
	asOf, err := parseAsOf(r.URL.Query().Get("asOf"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	visible := caller.Superuser || kind == identity.UserKind && id == caller.ID
	if !visible {
		if visible, err = a.queries.ActedOn(r.Context(), a.realm, caller.ID, kind, id); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if !visible {
		a.fail(w, r, readmodel.ErrResourceNotFound)
		return
	}
	h, err := a.histories.Of(r.Context(), a.realm, kind, id, asOf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, h)
}

// read decodes a JSON object body; when it cannot, it answers and
// returns false.
func (a *api) read(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(r.Body).Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		a.fail(w, r, err)
		return false
	case err != nil && !errors.Is(err, io.EOF):
		a.fail(w, r, errInvalidBody)
		return false
	}
	return true
}

var errInvalidBody = kernel.Rule("invalid_body", "The request body must be a JSON object")

func invalidFilter(msg string) error { return kernel.Rule("invalid_filter", "Invalid filter: "+msg) }

func flag(raw, name string, errs *[]error) bool {
	if raw == "" {
		return false
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		*errs = append(*errs, invalidFilter(name+" must be true or false"))
	}
	return v
}

func limit(raw string, errs *[]error) int {
	if raw == "" {
		return defaultLimit
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		*errs = append(*errs, invalidFilter("limit must be a whole number from 1 to "+strconv.Itoa(maxLimit)))
		return defaultLimit
	}
	return n
}

func timestamp(raw, name string, errs *[]error) time.Time {
	if raw == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		*errs = append(*errs, invalidFilter(name+" must be an ISO-8601 timestamp such as 2026-01-02T03:04:05Z"))
	}
	return t
}

// parseAsOf reads a version (a whole number) or an RFC 3339 time.
func parseAsOf(raw string) (readmodel.AsOf, error) {
	if raw == "" {
		return readmodel.AsOf{}, nil
	}
	if v, err := strconv.ParseInt(raw, 10, 64); err == nil && v >= 0 {
		return readmodel.AsOf{Version: &v}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return readmodel.AsOf{}, kernel.Rule("invalid_as_of", "asOf must be a version (a whole number) or an RFC 3339 time")
	}
	return readmodel.AsOf{Time: t}, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
