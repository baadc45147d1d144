package civic_test

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/civic"
	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/projections/projectionstest"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// TestRebuildEqualsTheLiveBuild writes a history through every kind of
// civic command, rebuilds the civic schema from the log and compares it
// with the one built live, row for row.
func TestRebuildEqualsTheLiveBuild(t *testing.T) {
	env, err := dialecttest.Start(context.Background(), "civic_rebuild",
		func(d kit.Deps) kit.Dialect { return civic.New(d) }, dialecttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	h := history{t: t, env: env}
	admin := h.login(env.Admin.Email, env.Admin.Password)

	kept, dropped, renamed := h.role(admin, "kept"), h.role(admin, "dropped"), h.role(admin, "renamed")
	h.call(http.MethodPut, "/api/v1/user-roles/"+renamed, admin, map[string]string{"name": "now renamed"}, http.StatusOK)
	ann := h.signUp("ann", kept+","+dropped)
	bob := h.signUp("bob", renamed)
	cy := h.signUp("cy", "")
	h.call(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": bob.email, "password": "wrong-password1"}, http.StatusUnauthorized)
	h.login(ann.email, "password1")
	h.call(http.MethodPut, "/api/v1/users/"+cy.id, admin, map[string]any{"name": "Cy Renamed"}, http.StatusOK)

	var module struct{ ID string }
	h.decode(h.call(http.MethodPost, "/api/v1/role-base-modules/", admin,
		map[string]any{"module_name": "Reports", "user_roles": []string{kept, dropped}}, http.StatusCreated), &module)
	h.call(http.MethodPut, "/api/v1/role-base-modules/"+module.ID+"/add-roles", admin, map[string]any{"user_role_ids": []string{renamed}}, http.StatusOK)
	h.call(http.MethodPut, "/api/v1/role-base-modules/"+module.ID+"/remove-roles", admin, map[string]any{"user_role_ids": []string{kept}}, http.StatusOK)
	h.call(http.MethodPut, "/api/v1/role-base-modules/"+module.ID, admin, map[string]any{"module_name": "Monthly reports"}, http.StatusOK)
	h.call(http.MethodDelete, "/api/v1/user-roles/"+dropped, admin, nil, http.StatusNoContent)

	var community struct{ ID string }
	h.decode(h.call(http.MethodPost, "/api/v1/communities/", admin, map[string]string{"name": "Old Town", "logo": "old.png"}, http.StatusCreated), &community)
	h.call(http.MethodPut, "/api/v1/communities/"+community.ID, admin, map[string]string{"name": "New Town"}, http.StatusOK)
	var approve, reject struct{ ID string }
	h.decode(h.call(http.MethodPost, "/api/v1/communities/join-requests", admin,
		map[string]any{"community_id": community.ID, "user_id": ann.id, "message": "let me in"}, http.StatusCreated), &approve)
	h.decode(h.call(http.MethodPost, "/api/v1/communities/join-requests", admin,
		map[string]any{"community_id": community.ID, "user_id": bob.id}, http.StatusCreated), &reject)
	base := "/api/v1/communities/" + community.ID + "/join-requests/"
	h.call(http.MethodPost, base+approve.ID+"/approve", admin, nil, http.StatusOK)
	h.call(http.MethodPost, base+reject.ID+"/reject", admin, nil, http.StatusOK)
	h.call(http.MethodPost, "/api/v1/users/add-to-community/"+community.ID, admin, map[string]any{"user_id": cy.id}, http.StatusOK)
	var gone struct{ ID string }
	h.decode(h.call(http.MethodPost, "/api/v1/communities/", admin, map[string]string{"name": "Gone"}, http.StatusCreated), &gone)
	h.call(http.MethodDelete, "/api/v1/communities/"+gone.ID, admin, nil, http.StatusNoContent)
	h.call(http.MethodDelete, "/api/v1/users/"+bob.id, admin, nil, http.StatusNoContent)
	if err := env.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}

	live := projectionstest.DumpFull(h.t, h.env.Pool, readmodel.Schema.Name)
	var last projections.RebuildProgress
	if err := env.Runtime.Rebuild(t.Context(), "civic.users", projections.RebuildOptions{
		Progress: func(p projections.RebuildProgress) { last = p },
	}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if !last.Swapped || last.Schema != readmodel.Schema.Name || last.Parked != 0 || last.Fallbacks != 0 {
		t.Fatalf("rebuild ended with %+v", last)
	}
	if rebuilt := projectionstest.DumpFull(h.t, h.env.Pool, readmodel.Schema.Name); !maps.Equal(rebuilt, live) {
		t.Fatalf("rebuilt civic schema differs from the live one:\n live    %v\n rebuilt %v", live, rebuilt)
	}
}

// history writes through the civic API, failing the test on a surprise.
type history struct {
	t   *testing.T
	env *dialecttest.Env
}

type account struct{ id, email string }

func (h history) call(method, path, token string, body any, status int) dialecttest.Response {
	h.t.Helper()
	return h.env.JSON(h.t, method, path, token, body).Expect(h.t, status)
}

func (h history) decode(r dialecttest.Response, v any) {
	h.t.Helper()
	r.Decode(h.t, v)
}

func (h history) login(email, password string) string {
	h.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	h.decode(h.call(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK), &tok)
	return tok.AccessToken
}

func (h history) role(admin, name string) string {
	h.t.Helper()
	var r struct{ ID string }
	h.decode(h.call(http.MethodPost, "/api/v1/user-roles/", admin, map[string]string{"name": name}, http.StatusCreated), &r)
	return r.ID
}

func (h history) signUp(name, roles string) account {
	h.t.Helper()
	a := account{email: name + "-" + uuid.NewString()[:8] + "@example.com"}
	var u struct{ ID string }
	h.decode(h.call(http.MethodPost, "/api/v1/auth/signup", "", map[string]any{
		"name": name, "email": a.email, "password": "password1", "role": roles,
	}, http.StatusCreated), &u)
	a.id = u.ID
	return a
}
