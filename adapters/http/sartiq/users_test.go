package sartiq_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestSignupAnswersUserPublic(t *testing.T) {
	address := email("Signup")
	res := env.JSON(t, http.MethodPost, api+"/users/signup", "", map[string]any{
		"email": address, "password": password, "full_name": "Sign Up",
		// Leaked from the schema's base model: the server decides these.
		"id": uuid.NewString(), "created_at": "2020-01-01T00:00:00Z",
	}).Expect(t, http.StatusOK)
	expectKeys(t, "UserPublic", res.Object(t), userKeys...)
	var u user
	res.Decode(t, &u)
	if u.Email != address || u.FullName == nil || *u.FullName != "Sign Up" || !u.IsActive || u.IsSuperuser || u.ReworkAvailable != 2 {
		t.Fatalf("signed up as %+v", u)
	}
	if u.CreatedAt.Year() == 2020 || u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("timestamps %v / %v", u.CreatedAt, u.UpdatedAt)
	}

	var me user
	env.JSON(t, http.MethodGet, api+"/users/me", login(t, address, password), nil).Expect(t, http.StatusOK).Decode(t, &me)
	if me.ID != u.ID || me.Email != u.Email || !me.CreatedAt.Equal(u.CreatedAt) || me.FullName == nil || *me.FullName != "Sign Up" {
		t.Fatalf("me %+v, signed up %+v", me, u)
	}
}

func TestEmailsAreUniqueCaseInsensitively(t *testing.T) {
	address := email("unique")
	signup(t, address)
	for _, again := range []string{address, strings.ToUpper(address)} {
		expectDetail(t, env.JSON(t, http.MethodPost, api+"/users/signup", "", map[string]any{"email": again, "password": password}),
			http.StatusBadRequest, "The user with this email already exists in the system.")
	}
	expectDetail(t, env.JSON(t, http.MethodPost, api+"/users/", admin(t).token, map[string]any{"email": address, "password": password}),
		http.StatusBadRequest, "The user with this email already exists in the system.")
	// The email logs in whatever its case.
	login(t, strings.ToUpper(address), password)
}

func TestLogin(t *testing.T) {
	a := newAccount(t, "login")
	t.Run("answers a bearer token", func(t *testing.T) {
		res := env.Form(t, api+"/login/access-token", "", url.Values{"username": {a.Email}, "password": {password}, "grant_type": {"password"}}).
			Expect(t, http.StatusOK)
		expectKeys(t, "Token", res.Object(t), "access_token", "token_type")
	})
	t.Run("wrong password or unknown email", func(t *testing.T) {
		for _, form := range []url.Values{
			{"username": {a.Email}, "password": {"wrong-password"}},
			{"username": {email("nobody")}, "password": {password}},
		} {
			expectDetail(t, env.Form(t, api+"/login/access-token", "", form), http.StatusBadRequest, "Incorrect email or password")
		}
	})
	t.Run("form fields are required", func(t *testing.T) {
		expectValidation(t, env.Form(t, api+"/login/access-token", "", url.Values{"username": {""}}),
			issue{"missing", "body.username"}, issue{"missing", "body.password"})
		expectValidation(t, env.Form(t, api+"/login/access-token", "", url.Values{"username": {a.Email}, "password": {password}, "grant_type": {"implicit"}}),
			issue{"string_pattern_mismatch", "body.grant_type"})
	})
	t.Run("inactive users cannot log in", func(t *testing.T) {
		env.JSON(t, http.MethodPatch, api+"/users/"+a.ID.String(), admin(t).token, map[string]any{"is_active": false}).Expect(t, http.StatusOK)
		expectDetail(t, env.Form(t, api+"/login/access-token", "", url.Values{"username": {a.Email}, "password": {password}}),
			http.StatusBadRequest, "Inactive user")
		// A token issued before is refused at once too.
		expectDetail(t, env.JSON(t, http.MethodGet, api+"/users/me", a.token, nil), http.StatusBadRequest, "Inactive user")
	})
}

