package sartiq_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"
)

func TestCreateOrganization(t *testing.T) {
	a := newAccount(t, "founder")
	name := "Founded " + uuid.NewString()
	res := env.JSON(t, http.MethodPost, api+"/organizations/", a.token, map[string]any{
		"name": name, "avatar_image": "https://img.example/a.png", "description": "We make things",
	}).Expect(t, http.StatusOK)
	expectKeys(t, "OrganizationPublic", res.Object(t), orgKeys...)
	var o org
	res.Decode(t, &o)
	if o.Name != name || o.AvatarImageURL != "https://img.example/a.png" || o.AvatarImageMedia != nil ||
		o.Description == nil || *o.Description != "We make things" || o.ReworkAvailable != 2 || o.OwnerID != a.ID {
		t.Fatalf("created %+v", o)
	}
	ms := members(t, a, o)
	if ms.Count != 1 || ms.Data[0].UserID != a.ID || ms.Data[0].Email != a.Email {
		t.Fatalf("the creator is not the first member: %+v", ms)
	}

	// A MediaInput gives its url; an explicit allowance is kept.
	env.JSON(t, http.MethodPost, api+"/organizations/", a.token, map[string]any{
		"name": "media", "avatar_image": map[string]any{"url": "https://img.example/m.png", "alt_text": "logo"}, "rework_available": 7,
	}).Expect(t, http.StatusOK).Decode(t, &o)
	if o.AvatarImageURL != "https://img.example/m.png" || o.ReworkAvailable != 7 || o.Description != nil {
		t.Fatalf("created from a media input: %+v", o)
	}
}

