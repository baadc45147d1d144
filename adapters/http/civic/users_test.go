package civic_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// user is app__schemas__user__UserResponse.
type user struct {
	Name, Email, Role, ID string
	Status                bool
	CreatedAt             string `json:"created_at"`
	UpdatedAt             string `json:"updated_at"`
}

func TestListUsersPagesOldestFirst(t *testing.T) {
	admin := adminToken(t)
	a, b := newAccount(t, ""), newAccount(t, "")
	var all []user
	env.JSON(t, http.MethodGet, "/api/v1/users/?limit=1000", admin, nil).Expect(t, http.StatusOK).Decode(t, &all)
	ia, ib := indexOf(all, a.ID), indexOf(all, b.ID)
	if ia < 0 || ib != ia+1 {
		t.Fatalf("users listing: %s at %d, %s at %d of %d", a.ID, ia, b.ID, ib, len(all))
	}
	if all[0].Email != env.Admin.Email {
		t.Fatalf("the bootstrap superuser is not the oldest user: %+v", all[0])
	}
	var page []user
	env.JSON(t, http.MethodGet, "/api/v1/users/?skip="+strconv.Itoa(ia)+"&limit=2", admin, nil).Expect(t, http.StatusOK).Decode(t, &page)
	if len(page) != 2 || page[0].ID != a.ID || page[1].ID != b.ID {
		t.Fatalf("skip/limit page: %+v", page)
	}
	if e := validation(t, env.JSON(t, http.MethodGet, "/api/v1/users/?skip=-1", admin, nil)); e[0].Type != "greater_than_equal" {
		t.Fatalf("negative skip: %+v", e)
	}
	if e := validation(t, env.JSON(t, http.MethodGet, "/api/v1/users/?limit=x", admin, nil)); e[0].Type != "int_parsing" {
		t.Fatalf("non-numeric limit: %+v", e)
	}
}

func TestReadUser(t *testing.T) {
	a, token := userToken(t)
	var u user
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &u)
	if u.ID != a.ID || u.Email != a.Email || u.Name != "Test User" || !u.Status || u.Role != "" || u.CreatedAt == "" {
		t.Fatalf("own record: %+v", u)
	}
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, adminToken(t), nil).Expect(t, http.StatusOK)
	env.JSON(t, http.MethodGet, "/api/v1/users/"+uuid.NewString(), adminToken(t), nil).Expect(t, http.StatusNotFound)
}

func TestUserUpdatesOwnNameAndEmailOnly(t *testing.T) {
	a, token := userToken(t)
	newEmail := "renamed-" + uuid.NewString()[:8] + "@example.com"
	now.Advance(time.Second)
	var u user
	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, token, map[string]any{"name": "Renamed", "email": newEmail, "status": nil}).
		Expect(t, http.StatusOK).Decode(t, &u)
	if u.Name != "Renamed" || u.Email != newEmail || !u.Status || u.UpdatedAt == u.CreatedAt {
		t.Fatalf("after own update: %+v", u)
	}
	login(t, newEmail, a.Password)
	// The old email is free again.
	env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", map[string]any{"name": "Taker", "email": a.Email, "password": "password1", "role": ""}).
		Expect(t, http.StatusCreated)

	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, token, map[string]any{"status": false}).Expect(t, http.StatusForbidden)
	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, token, map[string]any{"role": ""}).Expect(t, http.StatusForbidden)
	expectInvalid(t, env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, token, map[string]any{"email": "nope"}), "email", "value_error")
	expectInvalid(t, env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, token, map[string]any{"status": "maybe"}), "status", "bool_parsing")

	other := newAccount(t, "")
	res := env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, token, map[string]any{"email": strings.ToUpper(other.Email)})
	res.Expect(t, http.StatusBadRequest)
}

func TestSuperuserUpdatesStatusAndRoles(t *testing.T) {
	admin := adminToken(t)
	r1, r2, r3 := newRole(t, admin, "r1"), newRole(t, admin, "r2"), newRole(t, admin, "r3")
	a := newAccount(t, r1+","+r2)
	var u user
	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, admin, map[string]any{"role": r3 + "," + r2}).Expect(t, http.StatusOK).Decode(t, &u)
	if u.Role != r2+","+r3 {
		t.Fatalf("roles after replacing %s,%s with %s,%s: %q", r1, r2, r3, r2, u.Role)
	}
	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, admin, map[string]any{"role": uuid.NewString()}).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, admin, map[string]any{"status": false}).Expect(t, http.StatusOK).Decode(t, &u)
	if u.Status || u.Role != r2+","+r3 {
		t.Fatalf("after deactivation: %+v", u)
	}
	env.JSON(t, http.MethodPut, "/api/v1/users/"+uuid.NewString(), admin, map[string]any{"name": "Ghost"}).Expect(t, http.StatusNotFound)
}

func TestDeleteUser(t *testing.T) {
	admin := adminToken(t)
	a, token := userToken(t)
	res := env.JSON(t, http.MethodDelete, "/api/v1/users/"+a.ID, admin, nil).Expect(t, http.StatusNoContent)
	if len(res.Body) != 0 {
		t.Fatalf("delete answered a body: %s", res.Body)
	}
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, admin, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, token, nil).Expect(t, http.StatusUnauthorized)
	env.JSON(t, http.MethodDelete, "/api/v1/users/"+a.ID, admin, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": a.Password}).
		Expect(t, http.StatusUnauthorized)
}

func TestAddUserToCommunity(t *testing.T) {
	admin := adminToken(t)
	a := newAccount(t, "")
	communityID := newCommunity(t, admin, "Harbour")
	path := "/api/v1/users/add-to-community/" + communityID
	var m struct {
		UserID      string `json:"user_id"`
		CommunityID string `json:"community_id"`
		AddedAt     string `json:"added_at"`
	}
	env.JSON(t, http.MethodPost, path, admin, map[string]string{"user_id": a.ID, "community_id": communityID}).
		Expect(t, http.StatusOK).Decode(t, &m)
	if m.UserID != a.ID || m.CommunityID != communityID || m.AddedAt == "" {
		t.Fatalf("membership: %+v", m)
	}
	env.JSON(t, http.MethodPost, path, admin, map[string]string{"user_id": a.ID}).Expect(t, http.StatusBadRequest)
	env.JSON(t, http.MethodPost, "/api/v1/users/add-to-community/"+uuid.NewString(), admin, map[string]string{"user_id": a.ID}).
		Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodPost, path, admin, map[string]string{"user_id": uuid.NewString()}).Expect(t, http.StatusNotFound)
	expectInvalid(t, env.JSON(t, http.MethodPost, path, admin, map[string]string{"user_id": a.ID, "community_id": "other"}),
		"community_id", "value_error")
	expectInvalid(t, env.JSON(t, http.MethodPost, path, admin, map[string]string{}), "user_id", "missing")

	var members []struct {
		UserID string `json:"user_id"`
	}
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+communityID+"/members", admin, nil).Expect(t, http.StatusOK).Decode(t, &members)
	if len(members) != 1 || members[0].UserID != a.ID {
		t.Fatalf("members: %+v", members)
	}
	// A deleted user leaves its communities.
	env.JSON(t, http.MethodDelete, "/api/v1/users/"+a.ID, admin, nil).Expect(t, http.StatusNoContent)
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+communityID+"/members", admin, nil).Expect(t, http.StatusOK).Decode(t, &members)
	if len(members) != 0 {
		t.Fatalf("members after the user's deletion: %+v", members)
	}
}

func indexOf(users []user, id string) int {
	for i, u := range users {
		if u.ID == id {
			return i
		}
	}
	return -1
}