func TestAuthentication(t *testing.T) {
	res := env.JSON(t, http.MethodGet, api+"/users/me", "", nil)
	expectDetail(t, res, http.StatusUnauthorized, "Not authenticated")
	if res.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("401 without WWW-Authenticate: %v", res.Header)
	}
	expectDetail(t, env.JSON(t, http.MethodGet, api+"/users/me", "not-a-jwt", nil), http.StatusUnauthorized, "Could not validate credentials")
	// Every route but signup and login needs a token.
	for _, route := range []struct{ method, path string }{
		{http.MethodGet, "/users/"}, {http.MethodPost, "/users/"}, {http.MethodPatch, "/users/me"},
		{http.MethodPatch, "/users/me/password"}, {http.MethodGet, "/users/" + uuid.NewString()},
		{http.MethodPatch, "/users/" + uuid.NewString()}, {http.MethodDelete, "/users/" + uuid.NewString()},
		{http.MethodGet, "/organizations/"}, {http.MethodPost, "/organizations/"},
		{http.MethodGet, "/organizations/" + uuid.NewString()}, {http.MethodPut, "/organizations/" + uuid.NewString()},
		{http.MethodDelete, "/organizations/" + uuid.NewString()}, {http.MethodGet, "/organizations/" + uuid.NewString() + "/members"},
		{http.MethodPost, "/organizations/" + uuid.NewString() + "/members"},
		{http.MethodDelete, "/organizations/" + uuid.NewString() + "/members/" + uuid.NewString()},
		{http.MethodPost, "/organizations/" + uuid.NewString() + "/migrate-resources"},
	} {
		expectDetail(t, env.JSON(t, route.method, api+route.path, "", map[string]any{}), http.StatusUnauthorized, "Not authenticated")
	}
}

func TestUpdateMe(t *testing.T) {
	a := newAccount(t, "me")
	other := newAccount(t, "taken")
	newEmail := email("renamed")
	var u user
	env.JSON(t, http.MethodPatch, api+"/users/me", a.token, map[string]any{"email": newEmail, "full_name": "Renamed"}).
		Expect(t, http.StatusOK).Decode(t, &u)
	if u.Email != newEmail || u.FullName == nil || *u.FullName != "Renamed" || !u.UpdatedAt.After(u.CreatedAt) {
		t.Fatalf("updated me: %+v", u)
	}
	login(t, newEmail, password)
	expectDetail(t, env.Form(t, api+"/login/access-token", "", url.Values{"username": {a.Email}, "password": {password}}),
		http.StatusBadRequest, "Incorrect email or password")
	// The old email is free again.
	signup(t, a.Email)

	env.JSON(t, http.MethodPatch, api+"/users/me", a.token, map[string]any{"full_name": nil}).Expect(t, http.StatusOK).Decode(t, &u)
	if u.FullName != nil || u.Email != newEmail {
		t.Fatalf("null full_name must clear it and keep the rest: %+v", u)
	}
	expectDetail(t, env.JSON(t, http.MethodPatch, api+"/users/me", a.token, map[string]any{"email": strings.ToUpper(other.Email)}),
		http.StatusBadRequest, "The user with this email already exists in the system.")
	// A user cannot make itself a superuser: the field is not part of UserUpdateMe.
	env.JSON(t, http.MethodPatch, api+"/users/me", a.token, map[string]any{"is_superuser": true}).Expect(t, http.StatusOK).Decode(t, &u)
	if u.IsSuperuser {
		t.Fatal("a user promoted itself")
	}
}

func TestUpdatePasswordMe(t *testing.T) {
	a := newAccount(t, "password")
	expectDetail(t, env.JSON(t, http.MethodPatch, api+"/users/me/password", a.token,
		map[string]any{"current_password": "not-my-password", "new_password": "password-2"}), http.StatusBadRequest, "Incorrect password")
	expectDetail(t, env.JSON(t, http.MethodPatch, api+"/users/me/password", a.token,
		map[string]any{"current_password": password, "new_password": password}), http.StatusBadRequest, "New password cannot be the same as the current one")
	res := env.JSON(t, http.MethodPatch, api+"/users/me/password", a.token,
		map[string]any{"current_password": password, "new_password": "password-2"}).Expect(t, http.StatusOK)
	if body := res.Object(t); body["message"] != "Password updated successfully" || len(body) != 1 {
		t.Fatalf("answer %s", res.Body)
	}
	login(t, a.Email, "password-2")
	expectDetail(t, env.Form(t, api+"/login/access-token", "", url.Values{"username": {a.Email}, "password": {password}}),
		http.StatusBadRequest, "Incorrect email or password")
}

