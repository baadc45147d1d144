package sartiq_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
)

// issue is one expected pydantic error: its type and its location, joined
// with dots ("body.email", "query.skip").
type issue struct {
	typ string
	loc string
}

// expectValidation fails unless the answer is a 422 HTTPValidationError
// listing exactly these issues, in order, each in pydantic's shape.
func expectValidation(t *testing.T, res dialecttest.Response, want ...issue) {
	t.Helper()
	res.Expect(t, http.StatusUnprocessableEntity)
	var body struct {
		Detail []map[string]any `json:"detail"`
	}
	res.Decode(t, &body)
	got := make([]issue, len(body.Detail))
	for i, item := range body.Detail {
		for _, key := range []string{"type", "loc", "msg", "input"} {
			if _, ok := item[key]; !ok {
				t.Fatalf("%s: error item %v has no %q", res.Request, item, key)
			}
		}
		loc, _ := item["loc"].([]any)
		parts := make([]string, len(loc))
		for j, p := range loc {
			parts[j] = fmt.Sprint(p)
		}
		got[i] = issue{typ: fmt.Sprint(item["type"]), loc: strings.Join(parts, ".")}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: errors %v, want %v; body %s", res.Request, got, want, res.Body)
	}
}

func TestValidation(t *testing.T) {
	root := admin(t)
	a := newAccount(t, "validation")
	o := createOrg(t, a, "validation-"+uuid.NewString())
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name   string
		req    dialecttest.Request
		issues []issue
	}{
		{"signup needs email and password",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup", Body: map[string]any{"full_name": "No One"}},
			[]issue{{"missing", "body.email"}, {"missing", "body.password"}}},
		{"signup field types",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup", Body: map[string]any{"email": 123, "password": true, "full_name": 5}},
			[]issue{{"string_type", "body.email"}, {"string_type", "body.password"}, {"string_type", "body.full_name"}}},
		{"signup formats and lengths",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup", Body: map[string]any{"email": "not-an-email", "password": "short", "full_name": long(256)}},
			[]issue{{"value_error", "body.email"}, {"string_too_short", "body.password"}, {"string_too_long", "body.full_name"}}},
		{"oversized email and password",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup", Body: map[string]any{"email": long(250) + "@example.com", "password": long(41)}},
			[]issue{{"string_too_long", "body.email"}, {"string_too_long", "body.password"}}},
		{"malformed JSON",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup", Body: dialecttest.Raw(`{"email": "a@b.co", }`)},
			[]issue{{"json_invalid", "body.21"}}},
		{"a body that is no object",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup", Body: dialecttest.Raw(`["a@b.co"]`)},
			[]issue{{"model_attributes_type", "body"}}},
		{"no body",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/signup"},
			[]issue{{"missing", "body"}}},
		{"create user field types",
			dialecttest.Request{Method: http.MethodPost, Path: "/users/", Token: root.token,
				Body: map[string]any{"email": "a@b.co", "password": password, "is_superuser": "maybe", "rework_available": 1.5, "is_active": nil}},
			[]issue{{"bool_parsing", "body.is_superuser"}, {"int_from_float", "body.rework_available"}, {"bool_type", "body.is_active"}}},
		{"update user: path and body together",
			dialecttest.Request{Method: http.MethodPatch, Path: "/users/not-a-uuid", Token: root.token,
				Body: map[string]any{"email": "x", "password": "short", "is_active": "maybe", "rework_available": "two"}},
			[]issue{{"uuid_parsing", "path.user_id"}, {"value_error", "body.email"}, {"string_too_short", "body.password"},
				{"bool_parsing", "body.is_active"}, {"int_parsing", "body.rework_available"}}},
		{"update me lengths",
			dialecttest.Request{Method: http.MethodPatch, Path: "/users/me", Token: a.token, Body: map[string]any{"full_name": long(256), "email": 7}},
			[]issue{{"string_type", "body.email"}, {"string_too_long", "body.full_name"}}},
		{"password change needs both passwords",
			dialecttest.Request{Method: http.MethodPatch, Path: "/users/me/password", Token: a.token, Body: map[string]any{"new_password": long(41)}},
			[]issue{{"missing", "body.current_password"}, {"string_too_long", "body.new_password"}}},
		{"read user with a bad id",
			dialecttest.Request{Method: http.MethodGet, Path: "/users/12345", Token: a.token},
			[]issue{{"uuid_parsing", "path.user_id"}}},
		{"delete user with a bad id",
			dialecttest.Request{Method: http.MethodDelete, Path: "/users/me", Token: root.token},
			[]issue{{"uuid_parsing", "path.user_id"}}},
		{"list pages",
			dialecttest.Request{Method: http.MethodGet, Path: "/users/?skip=-1&limit=abc", Token: root.token},
			[]issue{{"greater_than_equal", "query.skip"}, {"int_parsing", "query.limit"}}},
		{"list organizations pages",
			dialecttest.Request{Method: http.MethodGet, Path: "/organizations/?limit=-5", Token: a.token},
			[]issue{{"greater_than_equal", "query.limit"}}},
		{"create organization needs name and avatar",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/", Token: a.token, Body: map[string]any{"description": nil}},
			[]issue{{"missing", "body.name"}, {"missing", "body.avatar_image"}}},
		{"create organization field types and lengths",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/", Token: a.token, Body: map[string]any{
				"name": long(256), "avatar_image": nil, "description": long(1001), "rework_available": "many"}},
			[]issue{{"string_too_long", "body.name"}, {"string_type", "body.avatar_image"}, {"string_too_long", "body.description"},
				{"int_parsing", "body.rework_available"}}},
		{"a media input without url",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/", Token: a.token, Body: map[string]any{
				"name": "n", "avatar_image": map[string]any{"media_resource_id": uuid.NewString()}}},
			[]issue{{"value_error", "body.avatar_image"}}},
		{"avatar of the wrong type",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/", Token: a.token, Body: map[string]any{"name": 5, "avatar_image": []string{"x"}}},
			[]issue{{"string_type", "body.name"}, {"string_type", "body.avatar_image"}}},
		{"update organization",
			dialecttest.Request{Method: http.MethodPut, Path: "/organizations/xyz", Token: a.token, Body: map[string]any{
				"name": long(256), "owner_id": "nope", "rework_available": true}},
			[]issue{{"uuid_parsing", "path.organization_id"}, {"string_too_long", "body.name"}, {"int_type", "body.rework_available"},
				{"uuid_parsing", "body.owner_id"}}},
		{"update organization with malformed JSON",
			dialecttest.Request{Method: http.MethodPut, Path: "/organizations/" + o.ID.String(), Token: a.token, Body: dialecttest.Raw(`{`)},
			[]issue{{"json_invalid", "body.1"}}},
		{"read organization with a bad id",
			dialecttest.Request{Method: http.MethodGet, Path: "/organizations/1", Token: a.token},
			[]issue{{"uuid_parsing", "path.organization_id"}}},
		{"delete organization with a bad id",
			dialecttest.Request{Method: http.MethodDelete, Path: "/organizations/1", Token: a.token},
			[]issue{{"uuid_parsing", "path.organization_id"}}},
		{"members pages",
			dialecttest.Request{Method: http.MethodGet, Path: "/organizations/" + o.ID.String() + "/members?skip=x", Token: a.token},
			[]issue{{"int_parsing", "query.skip"}}},
		{"add member needs a user id",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/" + o.ID.String() + "/members", Token: a.token, Body: map[string]any{}},
			[]issue{{"missing", "body.user_id"}}},
		{"add member with a bad user id",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/" + o.ID.String() + "/members", Token: a.token, Body: map[string]any{"user_id": 42}},
			[]issue{{"uuid_type", "body.user_id"}}},
		{"remove member with bad ids",
			dialecttest.Request{Method: http.MethodDelete, Path: "/organizations/a/members/b", Token: a.token},
			[]issue{{"uuid_parsing", "path.organization_id"}, {"uuid_parsing", "path.user_id"}}},
		{"migrate resources",
			dialecttest.Request{Method: http.MethodPost, Path: "/organizations/" + o.ID.String() + "/migrate-resources", Token: root.token,
				Body: map[string]any{"migrate_products": "maybe", "migrate_styles": []int{1}}},
			[]issue{{"missing", "body.user_id"}, {"bool_parsing", "body.migrate_products"}, {"bool_type", "body.migrate_styles"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Path = api + c.req.Path
			expectValidation(t, env.Do(t, c.req), c.issues...)
		})
	}
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	a := newAccount(t, "unchanged")
	o := createOrg(t, a, "unchanged-"+uuid.NewString())
	env.JSON(t, http.MethodPut, orgPath(o.ID, ""), a.token, map[string]any{"name": "changed", "description": strings.Repeat("x", 1001)}).
		Expect(t, http.StatusUnprocessableEntity)
	var got org
	env.JSON(t, http.MethodGet, orgPath(o.ID, ""), a.token, nil).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Name != o.Name || !got.UpdatedAt.Equal(o.UpdatedAt) {
		t.Fatalf("a refused update changed the organization: %+v", got)
	}
}

