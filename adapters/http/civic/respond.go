package civic

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// errNotSuperuser refuses what only superusers (or the user concerned) may
// do.
var errNotSuperuser = kernel.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")

// fail answers an error: domain errors with their status and message,
// anything else as a logged 500.
func (d *Dialect) fail(w http.ResponseWriter, r *http.Request, err error) {
	fastapi.WriteError(w, r, d.deps.Logger, nil, err)
}

// reply answers v with 200, or err if the read failed.
func (d *Dialect) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		d.fail(w, r, err)
		return
	}
	fastapi.WriteJSON(w, http.StatusOK, v)
}

// await waits until the read models include the results' events, so that
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

// written answers a command: once the read models include what it
// appended (a refused command may have recorded the attempt), its failure,
// or what read then returns, with status.
func written[T any](d *Dialect, w http.ResponseWriter, r *http.Request, status int, res commands.Result, err error,
	read func(context.Context) (T, error)) {
	d.await(r, res)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	v, err := read(r.Context())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	fastapi.WriteJSON(w, status, v)
}

// done answers a command that returns nothing with 204.
func (d *Dialect) done(w http.ResponseWriter, r *http.Request, res commands.Result, err error) {
	d.await(r, res)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// meta is the audit metadata of a command issued by the request's caller
// (nobody on public routes).
func (d *Dialect) meta(r *http.Request, command string) commands.Meta {
	return kit.CommandMeta(r, readmodel.Realm, caller(r).ID, command)
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

// valid answers 422 with every error found, query parameters before body
// fields, as FastAPI orders them.
func valid(w http.ResponseWriter, found ...fastapi.Errors) bool {
	all := slices.Concat(found...)
	if len(all) == 0 {
		return true
	}
	fastapi.WriteValidation(w, all)
	return false
}

// Field rules of the seed's schemas.
var (
	nameRules          = fastapi.Rules{Required: true, Min: 2, Max: 100}
	optionalNameRules  = fastapi.Rules{Nullable: true, Min: 2, Max: 100}
	labelRules         = fastapi.Rules{Required: true, Min: 1, Max: 100}
	optionalLabelRules = fastapi.Rules{Nullable: true, Min: 1, Max: 100}
	optional           = fastapi.Rules{Nullable: true}
	required           = fastapi.Rules{Required: true}
	loginPassword      = fastapi.Rules{Required: true, Min: 8}
)

// newPassword reads a password being set (sign-up, reset): at least 8
// characters, then the seed's validator (a digit), then bcrypt's limit,
// each failing as pydantic reports a field validator's ValueError.
func newPassword(b *fastapi.Body, name string) string {
	before := len(b.Errors())
	p := b.Str(name, loginPassword)
	if !p.Has() || len(b.Errors()) > before {
		return ""
	}
	problem := ""
	switch {
	case !strings.ContainsFunc(p.V, unicode.IsDigit):
		problem = "Password must contain at least one digit"
	case len(p.V) > auth.MaxPasswordBytes:
		problem = fmt.Sprintf("Password must be at most %d bytes long", auth.MaxPasswordBytes)
	default:
		return p.V
	}
	b.Fail(name, "value_error", "Value error, "+problem, p.V, map[string]any{"error": map[string]any{}})
	return ""
}

// roleIDs reads a role field: role ids separated by commas (the seed types
// it as a string described as a list of role ids).
func roleIDs(s string) []string {
	var ids []string
	for part := range strings.SplitSeq(s, ",") {
		if id := strings.TrimSpace(part); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}
