package auditapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

const civicAPI = "/api/v1"

// civicUser is a civic account with its password and a token.
type civicUser struct {
	ID       string
	Email    string
	Password string
	token    string
}

func civicSignup(t *testing.T, roles ...string) civicUser {
	t.Helper()
	u := civicUser{Email: "civic-" + uuid.NewString()[:8] + "@example.com", Password: "password1"}
	var out struct{ ID string }
	civicEnv.JSON(t, http.MethodPost, civicAPI+"/auth/signup", "", map[string]any{
		"name": "Civic User", "email": u.Email, "password": u.Password, "role": strings.Join(roles, ","),
	}).Expect(t, http.StatusCreated).Decode(t, &out)
	u.ID = out.ID
	u.token = civicLogin(t, u.Email, u.Password)
	return u
}

func civicLogin(t *testing.T, email, password string) string {
	t.Helper()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	civicEnv.JSON(t, http.MethodPost, civicAPI+"/auth/login", "", map[string]string{"email": email, "password": password}).
		Expect(t, http.StatusOK).Decode(t, &tk)
	return tk.AccessToken
}

func civicAdmin(t *testing.T) string {
	t.Helper()
	return civicLogin(t, civicEnv.Admin.Email, civicEnv.Admin.Password)
}

// civicAccount is a user as the users endpoints show it.
type civicAccount struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Status bool   `json:"status"`
	Role   string `json:"role"`
}

// civicRead reads a path as admin into v; ok is false on 404.
func civicRead(t *testing.T, admin, path string, v any) bool {
	t.Helper()
	res := civicEnv.JSON(t, http.MethodGet, civicAPI+path, admin, nil)
	if res.Status == http.StatusNotFound {
		return false
	}
	res.Expect(t, http.StatusOK).Decode(t, v)
	return true
}

func civicCreate(t *testing.T, admin, path string, body any) string {
	t.Helper()
	var out struct{ ID string }
	civicEnv.JSON(t, http.MethodPost, civicAPI+path, admin, body).Expect(t, http.StatusCreated).Decode(t, &out)
	return out.ID
}

// roleNames lists the names of every role.
func roleNames(t *testing.T, admin string) []string {
	t.Helper()
	var roles []struct{ Name string }
	civicRead(t, admin, "/user-roles/", &roles)
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	return names
}

// module is a role-based module.
type module struct {
	Name  string   `json:"module_name"`
	Roles []string `json:"user_roles"`
}

// communityMembers lists a community's member ids.
func communityMembers(t *testing.T, admin, id string) []string {
	t.Helper()
	var members []struct {
		UserID string `json:"user_id"`
	}
	civicRead(t, admin, "/communities/"+id+"/members", &members)
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	return ids
}