func TestTooLargeBodiesAreRefused(t *testing.T) {
	huge := fmt.Sprintf(`{"email": "a@b.co", "password": %q}`, strings.Repeat("x", 2<<20))
	expectDetail(t, env.Do(t, dialecttest.Request{Method: http.MethodPost, Path: api + "/users/signup", Body: dialecttest.Raw(huge)}),
		http.StatusRequestEntityTooLarge, "Request body too large")
}

func TestUnknownRoutes(t *testing.T) {
	expectDetail(t, env.JSON(t, http.MethodGet, api+"/nothing-here", "", nil), http.StatusNotFound, "Not Found")
	expectDetail(t, env.JSON(t, http.MethodPut, api+"/users/signup", "", nil), http.StatusMethodNotAllowed, "Method Not Allowed")
}

func TestCollectionsWithoutTrailingSlashRedirect(t *testing.T) {
	root := admin(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.URL+api+"/users?limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+root.token)
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != "users/?limit=1" {
		t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Followed, the redirect keeps the method, the token and the query.
	var l list[org]
	env.JSON(t, http.MethodPost, api+"/organizations", root.token, map[string]any{"name": "slash", "avatar_image": "x"}).Expect(t, http.StatusOK)
	env.JSON(t, http.MethodGet, api+"/organizations?limit=1", root.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if len(l.Data) != 1 || l.Count < 1 {
		t.Fatalf("redirected list: %+v", l)
	}
}
