package civic_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/civic"
	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/kit"
)

// env is the civic dialect running on its own database for this package.
var env *dialecttest.Env

// now is the clock of the commands and the tokens. Tests move it forward
// to let locks and tokens expire; it never goes back, and every test signs
// in afresh, so moving it does not break another test's tokens.
var now = newClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))

type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	env, err = dialecttest.Start(ctx, "civic", func(deps kit.Deps) kit.Dialect {
		deps.Executor.Now = now.Now
		deps.Tokens.Now = now.Now
		return civic.New(deps)
	}, dialecttest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// account is a signed-up user and its password.
type account struct {
	ID       string
	Email    string
	Password string
}

// newAccount signs up a user with a unique email holding roles.
func newAccount(t *testing.T, roles string) account {
	t.Helper()
	a := account{Email: "user-" + uuid.NewString()[:8] + "@example.com", Password: "password1"}
	var u struct{ ID string }
	env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", map[string]any{
		"name": "Test User", "email": a.Email, "password": a.Password, "role": roles,
	}).Expect(t, http.StatusCreated).Decode(t, &u)
	a.ID = u.ID
	return a
}

// tokens is a login's answer.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	User         struct {
		ID   string
		Auth struct {
			IsActive            bool       `json:"is_active"`
			FailedLoginAttempts int        `json:"failed_login_attempts"`
			LockedUntil         *time.Time `json:"locked_until"`
			LastLogin           *time.Time `json:"last_login"`
		}
	}
}

// login signs in and returns the session's tokens.
func login(t *testing.T, email, password string) tokens {
	t.Helper()
	var tk tokens
	env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}).
		Expect(t, http.StatusOK).Decode(t, &tk)
	return tk
}

// adminToken is an access token of the bootstrap superuser.
func adminToken(t *testing.T) string {
	t.Helper()
	return login(t, env.Admin.Email, env.Admin.Password).AccessToken
}

// userToken signs a new ordinary user up and in.
func userToken(t *testing.T) (account, string) {
	t.Helper()
	a := newAccount(t, "")
	return a, login(t, a.Email, a.Password).AccessToken
}

// newRole defines a role and returns its id.
func newRole(t *testing.T, admin, name string) string {
	t.Helper()
	var r struct{ ID string }
	env.JSON(t, http.MethodPost, "/api/v1/user-roles/", admin, map[string]string{"name": name}).
		Expect(t, http.StatusCreated).Decode(t, &r)
	return r.ID
}

// detail is a FastAPI error body with a message.
func detail(t *testing.T, r dialecttest.Response) string {
	t.Helper()
	var d struct{ Detail string }
	r.Decode(t, &d)
	return d.Detail
}

// validationError is one item of a 422 body.
type validationError struct {
	Type  string
	Loc   []any
	Msg   string
	Input any
	Ctx   map[string]any
}

// validation returns a 422 body's items.
func validation(t *testing.T, r dialecttest.Response) []validationError {
	t.Helper()
	r.Expect(t, http.StatusUnprocessableEntity)
	var v struct{ Detail []validationError }
	r.Decode(t, &v)
	if len(v.Detail) == 0 {
		t.Fatalf("%s: 422 without errors: %s", r.Request, r.Body)
	}
	return v.Detail
}

// expectInvalid asserts a 422 whose first error is of typ at body field.
func expectInvalid(t *testing.T, r dialecttest.Response, field, typ string) validationError {
	t.Helper()
	errs := validation(t, r)
	e := errs[0]
	if len(e.Loc) != 2 || e.Loc[1] != field || e.Type != typ {
		t.Fatalf("%s: first error %+v, want %s at %s; all: %s", r.Request, e, typ, field, r.Body)
	}
	return e
}