func TestSuperuserManagesUsers(t *testing.T) {
	root := admin(t)
	plain := newAccount(t, "plain")

	t.Run("create any kind of user", func(t *testing.T) {
		address := email("Created")
		var u user
		env.JSON(t, http.MethodPost, api+"/users/", root.token, map[string]any{
			"email": address, "password": password, "full_name": "Made", "is_superuser": true, "rework_available": 5,
		}).Expect(t, http.StatusOK).Decode(t, &u)
		if !u.IsSuperuser || !u.IsActive || u.ReworkAvailable != 5 || u.Email != address {
			t.Fatalf("created %+v", u)
		}
		// The new superuser is one at once.
		env.JSON(t, http.MethodGet, api+"/users/", login(t, address, password), nil).Expect(t, http.StatusOK)

		env.JSON(t, http.MethodPost, api+"/users/", root.token, map[string]any{"email": email("inactive"), "password": password, "is_active": false}).
			Expect(t, http.StatusOK).Decode(t, &u)
		if u.IsActive || u.IsSuperuser || u.ReworkAvailable != 2 || u.FullName != nil {
			t.Fatalf("created with defaults %+v", u)
		}
	})

	t.Run("read a user", func(t *testing.T) {
		var u user
		res := env.JSON(t, http.MethodGet, api+"/users/"+plain.ID.String(), root.token, nil).Expect(t, http.StatusOK)
		expectKeys(t, "UserPublic", res.Object(t), userKeys...)
		res.Decode(t, &u)
		if u.ID != plain.ID || u.Email != plain.Email {
			t.Fatalf("read %+v, want %+v", u, plain.user)
		}
		env.JSON(t, http.MethodGet, api+"/users/"+plain.ID.String(), plain.token, nil).Expect(t, http.StatusOK)
		expectDetail(t, env.JSON(t, http.MethodGet, api+"/users/"+root.ID.String(), plain.token, nil),
			http.StatusForbidden, "The user doesn't have enough privileges")
		expectDetail(t, env.JSON(t, http.MethodGet, api+"/users/"+uuid.NewString(), root.token, nil), http.StatusNotFound, "User not found")
	})

	t.Run("update a user", func(t *testing.T) {
		target := newAccount(t, "target")
		newEmail := email("target-renamed")
		var u user
		env.JSON(t, http.MethodPatch, api+"/users/"+target.ID.String(), root.token, map[string]any{
			"email": newEmail, "full_name": "Tar Get", "password": "password-9", "is_superuser": true, "rework_available": 0,
		}).Expect(t, http.StatusOK).Decode(t, &u)
		if u.Email != newEmail || *u.FullName != "Tar Get" || !u.IsSuperuser || u.ReworkAvailable != 0 || !u.IsActive {
			t.Fatalf("updated %+v", u)
		}
		login(t, newEmail, "password-9")
		// null keeps a field that cannot be null.
		env.JSON(t, http.MethodPatch, api+"/users/"+target.ID.String(), root.token, map[string]any{"email": nil, "is_superuser": nil}).
			Expect(t, http.StatusOK).Decode(t, &u)
		if u.Email != newEmail || !u.IsSuperuser {
			t.Fatalf("nulls changed the user: %+v", u)
		}
		expectDetail(t, env.JSON(t, http.MethodPatch, api+"/users/"+target.ID.String(), root.token, map[string]any{"email": plain.Email}),
			http.StatusBadRequest, "The user with this email already exists in the system.")
		expectDetail(t, env.JSON(t, http.MethodPatch, api+"/users/"+uuid.NewString(), root.token, map[string]any{"full_name": "x"}),
			http.StatusNotFound, "User not found")
	})

	t.Run("delete a user", func(t *testing.T) {
		victim := newAccount(t, "victim")
		o := createOrg(t, root, "victims-"+uuid.NewString())
		addMember(t, root, o, victim.user)
		res := env.JSON(t, http.MethodDelete, api+"/users/"+victim.ID.String(), root.token, nil).Expect(t, http.StatusOK)
		if body := res.Object(t); body["message"] != "User deleted successfully" {
			t.Fatalf("answer %s", res.Body)
		}
		expectDetail(t, env.JSON(t, http.MethodGet, api+"/users/"+victim.ID.String(), root.token, nil), http.StatusNotFound, "User not found")
		expectDetail(t, env.JSON(t, http.MethodGet, api+"/users/me", victim.token, nil), http.StatusUnauthorized, "Could not validate credentials")
		expectDetail(t, env.JSON(t, http.MethodDelete, api+"/users/"+victim.ID.String(), root.token, nil), http.StatusNotFound, "User not found")
		var found list[user]
		env.JSON(t, http.MethodGet, api+"/users/?search="+url.QueryEscape(victim.Email), root.token, nil).Expect(t, http.StatusOK).Decode(t, &found)
		if found.Count != 0 || len(found.Data) != 0 {
			t.Fatalf("a deleted user is still listed: %+v", found)
		}
		if ms := members(t, root, o); ms.Count != 1 || len(ms.Data) != 1 || ms.Data[0].UserID != root.ID {
			t.Fatalf("a deleted user is still a listed member: %+v", ms)
		}
		// Its email is free again.
		signup(t, victim.Email)
	})

	t.Run("a superuser cannot delete itself", func(t *testing.T) {
		expectDetail(t, env.JSON(t, http.MethodDelete, api+"/users/"+root.ID.String(), root.token, nil),
			http.StatusBadRequest, "Super users are not allowed to delete themselves")
		env.JSON(t, http.MethodGet, api+"/users/me", root.token, nil).Expect(t, http.StatusOK)
	})

	t.Run("ordinary users may not", func(t *testing.T) {
		other := newAccount(t, "other")
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/users/", nil},
			{http.MethodPost, "/users/", map[string]any{"email": email("x"), "password": password}},
			{http.MethodPatch, "/users/" + other.ID.String(), map[string]any{"full_name": "hacked"}},
			{http.MethodPatch, "/users/" + plain.ID.String(), map[string]any{"is_superuser": true}},
			{http.MethodDelete, "/users/" + other.ID.String(), nil},
		} {
			expectDetail(t, env.JSON(t, req.method, api+req.path, plain.token, req.body), http.StatusForbidden, "The user doesn't have enough privileges")
		}
		var u user
		env.JSON(t, http.MethodGet, api+"/users/"+other.ID.String(), root.token, nil).Expect(t, http.StatusOK).Decode(t, &u)
		if u.FullName != nil {
			t.Fatalf("a refused update changed the user: %+v", u)
		}
	})
}

