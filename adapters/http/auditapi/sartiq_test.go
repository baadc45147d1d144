package auditapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

const (
	sartiqAPI = "/api/v1"
	password  = "password-1"
)

// sartiqUser is a sartiq account with a token.
type sartiqUser struct {
	ID       string  `json:"id"`
	Email    string  `json:"email"`
	FullName *string `json:"full_name"`
	token    string
}

func address(name string) string { return fmt.Sprintf("%s-%s@example.com", name, uuid.NewString()[:8]) }

func sartiqLogin(t *testing.T, email, pass string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	sartiqEnv.Form(t, sartiqAPI+"/login/access-token", "", url.Values{"username": {email}, "password": {pass}}).
		Expect(t, http.StatusOK).Decode(t, &tok)
	return tok.AccessToken
}

// sartiqLoginRefused asserts that an email and password do not log in.
func sartiqLoginRefused(t *testing.T, email, pass string) {
	t.Helper()
	sartiqEnv.Form(t, sartiqAPI+"/login/access-token", "", url.Values{"username": {email}, "password": {pass}}).
		Expect(t, http.StatusBadRequest)
}

func sartiqSignup(t *testing.T, name string) sartiqUser {
	t.Helper()
	var u sartiqUser
	sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/users/signup", "", map[string]any{"email": address(name), "password": password}).
		Expect(t, http.StatusOK).Decode(t, &u)
	u.token = sartiqLogin(t, u.Email, password)
	return u
}

func sartiqAdmin(t *testing.T) sartiqUser {
	t.Helper()
	tok := sartiqLogin(t, sartiqEnv.Admin.Email, sartiqEnv.Admin.Password)
	var u sartiqUser
	sartiqEnv.JSON(t, http.MethodGet, sartiqAPI+"/users/me", tok, nil).Expect(t, http.StatusOK).Decode(t, &u)
	u.token = tok
	return u
}

// sartiqUserAs reads a user as the admin sees it; ok is false when it is
// gone.
func sartiqUserAs(t *testing.T, admin sartiqUser, id string) (sartiqUser, bool) {
	t.Helper()
	res := sartiqEnv.JSON(t, http.MethodGet, sartiqAPI+"/users/"+id, admin.token, nil)
	if res.Status == http.StatusNotFound {
		return sartiqUser{}, false
	}
	var u sartiqUser
	res.Expect(t, http.StatusOK).Decode(t, &u)
	return u, true
}

// org is what the tests read of an organization.
type org struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	Description     *string `json:"description"`
	OwnerID         string  `json:"owner_id"`
	ReworkAvailable int     `json:"rework_available"`
	CreatedAt       string  `json:"created_at"`
}

func createOrg(t *testing.T, by sartiqUser, name string) org {
	t.Helper()
	var o org
	sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/organizations/", by.token,
		map[string]any{"name": name, "avatar_image": "https://img.example/" + name + ".png", "description": "first"}).
		Expect(t, http.StatusOK).Decode(t, &o)
	return o
}

func orgPath(id, rest string) string { return sartiqAPI + "/organizations/" + id + rest }

// readOrg reads an organization; ok is false when it is gone.
func readOrg(t *testing.T, by sartiqUser, id string) (org, bool) {
	t.Helper()
	res := sartiqEnv.JSON(t, http.MethodGet, orgPath(id, ""), by.token, nil)
	if res.Status == http.StatusNotFound {
		return org{}, false
	}
	var o org
	res.Expect(t, http.StatusOK).Decode(t, &o)
	return o, true
}