func TestCivicUsersUndoAndRedo(t *testing.T) {
	admin := civicAdmin(t)
	r1, r2 := civicCreate(t, admin, "/user-roles/", map[string]string{"name": "r1-" + uuid.NewString()[:6]}),
		civicCreate(t, admin, "/user-roles/", map[string]string{"name": "r2-" + uuid.NewString()[:6]})

	t.Run("signup", func(t *testing.T) {
		u := civicSignup(t, r1)
		// The sign-in right after is the latest action, and it touched the
		// account: the sign-up can no longer be undone.
		l := listActions(t, civicEnv, u.token, nil).Items
		if len(l) != 2 || l[0].label() != "Login" || l[1].label() != "Signup" || l[1].UndoToken != nil || l[0].UndoToken != nil {
			t.Fatalf("the new user's log: %v", labels(l))
		}
		signup := l[1]
		if signup.SnapshotAfter["email"] != u.Email || !slices.Equal(anyStrings(signup.SnapshotAfter["roles"]), []string{r1}) {
			t.Fatalf("sign-up snapshot %v", signup.SnapshotAfter)
		}
		expectRefused(t, redo(t, civicEnv, u.token, l[0].ID), sensitive)
	})

	t.Run("update", func(t *testing.T) {
		u := civicSignup(t, r1)
		newEmail := "moved-" + uuid.NewString()[:8] + "@example.com"
		civicEnv.JSON(t, http.MethodPut, civicAPI+"/users/"+u.ID, admin, map[string]any{"name": "Renamed", "email": newEmail, "role": r2}).
			Expect(t, http.StatusOK)
		e := undoLatest(t, civicEnv, admin, "user", u.ID)
		if e.label() != "UpdateUser" || string(e.Changes["roles"]) != `{"from":["`+r1+`"],"to":["`+r2+`"]}` {
			t.Fatalf("undid %+v", e)
		}
		var back civicAccount
		civicRead(t, admin, "/users/"+u.ID, &back)
		if back.Name != "Civic User" || back.Email != u.Email || back.Role != r1 {
			t.Fatalf("after undo: %+v", back)
		}
		civicLogin(t, u.Email, u.Password)
		// The sign-in changed the account: redo is refused.
		expectRefused(t, redo(t, civicEnv, admin, e.ID), changedUndo)
	})

	t.Run("update redone", func(t *testing.T) {
		u := civicSignup(t, r1)
		civicEnv.JSON(t, http.MethodPut, civicAPI+"/users/"+u.ID, admin, map[string]any{"name": "Renamed", "role": r1 + "," + r2}).
			Expect(t, http.StatusOK)
		e := undoLatest(t, civicEnv, admin, "user", u.ID)
		redoAction(t, civicEnv, admin, e.ID)
		var back civicAccount
		civicRead(t, admin, "/users/"+u.ID, &back)
		if back.Name != "Renamed" || back.Role != r1+","+r2 {
			t.Fatalf("after redo: %+v", back)
		}
	})

	t.Run("delete", func(t *testing.T) {
		u := civicSignup(t, r1)
		c := civicCreate(t, admin, "/communities/", map[string]any{"name": "Club", "logo": "club.png"})
		civicEnv.JSON(t, http.MethodPost, civicAPI+"/users/add-to-community/"+c, admin, map[string]any{"user_id": u.ID}).Expect(t, http.StatusOK)
		civicEnv.JSON(t, http.MethodDelete, civicAPI+"/users/"+u.ID, admin, nil).Expect(t, http.StatusNoContent)
		if ids := communityMembers(t, admin, c); len(ids) != 0 {
			t.Fatalf("members of a deleted user's community: %v", ids)
		}
		e := undoLatest(t, civicEnv, admin, "user", u.ID)
		var back civicAccount
		if !civicRead(t, admin, "/users/"+u.ID, &back) || back.Role != r1 || back.Email != u.Email {
			t.Fatalf("after undo: %+v", back)
		}
		if ids := communityMembers(t, admin, c); !slices.Equal(ids, []string{u.ID}) {
			t.Fatalf("members after undo: %v", ids)
		}
		redoAction(t, civicEnv, admin, e.ID)
		if civicRead(t, admin, "/users/"+u.ID, &back) {
			t.Fatal("the user is there after the redo")
		}
	})
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, s := range list {
		out[i], _ = s.(string)
	}
	return out
}