func TestListUsers(t *testing.T) {
	root := admin(t)
	tag := uuid.NewString()[:8]
	var made []user
	for i := range 5 {
		made = append(made, signup(t, "list-"+tag+"-"+string(rune('a'+i))+"@example.com"))
	}
	var l list[user]
	res := env.JSON(t, http.MethodGet, api+"/users/?search="+tag, root.token, nil).Expect(t, http.StatusOK)
	expectKeys(t, "UsersPublic", res.Object(t), listKeys...)
	res.Decode(t, &l)
	if l.Count != 5 || len(l.Data) != 5 {
		t.Fatalf("search %s found %d (count %d)", tag, len(l.Data), l.Count)
	}
	for i, u := range l.Data {
		if u.ID != made[i].ID {
			t.Fatalf("users are listed in sign-up order: %d is %s, want %s", i, u.Email, made[i].Email)
		}
	}
	env.JSON(t, http.MethodGet, api+"/users/?skip=3&limit=10&search="+strings.ToUpper(tag), root.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if l.Count != 5 || len(l.Data) != 2 || l.Data[0].ID != made[3].ID {
		t.Fatalf("skip 3 of 5: %+v", l)
	}
	env.JSON(t, http.MethodGet, api+"/users/?limit=0&search="+tag, root.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if l.Count != 5 || l.Data == nil || len(l.Data) != 0 {
		t.Fatalf("limit 0 must give an empty data list and the count: %+v", l)
	}
	// The bootstrap superuser is listed with everybody else.
	env.JSON(t, http.MethodGet, api+"/users/?search="+url.QueryEscape(env.Admin.Email), root.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if l.Count != 1 || !l.Data[0].IsSuperuser {
		t.Fatalf("admin search: %+v", l)
	}
}