// memberIDs lists an organization's member ids as its owner sees them.
func memberIDs(t *testing.T, by sartiqUser, id string) []string {
	t.Helper()
	var l struct {
		Data []struct {
			UserID string `json:"user_id"`
		} `json:"data"`
	}
	sartiqEnv.JSON(t, http.MethodGet, orgPath(id, "/members"), by.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	ids := make([]string, len(l.Data))
	for i, m := range l.Data {
		ids[i] = m.UserID
	}
	return ids
}

func TestSartiqSignupIsLoggedAndItsUndoFreesTheEmail(t *testing.T) {
	u := sartiqSignup(t, "signup")
	res := sartiqEnv.JSON(t, http.MethodGet, "/_annals/audit/actions", u.token, nil).Expect(t, http.StatusOK)
	if strings.Contains(string(res.Body), "password") || strings.Contains(string(res.Body), "$2a$") {
		t.Fatalf("the log shows a password hash: %s", res.Body)
	}
	var raw struct{ Items []map[string]any }
	res.Decode(t, &raw)
	expectKeys(t, raw.Items[0], entryKeys...)

	e := latest(t, sartiqEnv, u.token, "user", u.ID)
	switch {
	case e.label() != "RegisterUser", e.ExecutionState != "done", deref(e.ActorUserID) != u.ID, deref(e.ActorUserName) != u.Email:
		t.Fatalf("sign-up entry %+v", e)
	case e.ID != e.CommandID, e.SnapshotBefore != nil, e.SnapshotAfter["email"] != u.Email, e.TenantID != nil:
		t.Fatalf("sign-up entry %+v", e)
	case e.Context["requestId"] == "" || e.Context["clientAddr"] == "" || e.Context["userAgent"] == "":
		t.Fatalf("sign-up context %v", e.Context)
	case string(e.Changes["email"]) != fmt.Sprintf(`{"from":null,"to":%q}`, u.Email):
		t.Fatalf("sign-up changes %s", e.Changes["email"])
	}

	undoLatest(t, sartiqEnv, u.token, "user", u.ID)
	sartiqLoginRefused(t, u.Email, password)
	// The email is free again: it signs up anew.
	sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/users/signup", "", map[string]any{"email": u.Email, "password": password}).
		Expect(t, http.StatusOK)

	all := listActions(t, sartiqEnv, sartiqAdmin(t).token, url.Values{"actorUserId": {u.ID}})
	if len(all.Items) != 2 || all.Items[0].label() != "Undo RegisterUser" || all.Items[1].ExecutionState != "undone" || all.Items[1].UndoToken != nil {
		t.Fatalf("the log after the undo: %+v", all.Items)
	}
	if undoEntry := all.Items[0]; undoEntry.SnapshotAfter != nil || undoEntry.SnapshotBefore["email"] != u.Email || undoEntry.UndoToken != nil {
		t.Fatalf("undo entry %+v", undoEntry)
	}
}

func TestSartiqUserCommandsUndoAndRedo(t *testing.T) {
	admin := sartiqAdmin(t)
	t.Run("create", func(t *testing.T) {
		var u sartiqUser
		email := address("created")
		sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/users/", admin.token, map[string]any{"email": email, "password": password, "full_name": "Made"}).
			Expect(t, http.StatusOK).Decode(t, &u)
		created := undoLatest(t, sartiqEnv, admin.token, "user", u.ID)
		if created.label() != "CreateUser" {
			t.Fatalf("undid %q", created.label())
		}
		if _, ok := sartiqUserAs(t, admin, u.ID); ok {
			t.Fatal("the created user is still there after the undo")
		}
		sartiqLoginRefused(t, email, password)

		r := redoAction(t, sartiqEnv, admin.token, created.ID)
		back, ok := sartiqUserAs(t, admin, u.ID)
		if !ok || back.Email != email || deref(back.FullName) != "Made" {
			t.Fatalf("redone user %+v (%v)", back, ok)
		}
		sartiqLogin(t, email, password) // the password came back with the account
		if e := find(t, listActions(t, sartiqEnv, admin.token, nil), created.ID); e.ExecutionState != "redone" || e.UndoToken != nil {
			t.Fatalf("the redone action: %+v", e)
		}

		// The redo is an action of its own, undone by its token and redone
		// by its id.
		var u2 undone
		undo(t, sartiqEnv, admin.token, r.UndoToken).Expect(t, http.StatusOK).Decode(t, &u2)
		if u2.LogID != r.LogID {
			t.Fatalf("undo of the redo answered %+v", u2)
		}
		if _, ok := sartiqUserAs(t, admin, u.ID); ok {
			t.Fatal("the user is still there after undoing the redo")
		}
		redoAction(t, sartiqEnv, admin.token, r.LogID)
		if _, ok := sartiqUserAs(t, admin, u.ID); !ok {
			t.Fatal("the user is not back after redoing the redo")
		}
	})

	t.Run("update", func(t *testing.T) {
		u := sartiqSignup(t, "updated")
		newEmail := address("renamed")
		sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/"+u.ID, admin.token,
			map[string]any{"email": newEmail, "full_name": "New Name", "rework_available": 7}).Expect(t, http.StatusOK)
		e := undoLatest(t, sartiqEnv, admin.token, "user", u.ID)
		if e.label() != "UpdateUser" || string(e.Changes["email"]) != fmt.Sprintf(`{"from":%q,"to":%q}`, u.Email, newEmail) {
			t.Fatalf("undid %+v", e)
		}
		back, _ := sartiqUserAs(t, admin, u.ID)
		if back.Email != u.Email || back.FullName != nil {
			t.Fatalf("after undo: %+v", back)
		}
		sartiqLogin(t, u.Email, password)
		// The new email was given back: another account may take it.
		sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/users/signup", "", map[string]any{"email": newEmail, "password": password}).
			Expect(t, http.StatusOK)
		// Now redoing needs that email again, which is taken: refused, and
		// nothing changes.
		expectRefused(t, redo(t, sartiqEnv, admin.token, e.ID), "The user with this email already exists in the system.")
		if back, _ := sartiqUserAs(t, admin, u.ID); back.Email != u.Email {
			t.Fatalf("a refused redo changed the user: %+v", back)
		}
	})

	t.Run("update redone", func(t *testing.T) {
		u := sartiqSignup(t, "reupdated")
		newEmail := address("reupdated")
		sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/"+u.ID, admin.token, map[string]any{"email": newEmail}).Expect(t, http.StatusOK)
		e := undoLatest(t, sartiqEnv, admin.token, "user", u.ID)
		redoAction(t, sartiqEnv, admin.token, e.ID)
		if back, _ := sartiqUserAs(t, admin, u.ID); back.Email != newEmail {
			t.Fatalf("after redo: %+v", back)
		}
		sartiqLogin(t, newEmail, password)
		sartiqLoginRefused(t, u.Email, password)
	})

	t.Run("delete", func(t *testing.T) {
		owner, u := sartiqSignup(t, "owner"), sartiqSignup(t, "deleted")
		o := createOrg(t, owner, "Club")
		addMember(t, owner, o.ID, u.ID)
		sartiqEnv.JSON(t, http.MethodDelete, sartiqAPI+"/users/"+u.ID, admin.token, nil).Expect(t, http.StatusOK)
		if ids := memberIDs(t, owner, o.ID); len(ids) != 1 {
			t.Fatalf("members after the deletion: %v", ids)
		}
		e := undoLatest(t, sartiqEnv, admin.token, "user", u.ID)
		if e.label() != "DeleteUser" || e.SnapshotAfter != nil || e.SnapshotBefore["email"] != u.Email {
			t.Fatalf("undid %+v", e)
		}
		sartiqLogin(t, u.Email, password)
		if ids := memberIDs(t, owner, o.ID); len(ids) != 2 {
			t.Fatalf("members after the undo: %v", ids)
		}
		redoAction(t, sartiqEnv, admin.token, e.ID)
		if _, ok := sartiqUserAs(t, admin, u.ID); ok {
			t.Fatal("the user is there after the redo")
		}
		sartiqLoginRefused(t, u.Email, password)
	})

	t.Run("a deletion whose email was taken since cannot be undone", func(t *testing.T) {
		u := sartiqSignup(t, "replaced")
		sartiqEnv.JSON(t, http.MethodDelete, sartiqAPI+"/users/"+u.ID, admin.token, nil).Expect(t, http.StatusOK)
		e := latest(t, sartiqEnv, admin.token, "user", u.ID)
		sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/users/signup", "", map[string]any{"email": u.Email, "password": password}).
			Expect(t, http.StatusOK)
		expectRefused(t, undo(t, sartiqEnv, admin.token, *e.UndoToken), "The user with this email already exists in the system.")
		if _, ok := sartiqUserAs(t, admin, u.ID); ok {
			t.Fatal("a refused undo brought the user back")
		}
		if again := latest(t, sartiqEnv, admin.token, "user", u.ID); again.ExecutionState != "done" || again.UndoToken == nil {
			t.Fatalf("after a refused undo the action is %+v", again)
		}
	})
}

