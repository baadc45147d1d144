package civic_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"
)

type module struct {
	ID        string   `json:"id"`
	Name      string   `json:"module_name"`
	Roles     []string `json:"user_roles"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
}

type modulePage struct {
	Items      []module `json:"items"`
	Total      int      `json:"total"`
	Page       int      `json:"page"`
	Limit      int      `json:"limit"`
	TotalPages int      `json:"total_pages"`
}

func newModule(t *testing.T, admin, name string, roles ...string) module {
	t.Helper()
	var m module
	env.JSON(t, http.MethodPost, "/api/v1/role-base-modules/", admin, map[string]any{"module_name": name, "user_roles": append([]string{}, roles...)}).
		Expect(t, http.StatusCreated).Decode(t, &m)
	return m
}

func TestModuleLifecycle(t *testing.T) {
	admin := adminToken(t)
	_, token := userToken(t)
	r1, r2, r3 := newRole(t, admin, "m1"), newRole(t, admin, "m2"), newRole(t, admin, "m3")

	m := newModule(t, admin, "Budget reports", r1, r2, r1)
	if m.ID == "" || m.Name != "Budget reports" || !slices.Equal(m.Roles, []string{r1, r2}) {
		t.Fatalf("created module: %+v", m)
	}
	var got module
	env.JSON(t, http.MethodGet, "/api/v1/role-base-modules/"+m.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &got)
	if got.ID != m.ID || !slices.Equal(got.Roles, m.Roles) {
		t.Fatalf("read module: %+v", got)
	}
	env.JSON(t, http.MethodGet, "/api/v1/role-base-modules/"+uuid.NewString(), token, nil).Expect(t, http.StatusNotFound)

	// PUT replaces the whole list; null fields stay.
	path := "/api/v1/role-base-modules/" + m.ID
	env.JSON(t, http.MethodPut, path, admin, map[string]any{"user_roles": []string{r3, r2}, "module_name": nil}).
		Expect(t, http.StatusOK).Decode(t, &got)
	if got.Name != "Budget reports" || !slices.Equal(got.Roles, []string{r2, r3}) {
		t.Fatalf("after replacing roles: %+v", got)
	}
	env.JSON(t, http.MethodPut, path, admin, map[string]any{"module_name": "Budgets"}).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Name != "Budgets" || !slices.Equal(got.Roles, []string{r2, r3}) {
		t.Fatalf("after renaming: %+v", got)
	}
	env.JSON(t, http.MethodPut, path, admin, map[string]any{"user_roles": []string{}}).Expect(t, http.StatusOK).Decode(t, &got)
	if len(got.Roles) != 0 {
		t.Fatalf("after emptying roles: %+v", got)
	}

	env.JSON(t, http.MethodPut, path+"/add-roles", admin, map[string]any{"user_role_ids": []string{r1, r3, r1}}).
		Expect(t, http.StatusOK).Decode(t, &got)
	if !slices.Equal(got.Roles, []string{r1, r3}) {
		t.Fatalf("after adding: %+v", got)
	}
	env.JSON(t, http.MethodPut, path+"/remove-roles", admin, map[string]any{"user_role_ids": []string{r1, r2}}).
		Expect(t, http.StatusOK).Decode(t, &got)
	if !slices.Equal(got.Roles, []string{r3}) {
		t.Fatalf("after removing: %+v", got)
	}

	// Deleting a role takes it out of every module.
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/"+r3, admin, nil).Expect(t, http.StatusNoContent)
	env.JSON(t, http.MethodGet, path, token, nil).Expect(t, http.StatusOK).Decode(t, &got)
	if len(got.Roles) != 0 {
		t.Fatalf("after deleting role %s: %+v", r3, got)
	}
}

func TestModuleValidation(t *testing.T) {
	admin := adminToken(t)
	r := newRole(t, admin, "v")
	post := func(body map[string]any) (int, []byte) {
		res := env.JSON(t, http.MethodPost, "/api/v1/role-base-modules/", admin, body)
		return res.Status, res.Body
	}
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/role-base-modules/", admin, map[string]any{"module_name": "x", "user_roles": []string{}}),
		"module_name", "string_too_short")
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/role-base-modules/", admin, map[string]any{"module_name": "xy"}),
		"user_roles", "missing")
	if status, body := post(map[string]any{"module_name": "xy", "user_roles": []string{uuid.NewString()}}); status != http.StatusNotFound {
		t.Fatalf("unknown role: %d %s", status, body)
	}
	m := newModule(t, admin, "Valid", r)
	for _, op := range []string{"add-roles", "remove-roles"} {
		path := "/api/v1/role-base-modules/" + m.ID + "/" + op
		expectInvalid(t, env.JSON(t, http.MethodPut, path, admin, map[string]any{"user_role_ids": []string{}}), "user_role_ids", "too_short")
		expectInvalid(t, env.JSON(t, http.MethodPut, path, admin, map[string]any{}), "user_role_ids", "missing")
		env.JSON(t, http.MethodPut, "/api/v1/role-base-modules/"+uuid.NewString()+"/"+op, admin, map[string]any{"user_role_ids": []string{r}}).
			Expect(t, http.StatusNotFound)
	}
	env.JSON(t, http.MethodPut, "/api/v1/role-base-modules/"+m.ID+"/add-roles", admin, map[string]any{"user_role_ids": []string{uuid.NewString()}}).
		Expect(t, http.StatusNotFound)
	expectInvalid(t, env.JSON(t, http.MethodPut, "/api/v1/role-base-modules/"+m.ID, admin, map[string]any{"module_name": "y"}),
		"module_name", "string_too_short")
	env.JSON(t, http.MethodPut, "/api/v1/role-base-modules/"+uuid.NewString(), admin, map[string]any{"module_name": "yy"}).
		Expect(t, http.StatusNotFound)
}

func TestListModulesFiltersAndPages(t *testing.T) {
	admin := adminToken(t)
	_, token := userToken(t)
	tag := uuid.NewString()[:8]
	r1, r2 := newRole(t, admin, "p1"), newRole(t, admin, "p2")
	var made []module
	for i, roles := range [][]string{{r1}, {r1, r2}, {r2}, {r1}, {}} {
		made = append(made, newModule(t, admin, "Zone_"+tag+"-"+string(rune('a'+i)), roles...))
	}
	newModule(t, admin, "Elsewhere "+tag+"%", r1)

	list := func(q url.Values) modulePage {
		var p modulePage
		env.JSON(t, http.MethodGet, "/api/v1/role-base-modules/?"+q.Encode(), token, nil).Expect(t, http.StatusOK).Decode(t, &p)
		return p
	}
	p := list(url.Values{"module_name": {"zone_" + tag}, "limit": {"2"}})
	if p.Total != 5 || p.TotalPages != 3 || p.Page != 1 || p.Limit != 2 || len(p.Items) != 2 || p.Items[0].ID != made[0].ID || p.Items[1].ID != made[1].ID {
		t.Fatalf("first page: %+v", p)
	}
	p = list(url.Values{"module_name": {"zone_" + tag}, "limit": {"2"}, "page": {"3"}})
	if len(p.Items) != 1 || p.Items[0].ID != made[4].ID || p.Total != 5 {
		t.Fatalf("last page: %+v", p)
	}
	p = list(url.Values{"module_name": {"zone_" + tag}, "page": {"9"}})
	if len(p.Items) != 0 || p.Total != 5 {
		t.Fatalf("page past the end: %+v", p)
	}
	p = list(url.Values{"module_name": {tag}, "user_role_id": {r2}})
	if p.Total != 2 || p.Items[0].ID != made[1].ID || p.Items[1].ID != made[2].ID {
		t.Fatalf("filtered by role %s: %+v", r2, p)
	}
	// LIKE wildcards in the filter are literal: "_" matches only "_", "%" only "%".
	if p = list(url.Values{"module_name": {"zone" + "_" + tag}}); p.Total != 5 {
		t.Fatalf("underscore filter: %+v", p)
	}
	if p = list(url.Values{"module_name": {tag + "%"}}); p.Total != 1 {
		t.Fatalf("percent filter matched %d modules, want 1", p.Total)
	}
	if p = list(url.Values{"module_name": {"e_sewhere " + tag}}); p.Total != 0 {
		t.Fatalf("underscore matched any character: %+v", p)
	}
	if p = list(nil); p.Page != 1 || p.Limit != 10 {
		t.Fatalf("defaults: page %d limit %d", p.Page, p.Limit)
	}

	for q, typ := range map[string]string{"page=0": "greater_than_equal", "limit=0": "greater_than_equal", "limit=101": "less_than_equal", "page=x": "int_parsing"} {
		if e := validation(t, env.JSON(t, http.MethodGet, "/api/v1/role-base-modules/?"+q, token, nil)); e[0].Type != typ {
			t.Fatalf("%s: %+v, want %s", q, e, typ)
		}
	}
}
