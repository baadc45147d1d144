package projectionsapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/civic"
	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/projectionsapi"
	"github.com/annals-dev/annals/adapters/http/sartiq"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
)

// dialect is a dialect with how its users sign up and in.
type dialect struct {
	name  string
	build func(kit.Deps) kit.Dialect
	// signUp creates an ordinary user and returns its access token.
	signUp func(t *testing.T, env *dialecttest.Env) string
	// logIn returns an access token of the admin.
	logIn func(t *testing.T, env *dialecttest.Env) string
}

var dialects = []dialect{
	{
		name:  "sartiq",
		build: func(d kit.Deps) kit.Dialect { return sartiq.New(d) },
		signUp: func(t *testing.T, env *dialecttest.Env) string {
			email := "user-" + uuid.NewString()[:8] + "@example.com"
			env.JSON(t, http.MethodPost, "/api/v1/users/signup", "", map[string]any{"email": email, "password": "password-1"}).
				Expect(t, http.StatusOK)
			return sartiqToken(t, env, email, "password-1")
		},
		logIn: func(t *testing.T, env *dialecttest.Env) string {
			return sartiqToken(t, env, env.Admin.Email, env.Admin.Password)
		},
	},
	{
		name:  "civic",
		build: func(d kit.Deps) kit.Dialect { return civic.New(d) },
		signUp: func(t *testing.T, env *dialecttest.Env) string {
			email := "user-" + uuid.NewString()[:8] + "@example.com"
			env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", map[string]any{
				"name": "User", "email": email, "password": "password1", "role": "",
			}).Expect(t, http.StatusCreated)
			return civicToken(t, env, email, "password1")
		},
		logIn: func(t *testing.T, env *dialecttest.Env) string {
			return civicToken(t, env, env.Admin.Email, env.Admin.Password)
		},
	},
}

func sartiqToken(t *testing.T, env *dialecttest.Env, email, password string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.Form(t, "/api/v1/login/access-token", "", url.Values{"username": {email}, "password": {password}}).
		Expect(t, http.StatusOK).Decode(t, &tok)
	return tok.AccessToken
}

func civicToken(t *testing.T, env *dialecttest.Env, email, password string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}).
		Expect(t, http.StatusOK).Decode(t, &tok)
	return tok.AccessToken
}

func TestStatusIsServedToTheRealmsSuperusers(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			env, err := dialecttest.Start(context.Background(), "projectionsapi_"+d.name, d.build, dialecttest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := env.Close(); err != nil {
					t.Error(err)
				}
			})

			env.JSON(t, http.MethodGet, projectionsapi.Path, "", nil).Expect(t, http.StatusUnauthorized)
			env.JSON(t, http.MethodGet, projectionsapi.Path, d.signUp(t, env), nil).Expect(t, http.StatusForbidden)

			if err := env.Settle(t.Context()); err != nil {
				t.Fatal(err)
			}
			var got projectionsapi.Answer
			env.JSON(t, http.MethodGet, projectionsapi.Path, d.logIn(t, env), nil).Expect(t, http.StatusOK).Decode(t, &got)
			var names []string
			for _, s := range got.Projectors {
				names = append(names, s.Name)
				if s.Realm != d.name {
					t.Errorf("%s of realm %q is shown to %s", s.Name, s.Realm, d.name)
				}
				if s.State != projections.StateLive || s.Version < 1 || s.Head == (eventstore.Position{}) ||
					s.Position.Less(s.Head) || s.LagEvents != 0 {
					t.Errorf("status of %s once settled: %+v", s.Name, s)
				}
			}
			for _, p := range env.Dialect.Projectors() {
				i := slices.Index(names, p.Name())
				if i < 0 {
					t.Errorf("projector %s missing from %v", p.Name(), names)
					continue
				}
				if got.Projectors[i].Schema != d.name {
					t.Errorf("%s writes schema %q, want %q", p.Name(), got.Projectors[i].Schema, d.name)
				}
			}
		})
	}
}