func TestCivicRolesUndoAndRedo(t *testing.T) {
	admin := civicAdmin(t)
	name := "role-" + uuid.NewString()[:6]
	id := civicCreate(t, admin, "/user-roles/", map[string]string{"name": name})
	created := undoLatest(t, civicEnv, admin, "role", id)
	if slices.Contains(roleNames(t, admin), name) {
		t.Fatal("the role is there after the undo")
	}
	redoAction(t, civicEnv, admin, created.ID)
	if !slices.Contains(roleNames(t, admin), name) {
		t.Fatal("the role is not back after the redo")
	}

	civicEnv.JSON(t, http.MethodPut, civicAPI+"/user-roles/"+id, admin, map[string]string{"name": name + "-renamed"}).Expect(t, http.StatusOK)
	renamed := undoLatest(t, civicEnv, admin, "role", id)
	if !slices.Contains(roleNames(t, admin), name) {
		t.Fatal("the rename was not undone")
	}
	redoAction(t, civicEnv, admin, renamed.ID)
	if !slices.Contains(roleNames(t, admin), name+"-renamed") {
		t.Fatal("the rename was not redone")
	}

	// A deleted role leaves its holders and modules; undone, it is theirs
	// again.
	holder := civicSignup(t, id)
	m := civicCreate(t, admin, "/role-base-modules/", map[string]any{"module_name": "Reports", "user_roles": []string{id}})
	civicEnv.JSON(t, http.MethodDelete, civicAPI+"/user-roles/"+id, admin, nil).Expect(t, http.StatusNoContent)
	var u civicAccount
	var mod module
	civicRead(t, admin, "/users/"+holder.ID, &u)
	civicRead(t, admin, "/role-base-modules/"+m, &mod)
	if u.Role != "" || len(mod.Roles) != 0 {
		t.Fatalf("a deleted role still shows: user %+v, module %+v", u, mod)
	}
	deleted := undoLatest(t, civicEnv, admin, "role", id)
	civicRead(t, admin, "/users/"+holder.ID, &u)
	civicRead(t, admin, "/role-base-modules/"+m, &mod)
	if u.Role != id || !slices.Equal(mod.Roles, []string{id}) {
		t.Fatalf("the restored role is not back: user %+v, module %+v", u, mod)
	}
	redoAction(t, civicEnv, admin, deleted.ID)
	if slices.Contains(roleNames(t, admin), name+"-renamed") {
		t.Fatal("the role is there after the redo")
	}
}

