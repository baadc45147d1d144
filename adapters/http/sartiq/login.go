package sartiq

import (
	"errors"
	"net/http"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/domain/identity"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// token is the OAuth2 token response.
type token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// login exchanges an email (the OAuth2 form's username) and password for an
// access token. As in the FastAPI template, a wrong password and an
// inactive account are both 400.
func (d *Dialect) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.Fail(w, r, err)
		return
	}
	var errs fastapi.Errors
	username := formField(r, &errs, "username")
	password := formField(r, &errs, "password")
	if gt, ok := r.PostForm["grant_type"]; ok && gt[0] != "" && gt[0] != "password" {
		errs.Add(fastapi.ErrorItem{Type: "string_pattern_mismatch", Loc: []any{"body", "grant_type"},
			Msg: "String should match pattern '^password$'", Input: gt[0], Ctx: map[string]any{"pattern": "^password$"}})
	}
	if !fastapi.Valid(w, errs) {
		return
	}
	u, err := d.users.Authenticate(r.Context(), readmodel.Realm, username, password)
	if errors.Is(err, identity.ErrBadCredentials) {
		err = errLoginRefused
	}
	if err != nil {
		d.Fail(w, r, err)
		return
	}
	issued, err := d.Deps.Tokens.Issue(readmodel.Realm, u.ID, auth.Access, "")
	d.Reply(w, r, token{AccessToken: issued.Token, TokenType: "bearer"}, err)
}

// formField reads a required form field; FastAPI takes an empty value for a
// missing one.
func formField(r *http.Request, errs *fastapi.Errors, name string) string {
	v := r.PostForm.Get(name)
	if v == "" {
		errs.Add(fastapi.ErrorItem{Type: "missing", Loc: []any{"body", name}, Msg: "Field required", Input: nil})
	}
	return v
}