func TestOrganizationsVisibleToUser(t *testing.T) {
	root := admin(t)
	ann, bob := newAccount(t, "ann"), newAccount(t, "bob")
	tag := uuid.NewString()[:8]
	a1 := createOrg(t, ann, "vis-"+tag+"-a1")
	a2 := createOrg(t, ann, "vis-"+tag+"-a2")
	b1 := createOrg(t, bob, "vis-"+tag+"-b1")
	addMember(t, bob, b1, ann.user)

	visible := func(a account, query string) []uuid.UUID {
		t.Helper()
		var l list[org]
		res := env.JSON(t, http.MethodGet, api+"/organizations/?"+query, a.token, nil).Expect(t, http.StatusOK)
		expectKeys(t, "OrganizationsPublic", res.Object(t), listKeys...)
		res.Decode(t, &l)
		ids := make([]uuid.UUID, len(l.Data))
		for i, o := range l.Data {
			ids[i] = o.ID
		}
		if l.Count < len(ids) {
			t.Fatalf("count %d below %d rows", l.Count, len(ids))
		}
		return ids
	}
	search := "search=" + url.QueryEscape("vis-"+tag)
	if got := visible(ann, search); !slices.Equal(got, []uuid.UUID{a1.ID, a2.ID, b1.ID}) {
		t.Fatalf("ann, a member of all three, sees %v", got)
	}
	if got := visible(bob, search); !slices.Equal(got, []uuid.UUID{b1.ID}) {
		t.Fatalf("bob sees %v, want only his", got)
	}
	if got := visible(root, search); !slices.Equal(got, []uuid.UUID{a1.ID, a2.ID, b1.ID}) {
		t.Fatalf("a superuser sees %v, want all", got)
	}
	if got := visible(root, "search="+url.QueryEscape("VIS-"+tag+"-B")); !slices.Equal(got, []uuid.UUID{b1.ID}) {
		t.Fatalf("case-insensitive name search found %v", got)
	}
	var l list[org]
	env.JSON(t, http.MethodGet, api+"/organizations/?skip=1&limit=1&"+search, ann.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if l.Count != 3 || len(l.Data) != 1 || l.Data[0].ID != a2.ID {
		t.Fatalf("second page of one: %+v", l)
	}

	// Reading one: members and superusers; for anyone else it does not exist.
	env.JSON(t, http.MethodGet, orgPath(b1.ID, ""), ann.token, nil).Expect(t, http.StatusOK)
	env.JSON(t, http.MethodGet, orgPath(a1.ID, ""), root.token, nil).Expect(t, http.StatusOK)
	expectDetail(t, env.JSON(t, http.MethodGet, orgPath(a1.ID, ""), bob.token, nil), http.StatusNotFound, "Organization not found")
	expectDetail(t, env.JSON(t, http.MethodGet, orgPath(uuid.New(), ""), root.token, nil), http.StatusNotFound, "Organization not found")
}

func TestUpdateOrganization(t *testing.T) {
	root := admin(t)
	owner, mate, heir := newAccount(t, "owner"), newAccount(t, "mate"), newAccount(t, "heir")
	o := createOrg(t, owner, "update-"+uuid.NewString())
	addMember(t, owner, o, mate.user)

	var got org
	env.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{
		"name": "Renamed", "description": "now described", "rework_available": 4, "avatar_image": "https://img.example/new.png",
	}).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Name != "Renamed" || *got.Description != "now described" || got.ReworkAvailable != 4 ||
		got.AvatarImageURL != "https://img.example/new.png" || !got.UpdatedAt.After(o.UpdatedAt) || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Fatalf("updated %+v", got)
	}
	// Null clears the description and leaves fields that cannot be null.
	env.JSON(t, http.MethodPut, orgPath(o.ID, ""), root.token, map[string]any{"description": nil, "name": nil, "avatar_image": nil}).
		Expect(t, http.StatusOK).Decode(t, &got)
	if got.Description != nil || got.Name != "Renamed" || got.AvatarImageURL != "https://img.example/new.png" {
		t.Fatalf("null fields: %+v", got)
	}
	expectDetail(t, env.JSON(t, http.MethodPut, orgPath(o.ID, ""), mate.token, map[string]any{"name": "mine"}),
		http.StatusForbidden, "The user doesn't have enough privileges")

	t.Run("ownership moves with owner_id", func(t *testing.T) {
		expectDetail(t, env.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"owner_id": uuid.New()}),
			http.StatusNotFound, "User not found")
		env.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"owner_id": heir.ID}).
			Expect(t, http.StatusOK).Decode(t, &got)
		if got.OwnerID != heir.ID {
			t.Fatalf("owner is %s, want %s", got.OwnerID, heir.ID)
		}
		if ids := memberIDs(members(t, heir, o)); !slices.Equal(ids, []uuid.UUID{owner.ID, mate.ID, heir.ID}) {
			t.Fatalf("the new owner must have joined, the old one stayed: %v", ids)
		}
		expectDetail(t, env.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"name": "still mine?"}),
			http.StatusForbidden, "The user doesn't have enough privileges")
		env.JSON(t, http.MethodPut, orgPath(o.ID, ""), heir.token, map[string]any{"name": "Inherited"}).Expect(t, http.StatusOK)
	})
}

