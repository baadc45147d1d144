package civic

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
)

// errNotSuperuser refuses what only superusers (or the user concerned) may
// do.
var errNotSuperuser = kernel.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")

// done answers a command that returns nothing with 204.
func (d *Dialect) done(w http.ResponseWriter, r *http.Request, res commands.Result, err error) {
	d.Await(r, res)
	if err != nil {
		d.Fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