func addMember(t *testing.T, by sartiqUser, orgID, userID string) {
	t.Helper()
	sartiqEnv.JSON(t, http.MethodPost, orgPath(orgID, "/members"), by.token, map[string]any{"user_id": userID}).Expect(t, http.StatusOK)
}

func TestSartiqOrganizationCommandsUndoAndRedo(t *testing.T) {
	owner := sartiqSignup(t, "orgs")
	t.Run("create", func(t *testing.T) {
		o := createOrg(t, owner, "Made")
		e := undoLatest(t, sartiqEnv, owner.token, "organization", o.ID)
		if e.label() != "CreateOrganization" || deref(e.OrganizationID) != o.ID || deref(e.OrganizationName) != "Made" {
			t.Fatalf("undid %+v", e)
		}
		if _, ok := readOrg(t, owner, o.ID); ok {
			t.Fatal("the organization is there after the undo")
		}
		redoAction(t, sartiqEnv, owner.token, e.ID)
		back, ok := readOrg(t, owner, o.ID)
		if !ok || back.Name != "Made" || back.OwnerID != owner.ID || back.CreatedAt != o.CreatedAt {
			t.Fatalf("redone organization %+v (%v), created %+v", back, ok, o)
		}
		if ids := memberIDs(t, owner, o.ID); len(ids) != 1 || ids[0] != owner.ID {
			t.Fatalf("members of the redone organization: %v", ids)
		}
	})

	t.Run("update", func(t *testing.T) {
		o := createOrg(t, owner, "Before")
		sartiqEnv.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"name": "After", "description": nil, "rework_available": 9}).
			Expect(t, http.StatusOK)
		e := undoLatest(t, sartiqEnv, owner.token, "organization", o.ID)
		if e.label() != "UpdateOrganization" || string(e.Changes["name"]) != `{"from":"Before","to":"After"}` || deref(e.OrganizationName) != "After" {
			t.Fatalf("undid %+v", e)
		}
		if back, _ := readOrg(t, owner, o.ID); back.Name != "Before" || deref(back.Description) != "first" || back.ReworkAvailable != 2 {
			t.Fatalf("after undo: %+v", back)
		}
		redoAction(t, sartiqEnv, owner.token, e.ID)
		if back, _ := readOrg(t, owner, o.ID); back.Name != "After" || back.Description != nil || back.ReworkAvailable != 9 {
			t.Fatalf("after redo: %+v", back)
		}
	})

	t.Run("ownership transfer", func(t *testing.T) {
		o := createOrg(t, owner, "Handed")
		heir := sartiqSignup(t, "heir")
		sartiqEnv.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"owner_id": heir.ID}).Expect(t, http.StatusOK)
		e := undoLatest(t, sartiqEnv, owner.token, "organization", o.ID)
		if string(e.Changes["owner_id"]) != fmt.Sprintf(`{"from":%q,"to":%q}`, owner.ID, heir.ID) {
			t.Fatalf("undid %+v", e)
		}
		if back, _ := readOrg(t, owner, o.ID); back.OwnerID != owner.ID {
			t.Fatalf("after undo: %+v", back)
		}
		// The heir joined to own it; the undo takes that back too.
		if ids := memberIDs(t, owner, o.ID); len(ids) != 1 {
			t.Fatalf("members after undo: %v", ids)
		}
		redoAction(t, sartiqEnv, owner.token, e.ID)
		if back, _ := readOrg(t, heir, o.ID); back.OwnerID != heir.ID {
			t.Fatalf("after redo: %+v", back)
		}
	})

	t.Run("delete", func(t *testing.T) {
		o := createOrg(t, owner, "Gone")
		guest := sartiqSignup(t, "guest")
		addMember(t, owner, o.ID, guest.ID)
		sartiqEnv.JSON(t, http.MethodDelete, orgPath(o.ID, ""), owner.token, nil).Expect(t, http.StatusOK)
		e := undoLatest(t, sartiqEnv, owner.token, "organization", o.ID)
		if e.label() != "DeleteOrganization" || e.SnapshotAfter != nil || deref(e.OrganizationName) != "Gone" {
			t.Fatalf("undid %+v", e)
		}
		back, ok := readOrg(t, owner, o.ID)
		if !ok || back.CreatedAt != o.CreatedAt {
			t.Fatalf("after undo: %+v (%v)", back, ok)
		}
		if ids := memberIDs(t, owner, o.ID); len(ids) != 2 {
			t.Fatalf("members after undo: %v", ids)
		}
		if _, ok := readOrg(t, guest, o.ID); !ok {
			t.Fatal("the member does not see the restored organization")
		}
		redoAction(t, sartiqEnv, owner.token, e.ID)
		if _, ok := readOrg(t, owner, o.ID); ok {
			t.Fatal("the organization is there after the redo")
		}
	})
}