func TestDeleteOrganization(t *testing.T) {
	root := admin(t)
	owner, mate := newAccount(t, "owner"), newAccount(t, "mate")
	o := createOrg(t, owner, "delete-"+uuid.NewString())
	addMember(t, owner, o, mate.user)
	expectDetail(t, env.JSON(t, http.MethodDelete, orgPath(o.ID, ""), mate.token, nil), http.StatusForbidden, "The user doesn't have enough privileges")

	res := env.JSON(t, http.MethodDelete, orgPath(o.ID, ""), owner.token, nil).Expect(t, http.StatusOK)
	if body := res.Object(t); body["message"] != "Organization deleted successfully" || len(body) != 1 {
		t.Fatalf("answer %s", res.Body)
	}
	for _, a := range []account{owner, mate, root} {
		expectDetail(t, env.JSON(t, http.MethodGet, orgPath(o.ID, ""), a.token, nil), http.StatusNotFound, "Organization not found")
		expectDetail(t, env.JSON(t, http.MethodGet, orgPath(o.ID, "/members"), a.token, nil), http.StatusNotFound, "Organization not found")
	}
	var l list[org]
	env.JSON(t, http.MethodGet, api+"/organizations/?search="+url.QueryEscape(o.Name), mate.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if l.Count != 0 {
		t.Fatalf("a member still lists the deleted organization: %+v", l)
	}
	var memberships int
	if err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM sartiq.organization_members WHERE organization_id = $1`, o.ID).Scan(&memberships); err != nil {
		t.Fatal(err)
	}
	if memberships != 0 {
		t.Fatalf("%d memberships survived their organization", memberships)
	}
	expectDetail(t, env.JSON(t, http.MethodDelete, orgPath(o.ID, ""), root.token, nil), http.StatusNotFound, "Organization not found")
}

func TestMembers(t *testing.T) {
	root := admin(t)
	owner, ann, bob, outsider := newAccount(t, "owner"), newAccount(t, "ann"), newAccount(t, "bob"), newAccount(t, "outsider")
	env.JSON(t, http.MethodPatch, api+"/users/me", ann.token, map[string]any{"full_name": "Ann A."}).Expect(t, http.StatusOK)
	o := createOrg(t, owner, "members-"+uuid.NewString())

	t.Run("adding answers the whole member list", func(t *testing.T) {
		res := env.JSON(t, http.MethodPost, orgPath(o.ID, "/members"), owner.token, map[string]any{"user_id": ann.ID}).Expect(t, http.StatusOK)
		body := res.Object(t)
		expectKeys(t, "OrganizationMembersPublic", body, listKeys...)
		expectKeys(t, "OrganizationMemberPublic", body["data"].([]any)[1].(map[string]any), memberKeys...)
		var l list[member]
		res.Decode(t, &l)
		if l.Count != 2 || l.Data[1].UserID != ann.ID || l.Data[1].Email != ann.Email || l.Data[1].FullName == nil ||
			*l.Data[1].FullName != "Ann A." || l.Data[1].JoinedAt.Before(l.Data[0].JoinedAt) {
			t.Fatalf("after adding ann: %+v", l)
		}
		addMember(t, root, o, bob.user)
		if ids := memberIDs(members(t, bob, o)); !slices.Equal(ids, []uuid.UUID{owner.ID, ann.ID, bob.ID}) {
			t.Fatalf("members %v", ids)
		}
	})

	t.Run("a member cannot be added twice", func(t *testing.T) {
		expectDetail(t, env.JSON(t, http.MethodPost, orgPath(o.ID, "/members"), owner.token, map[string]any{"user_id": ann.ID}),
			http.StatusBadRequest, "User is already a member of this organization")
	})

	t.Run("only owner and superusers add, existing users only", func(t *testing.T) {
		expectDetail(t, env.JSON(t, http.MethodPost, orgPath(o.ID, "/members"), ann.token, map[string]any{"user_id": outsider.ID}),
			http.StatusForbidden, "The user doesn't have enough privileges")
		expectDetail(t, env.JSON(t, http.MethodPost, orgPath(o.ID, "/members"), owner.token, map[string]any{"user_id": uuid.New()}),
			http.StatusNotFound, "User not found")
	})

	t.Run("member lists page", func(t *testing.T) {
		var l list[member]
		env.JSON(t, http.MethodGet, orgPath(o.ID, "/members?skip=1&limit=1"), root.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
		if l.Count != 3 || len(l.Data) != 1 || l.Data[0].UserID != ann.ID {
			t.Fatalf("second member page: %+v", l)
		}
		expectDetail(t, env.JSON(t, http.MethodGet, orgPath(o.ID, "/members"), outsider.token, nil), http.StatusNotFound, "Organization not found")
	})

	t.Run("removing", func(t *testing.T) {
		expectDetail(t, env.JSON(t, http.MethodDelete, orgPath(o.ID, "/members/"+bob.ID.String()), ann.token, nil),
			http.StatusForbidden, "The user doesn't have enough privileges")
		for _, by := range []account{owner, root} {
			expectDetail(t, env.JSON(t, http.MethodDelete, orgPath(o.ID, "/members/"+owner.ID.String()), by.token, nil),
				http.StatusBadRequest, "The organization owner cannot be removed")
		}
		expectDetail(t, env.JSON(t, http.MethodDelete, orgPath(o.ID, "/members/"+outsider.ID.String()), owner.token, nil),
			http.StatusNotFound, "User is not a member of this organization")

		res := env.JSON(t, http.MethodDelete, orgPath(o.ID, "/members/"+ann.ID.String()), ann.token, nil).Expect(t, http.StatusOK)
		if body := res.Object(t); body["message"] != "Member removed successfully" || len(body) != 1 {
			t.Fatalf("answer %s", res.Body)
		}
		expectDetail(t, env.JSON(t, http.MethodGet, orgPath(o.ID, ""), ann.token, nil), http.StatusNotFound, "Organization not found")
		env.JSON(t, http.MethodDelete, orgPath(o.ID, "/members/"+bob.ID.String()), owner.token, nil).Expect(t, http.StatusOK)
		if ids := memberIDs(members(t, owner, o)); !slices.Equal(ids, []uuid.UUID{owner.ID}) {
			t.Fatalf("members after removals: %v", ids)
		}
		// A removed member may be added again.
		addMember(t, owner, o, ann.user)
	})
}

func TestMigrateResources(t *testing.T) {
	root := admin(t)
	owner, mate, outsider := newAccount(t, "owner"), newAccount(t, "mate"), newAccount(t, "outsider")
	o := createOrg(t, owner, "migrate-"+uuid.NewString())
	addMember(t, owner, o, mate.user)
	path := orgPath(o.ID, "/migrate-resources")

	res := env.JSON(t, http.MethodPost, path, root.token, map[string]any{"user_id": mate.ID, "migrate_products": true, "migrate_styles": "true"}).
		Expect(t, http.StatusOK)
	var got struct {
		Message        string         `json:"message"`
		OrganizationID uuid.UUID      `json:"organization_id"`
		MigratedCounts map[string]int `json:"migrated_counts"`
		TotalMigrated  int            `json:"total_migrated"`
	}
	expectKeys(t, "ResourceMigrationResponse", res.Object(t), "message", "organization_id", "migrated_counts", "total_migrated")
	res.Decode(t, &got)
	kinds := []string{"products", "subjects", "styles", "generations", "shootings", "shot_types", "stylists", "background_presets",
		"resolution_presets", "product_type_shot_types", "external_integrations", "shooting_guidelines", "export_configurations"}
	if got.OrganizationID != o.ID || got.TotalMigrated != 0 || got.Message == "" || len(got.MigratedCounts) != len(kinds) {
		t.Fatalf("migration answer %s", res.Body)
	}
	for _, k := range kinds {
		if n, ok := got.MigratedCounts[k]; !ok || n != 0 {
			t.Fatalf("count of %s: %d, %v", k, n, ok)
		}
	}

	expectDetail(t, env.JSON(t, http.MethodPost, path, root.token, map[string]any{"user_id": outsider.ID}),
		http.StatusBadRequest, "The source user is not a member of this organization")
	expectDetail(t, env.JSON(t, http.MethodPost, path, owner.token, map[string]any{"user_id": mate.ID}),
		http.StatusForbidden, "The user doesn't have enough privileges")
	expectDetail(t, env.JSON(t, http.MethodPost, path, outsider.token, map[string]any{"user_id": mate.ID}),
		http.StatusNotFound, "Organization not found")
	expectDetail(t, env.JSON(t, http.MethodPost, orgPath(uuid.New(), "/migrate-resources"), root.token, map[string]any{"user_id": mate.ID}),
		http.StatusNotFound, "Organization not found")
}

// TestPermissionMatrix runs every organization operation as every kind of
// caller, each on a fresh organization owned by "owner" with "member" in it,
// and checks that a refused operation changed nothing.
func TestPermissionMatrix(t *testing.T) {
	root := admin(t)
	owner, mate, outsider := newAccount(t, "owner"), newAccount(t, "member"), newAccount(t, "outsider")
	callers := map[string]account{"anonymous": {}, "outsider": outsider, "member": mate, "owner": owner, "superuser": root}

	// An operation may involve a fresh user, extra, who is a member of the
	// organization beforehand when extraJoins.
	type operation struct {
		name       string
		method     string
		path       func(extra account) string // below the organization's path
		body       func(extra account) any
		extraJoins bool
	}
	at := func(p string) func(account) string { return func(account) string { return p } }
	ops := []operation{
		{name: "read", method: http.MethodGet, path: at("")},
		{name: "update", method: http.MethodPut, path: at(""), body: func(account) any { return map[string]any{"name": "changed"} }},
		{name: "list members", method: http.MethodGet, path: at("/members")},
		{name: "add member", method: http.MethodPost, path: at("/members"), body: func(extra account) any { return map[string]any{"user_id": extra.ID} }},
		{name: "remove another member", method: http.MethodDelete, extraJoins: true,
			path: func(extra account) string { return "/members/" + extra.ID.String() }},
		{name: "migrate resources", method: http.MethodPost, path: at("/migrate-resources"),
			body: func(account) any { return map[string]any{"user_id": mate.ID} }},
		{name: "delete", method: http.MethodDelete, path: at("")},
	}
	want := map[string]map[string]int{ // operation → caller → status
		"read":                  {"anonymous": 401, "outsider": 404, "member": 200, "owner": 200, "superuser": 200},
		"update":                {"anonymous": 401, "outsider": 404, "member": 403, "owner": 200, "superuser": 200},
		"list members":          {"anonymous": 401, "outsider": 404, "member": 200, "owner": 200, "superuser": 200},
		"add member":            {"anonymous": 401, "outsider": 404, "member": 403, "owner": 200, "superuser": 200},
		"remove another member": {"anonymous": 401, "outsider": 404, "member": 403, "owner": 200, "superuser": 200},
		"migrate resources":     {"anonymous": 401, "outsider": 404, "member": 403, "owner": 403, "superuser": 200},
		"delete":                {"anonymous": 401, "outsider": 404, "member": 403, "owner": 200, "superuser": 200},
	}
	for _, op := range ops {
		for name, caller := range callers {
			t.Run(op.name+" as "+name, func(t *testing.T) {
				o := createOrg(t, owner, "matrix-"+uuid.NewString())
				addMember(t, owner, o, mate.user)
				extra := newAccount(t, "extra")
				if op.extraJoins {
					addMember(t, owner, o, extra.user)
				}
				var body any
				if op.body != nil {
					body = op.body(extra)
				}
				before := memberIDs(members(t, owner, o))
				res := env.JSON(t, op.method, orgPath(o.ID, op.path(extra)), caller.token, body).Expect(t, want[op.name][name])
				if res.Status < 300 {
					return
				}
				var after org
				env.JSON(t, http.MethodGet, orgPath(o.ID, ""), owner.token, nil).Expect(t, http.StatusOK).Decode(t, &after)
				if after.Name != o.Name || !after.UpdatedAt.Equal(o.UpdatedAt) {
					t.Fatalf("refused %s changed the organization: %+v", op.name, after)
				}
				if ids := memberIDs(members(t, owner, o)); !slices.Equal(ids, before) {
					t.Fatalf("refused %s changed the members from %v to %v", op.name, before, ids)
				}
			})
		}
	}
}
