package civic_test

import (
	"net/http"
	"strings"
	"testing"
)

// access is who may call an endpoint.
type access int

const (
	public    access = iota // anyone
	signedIn                // any bearer of a valid access token
	self                    // the user named in the path, or a superuser
	superuser               // superusers only
)

func TestPermissionMatrix(t *testing.T) {
	admin := adminToken(t)
	me, token := userToken(t)
	other := newAccount(t, "")
	roleID := newRole(t, admin, "matrix")
	communityID := newCommunity(t, admin, "Matrix")
	moduleID := newModule(t, admin, "Matrix module", roleID).ID

	const (
		myID    = "{me}"
		otherID = "{other}"
	)
	endpoints := []struct {
		method, path string
		access       access
	}{
		{http.MethodPost, "/api/v1/auth/signup", public},
		{http.MethodPost, "/api/v1/auth/login", public},
		{http.MethodPost, "/api/v1/auth/refresh", public},
		{http.MethodPost, "/api/v1/auth/password-reset-request", public},
		{http.MethodPost, "/api/v1/auth/password-reset", public},
		{http.MethodPost, "/api/v1/auth/logout", signedIn},
		{http.MethodGet, "/api/v1/users/", superuser},
		{http.MethodGet, "/api/v1/users/" + otherID, self},
		{http.MethodPut, "/api/v1/users/" + otherID, self},
		{http.MethodDelete, "/api/v1/users/" + otherID, superuser},
		{http.MethodPost, "/api/v1/users/add-to-community/" + communityID, superuser},
		{http.MethodGet, "/api/v1/user-roles/", signedIn},
		{http.MethodPost, "/api/v1/user-roles/", superuser},
		{http.MethodGet, "/api/v1/user-roles/user/" + otherID, self},
		{http.MethodGet, "/api/v1/user-roles/role/" + roleID, superuser},
		{http.MethodPut, "/api/v1/user-roles/" + roleID, superuser},
		{http.MethodDelete, "/api/v1/user-roles/" + roleID, superuser},
		{http.MethodDelete, "/api/v1/user-roles/user/" + otherID + "/role/" + roleID, superuser},
		{http.MethodGet, "/api/v1/role-base-modules/", signedIn},
		{http.MethodPost, "/api/v1/role-base-modules/", superuser},
		{http.MethodGet, "/api/v1/role-base-modules/" + moduleID, signedIn},
		{http.MethodPut, "/api/v1/role-base-modules/" + moduleID, superuser},
		{http.MethodPut, "/api/v1/role-base-modules/" + moduleID + "/add-roles", superuser},
		{http.MethodPut, "/api/v1/role-base-modules/" + moduleID + "/remove-roles", superuser},
		{http.MethodGet, "/api/v1/communities/", signedIn},
		{http.MethodPost, "/api/v1/communities/", superuser},
		{http.MethodGet, "/api/v1/communities/" + communityID, signedIn},
		{http.MethodPut, "/api/v1/communities/" + communityID, superuser},
		{http.MethodDelete, "/api/v1/communities/" + communityID, superuser},
		{http.MethodGet, "/api/v1/communities/" + communityID + "/members", superuser},
		{http.MethodPost, "/api/v1/communities/join-requests", signedIn},
		{http.MethodGet, "/api/v1/communities/" + communityID + "/join-requests", superuser},
		{http.MethodPost, "/api/v1/communities/" + communityID + "/join-requests/x/approve", superuser},
		{http.MethodPost, "/api/v1/communities/" + communityID + "/join-requests/x/reject", superuser},
	}
	for _, e := range endpoints {
		path := strings.NewReplacer(otherID, other.ID, myID, me.ID).Replace(e.path)
		name := e.method + " " + e.path
		t.Run(name, func(t *testing.T) {
			anonymous := env.JSON(t, e.method, path, "", map[string]any{})
			switch e.access {
			case public:
				// Reachable: the empty body fails validation, not auth.
				anonymous.Expect(t, http.StatusUnprocessableEntity)
				return
			default:
				anonymous.Expect(t, http.StatusUnauthorized)
				if anonymous.Header.Get("WWW-Authenticate") != "Bearer" || detail(t, anonymous) != "Not authenticated" {
					t.Fatalf("401 without a token: %v %s", anonymous.Header, anonymous.Body)
				}
			}
			env.JSON(t, e.method, path, "not-a-jwt", map[string]any{}).Expect(t, http.StatusUnauthorized)
			token := token
			if e.path == "/api/v1/auth/logout" {
				token = login(t, me.Email, me.Password).AccessToken // a session of its own to end
			}
			res := env.JSON(t, e.method, path, token, map[string]any{})
			switch e.access {
			case superuser, self:
				res.Expect(t, http.StatusForbidden)
				if detail(t, res) != "The user doesn't have enough privileges" {
					t.Fatalf("403 body: %s", res.Body)
				}
			default:
				if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden {
					t.Fatalf("a signed-in user was refused: %d %s", res.Status, res.Body)
				}
			}
		})
	}

	// Self endpoints admit the user concerned.
	env.JSON(t, http.MethodGet, "/api/v1/users/"+me.ID, token, nil).Expect(t, http.StatusOK)
	env.JSON(t, http.MethodPut, "/api/v1/users/"+me.ID, token, map[string]any{"name": "Me Myself"}).Expect(t, http.StatusOK)
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+me.ID, token, nil).Expect(t, http.StatusOK)
	// Unknown paths and methods answer as FastAPI does.
	if res := env.JSON(t, http.MethodGet, "/api/v1/nowhere", "", nil).Expect(t, http.StatusNotFound); detail(t, res) != "Not Found" {
		t.Fatalf("unknown path: %s", res.Body)
	}
	env.JSON(t, http.MethodPatch, "/api/v1/auth/login", "", nil).Expect(t, http.StatusMethodNotAllowed)
}
