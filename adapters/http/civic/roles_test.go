package civic_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

type roleItem struct{ ID, Name string }

func TestRoleDefinitions(t *testing.T) {
	admin := adminToken(t)
	_, token := userToken(t)
	var created roleItem
	env.JSON(t, http.MethodPost, "/api/v1/user-roles/", admin, map[string]string{"name": "auditor"}).
		Expect(t, http.StatusCreated).Decode(t, &created)
	if created.ID == "" || created.Name != "auditor" {
		t.Fatalf("created role: %+v", created)
	}
	var renamed roleItem
	env.JSON(t, http.MethodPut, "/api/v1/user-roles/"+created.ID, admin, map[string]string{"name": "inspector"}).
		Expect(t, http.StatusOK).Decode(t, &renamed)
	if renamed != (roleItem{ID: created.ID, Name: "inspector"}) {
		t.Fatalf("renamed role: %+v", renamed)
	}
	var all []roleItem
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/", token, nil).Expect(t, http.StatusOK).Decode(t, &all)
	if !containsRole(all, renamed) {
		t.Fatalf("roles listing lacks %+v: %+v", renamed, all)
	}

	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/user-roles/", admin, map[string]string{}), "name", "missing")
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/user-roles/", admin, map[string]string{"name": ""}), "name", "string_too_short")
	env.JSON(t, http.MethodPut, "/api/v1/user-roles/"+uuid.NewString(), admin, map[string]string{"name": "x"}).Expect(t, http.StatusNotFound)

	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/"+created.ID, admin, nil).Expect(t, http.StatusNoContent)
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/"+created.ID, admin, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/", token, nil).Expect(t, http.StatusOK).Decode(t, &all)
	if containsRole(all, renamed) {
		t.Fatalf("deleted role still listed: %+v", all)
	}
}

func TestRolesByUserAndByRole(t *testing.T) {
	admin := adminToken(t)
	r1, r2 := newRole(t, admin, "steward"), newRole(t, admin, "analyst")
	a := newAccount(t, r1+","+r2)
	b := newAccount(t, r1)
	token := login(t, a.Email, a.Password).AccessToken

	var roles []roleItem
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+a.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &roles)
	if len(roles) != 2 || roles[0] != (roleItem{ID: r1, Name: "steward"}) || roles[1] != (roleItem{ID: r2, Name: "analyst"}) {
		t.Fatalf("roles of user: %+v", roles)
	}
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+b.ID, token, nil).Expect(t, http.StatusForbidden)
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+uuid.NewString(), admin, nil).Expect(t, http.StatusNotFound)

	var holders []roleItem
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/role/"+r1, admin, nil).Expect(t, http.StatusOK).Decode(t, &holders)
	if len(holders) != 2 || holders[0] != (roleItem{ID: a.ID, Name: "Test User"}) || holders[1].ID != b.ID {
		t.Fatalf("holders of role: %+v", holders)
	}
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/role/"+uuid.NewString(), admin, nil).Expect(t, http.StatusNotFound)

	// Removing by user and role.
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/user/"+a.ID+"/role/"+r1, admin, nil).Expect(t, http.StatusNoContent)
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/user/"+a.ID+"/role/"+r1, admin, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/user/"+uuid.NewString()+"/role/"+r1, admin, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+a.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &roles)
	if len(roles) != 1 || roles[0].ID != r2 {
		t.Fatalf("roles after removing %s: %+v", r1, roles)
	}
	var u user
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &u)
	if u.Role != r2 {
		t.Fatalf("user's role field after the removal: %q, want %q", u.Role, r2)
	}

	// Deleting a role takes it from every holder.
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/"+r2, admin, nil).Expect(t, http.StatusNoContent)
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+a.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &roles)
	if len(roles) != 0 {
		t.Fatalf("roles after deleting %s: %+v", r2, roles)
	}
}

func containsRole(roles []roleItem, r roleItem) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}