func TestSartiqMemberCommandsUndoAndRedo(t *testing.T) {
	owner, guest := sartiqSignup(t, "host"), sartiqSignup(t, "member")
	o := createOrg(t, owner, "Members")

	addMember(t, owner, o.ID, guest.ID)
	added := latest(t, sartiqEnv, owner.token, "organization_member", guest.ID)
	if added.label() != "AddOrganizationMember" || deref(added.ParentResourceKind) != "organization" || deref(added.ParentResourceID) != o.ID ||
		deref(added.OrganizationID) != o.ID || deref(added.OrganizationName) != "Members" {
		t.Fatalf("member added: %+v", added)
	}
	// The organization's own actions leave it out unless related ones are
	// asked for.
	own := listActions(t, sartiqEnv, owner.token, url.Values{"resourceKind": {"organization"}, "resourceId": {o.ID}})
	related := listActions(t, sartiqEnv, owner.token, url.Values{"resourceKind": {"organization"}, "resourceId": {o.ID}, "includeRelated": {"true"}})
	if len(own.Items) != 1 || len(related.Items) != 2 || related.Items[0].ID != added.ID {
		t.Fatalf("own %d, with related %d", len(own.Items), len(related.Items))
	}

	undoLatest(t, sartiqEnv, owner.token, "organization_member", guest.ID)
	if ids := memberIDs(t, owner, o.ID); len(ids) != 1 {
		t.Fatalf("members after undoing the addition: %v", ids)
	}
	redoAction(t, sartiqEnv, owner.token, added.ID)
	if ids := memberIDs(t, owner, o.ID); len(ids) != 2 {
		t.Fatalf("members after redoing the addition: %v", ids)
	}

	sartiqEnv.JSON(t, http.MethodDelete, orgPath(o.ID, "/members/"+guest.ID), owner.token, nil).Expect(t, http.StatusOK)
	removed := undoLatest(t, sartiqEnv, owner.token, "organization_member", guest.ID)
	if removed.label() != "RemoveOrganizationMember" {
		t.Fatalf("undid %+v", removed)
	}
	if ids := memberIDs(t, owner, o.ID); len(ids) != 2 {
		t.Fatalf("members after undoing the removal: %v", ids)
	}
	redoAction(t, sartiqEnv, owner.token, removed.ID)
	if ids := memberIDs(t, owner, o.ID); len(ids) != 1 {
		t.Fatalf("members after redoing the removal: %v", ids)
	}
}