func TestCivicModulesUndoAndRedo(t *testing.T) {
	admin := civicAdmin(t)
	r1, r2 := civicCreate(t, admin, "/user-roles/", map[string]string{"name": "m1"}), civicCreate(t, admin, "/user-roles/", map[string]string{"name": "m2"})
	id := civicCreate(t, admin, "/role-base-modules/", map[string]any{"module_name": "Dashboards", "user_roles": []string{r1}})
	created := undoLatest(t, civicEnv, admin, "module", id)
	var m module
	if civicRead(t, admin, "/role-base-modules/"+id, &m) {
		t.Fatal("the module is there after the undo")
	}
	redoAction(t, civicEnv, admin, created.ID)
	if !civicRead(t, admin, "/role-base-modules/"+id, &m) || m.Name != "Dashboards" || !slices.Equal(m.Roles, []string{r1}) {
		t.Fatalf("after redo: %+v", m)
	}

	for _, change := range []struct {
		path string
		body map[string]any
		want module
	}{
		{"", map[string]any{"module_name": "Reports", "user_roles": []string{r2}}, module{"Reports", []string{r2}}},
		{"/add-roles", map[string]any{"user_role_ids": []string{r2}}, module{"Dashboards", []string{r1, r2}}},
		{"/remove-roles", map[string]any{"user_role_ids": []string{r1}}, module{"Dashboards", []string{}}},
	} {
		civicEnv.JSON(t, http.MethodPut, civicAPI+"/role-base-modules/"+id+change.path, admin, change.body).Expect(t, http.StatusOK)
		e := undoLatest(t, civicEnv, admin, "module", id)
		civicRead(t, admin, "/role-base-modules/"+id, &m)
		if m.Name != "Dashboards" || !slices.Equal(m.Roles, []string{r1}) {
			t.Fatalf("%s undone: %+v", e.label(), m)
		}
		redoAction(t, civicEnv, admin, e.ID)
		civicRead(t, admin, "/role-base-modules/"+id, &m)
		if m.Name != change.want.Name || !sameSet(m.Roles, change.want.Roles) {
			t.Fatalf("%s redone: %+v, want %+v", e.label(), m, change.want)
		}
		undoLatest(t, civicEnv, admin, "module", id) // back to the start for the next change
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestCivicCommunitiesUndoAndRedo(t *testing.T) {
	admin := civicAdmin(t)
	type communityView struct{ Name, Logo string }
	id := civicCreate(t, admin, "/communities/", map[string]any{"name": "Riverside", "logo": "river.png"})
	var c communityView
	created := undoLatest(t, civicEnv, admin, "community", id)
	if civicRead(t, admin, "/communities/"+id, &c) {
		t.Fatal("the community is there after the undo")
	}
	redoAction(t, civicEnv, admin, created.ID)
	if !civicRead(t, admin, "/communities/"+id, &c) || c.Name != "Riverside" {
		t.Fatalf("after redo: %+v", c)
	}

	civicEnv.JSON(t, http.MethodPut, civicAPI+"/communities/"+id, admin, map[string]any{"name": "Hillside", "logo": "hill.png"}).Expect(t, http.StatusOK)
	updated := undoLatest(t, civicEnv, admin, "community", id)
	if civicRead(t, admin, "/communities/"+id, &c); c.Name != "Riverside" || c.Logo != "river.png" {
		t.Fatalf("after undoing the update: %+v", c)
	}
	redoAction(t, civicEnv, admin, updated.ID)
	if civicRead(t, admin, "/communities/"+id, &c); c.Name != "Hillside" {
		t.Fatalf("after redoing the update: %+v", c)
	}

	u := civicSignup(t)
	civicEnv.JSON(t, http.MethodPost, civicAPI+"/users/add-to-community/"+id, admin, map[string]any{"user_id": u.ID}).Expect(t, http.StatusOK)
	added := latest(t, civicEnv, admin, "community_member", u.ID)
	if added.label() != "AddUserToCommunity" || deref(added.ParentResourceKind) != "community" || deref(added.ParentResourceID) != id {
		t.Fatalf("member added: %+v", added)
	}
	undoLatest(t, civicEnv, admin, "community_member", u.ID)
	if ids := communityMembers(t, admin, id); len(ids) != 0 {
		t.Fatalf("members after undoing the addition: %v", ids)
	}
	redoAction(t, civicEnv, admin, added.ID)
	if ids := communityMembers(t, admin, id); !slices.Equal(ids, []string{u.ID}) {
		t.Fatalf("members after redoing the addition: %v", ids)
	}

	civicEnv.JSON(t, http.MethodDelete, civicAPI+"/communities/"+id, admin, nil).Expect(t, http.StatusNoContent)
	deleted := undoLatest(t, civicEnv, admin, "community", id)
	if !civicRead(t, admin, "/communities/"+id, &c) || c.Name != "Hillside" {
		t.Fatalf("after undoing the deletion: %+v", c)
	}
	if ids := communityMembers(t, admin, id); !slices.Equal(ids, []string{u.ID}) {
		t.Fatalf("members after undoing the deletion: %v", ids)
	}
	redoAction(t, civicEnv, admin, deleted.ID)
	if civicRead(t, admin, "/communities/"+id, &c) {
		t.Fatal("the community is there after redoing the deletion")
	}
}

func TestCivicSignInsAreLoggedAsSensitive(t *testing.T) {
	u := civicSignup(t)
	civicEnv.JSON(t, http.MethodPost, civicAPI+"/auth/login", "", map[string]string{"email": u.Email, "password": "wrong-password1"}).
		Expect(t, http.StatusUnauthorized)
	admin := civicAdmin(t)
	failed := listActions(t, civicEnv, admin, url.Values{"resourceKind": {"user"}, "resourceId": {u.ID}, "limit": {"1"}}).Items[0]
	if failed.label() != "Login" || failed.ExecutionState != "failed" || failed.Error == nil || failed.Error.Code != "bad_credentials" ||
		failed.UndoToken != nil || string(failed.Changes["failed_logins"]) != `{"from":0,"to":1}` {
		t.Fatalf("failed sign-in logged as %+v", failed)
	}
	expectRefused(t, redo(t, civicEnv, u.token, failed.ID), notYours) // nobody signed in made it
}

func labels(l []entry) []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.label() + "/" + e.ExecutionState + "/" + deref(e.UndoToken)
	}
	return out
}
