package auditapi_test

import (
	"net/http"
	"net/url"
	"testing"
)

// Messages of the undo and redo refusals.
const (
	notLatest   = "Only your latest undoable action can be undone"
	changed     = "The resource has changed since this action, so it can no longer be undone"
	notYours    = "This action was taken by another user; only its author can undo or redo it"
	sensitive   = "Security-sensitive actions (passwords, sign-ins, tokens) cannot be undone or redone"
	badToken    = "Invalid or unavailable undo token"
	notUndone   = "Only an undone action can be redone"
	changedUndo = "The resource has changed since the undo, so the action can no longer be redone"
)

// countActions is how many actions a token's user sees.
func countActions(t *testing.T, token string) int {
	t.Helper()
	return len(listActions(t, sartiqEnv, token, url.Values{"limit": {"1000"}}).Items)
}

func TestOnlyTheLatestActionIsUndoneAndTheStackUnwinds(t *testing.T) {
	u := sartiqSignup(t, "stack")
	sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/me", u.token, map[string]any{"full_name": "First"}).Expect(t, http.StatusOK)
	renamed := latest(t, sartiqEnv, u.token, "user", u.ID)
	o := createOrg(t, u, "Second")

	expectRefused(t, undo(t, sartiqEnv, u.token, *renamed.UndoToken), notLatest)
	if me, _ := sartiqUserAs(t, sartiqAdmin(t), u.ID); deref(me.FullName) != "First" {
		t.Fatalf("a refused undo changed the user: %+v", me)
	}
	// The refusal is logged as a failed command of its own.
	failed := listActions(t, sartiqEnv, u.token, url.Values{"limit": {"1"}}).Items[0]
	if failed.ExecutionState != "failed" || failed.label() != "UndoAction" || failed.Error == nil || failed.Error.Message != notLatest || failed.UndoToken != nil {
		t.Fatalf("the refused undo is logged as %+v", failed)
	}

	org := undoLatest(t, sartiqEnv, u.token, "organization", o.ID)
	// Now the rename is the latest undoable action.
	var res undone
	undo(t, sartiqEnv, u.token, *renamed.UndoToken).Expect(t, http.StatusOK).Decode(t, &res)
	if me, _ := sartiqUserAs(t, sartiqAdmin(t), u.ID); me.FullName != nil {
		t.Fatalf("the rename was not undone: %+v", me)
	}
	// Redo takes the latest undone first: the rename, not the organization.
	expectRefused(t, redo(t, sartiqEnv, u.token, org.ID), "Only your latest undone action can be redone")
	redoAction(t, sartiqEnv, u.token, renamed.ID)
	redoAction(t, sartiqEnv, u.token, org.ID)
	if _, ok := readOrg(t, u, o.ID); !ok {
		t.Fatal("the organization is not back")
	}
	expectRefused(t, redo(t, sartiqEnv, u.token, org.ID), notUndone)
	expectRefused(t, undo(t, sartiqEnv, u.token, "no-such-token"), badToken)
}

func TestAnActionWhoseResourceChangedSinceIsNotUndone(t *testing.T) {
	owner, admin := sartiqSignup(t, "changed"), sartiqAdmin(t)
	o := createOrg(t, owner, "Mine")
	created := latest(t, sartiqEnv, owner.token, "organization", o.ID)
	sartiqEnv.JSON(t, http.MethodPut, orgPath(o.ID, ""), admin.token, map[string]any{"name": "Theirs"}).Expect(t, http.StatusOK)

	// The token is no longer offered, and presented anyway it is refused.
	if again := find(t, listActions(t, sartiqEnv, owner.token, nil), created.ID); again.UndoToken != nil || again.ExecutionState != "done" {
		t.Fatalf("after the change: %+v", again)
	}
	before := countActions(t, owner.token)
	expectRefused(t, undo(t, sartiqEnv, owner.token, *created.UndoToken), changed)
	if o2, ok := readOrg(t, owner, o.ID); !ok || o2.Name != "Theirs" {
		t.Fatalf("a refused undo changed the organization: %+v (%v)", o2, ok)
	}
	if after := countActions(t, owner.token); after != before+1 {
		t.Fatalf("a refused undo logged %d entries, want the failed one only", after-before)
	}

	// Likewise for redo: a change after the undo stops it.
	u := sartiqSignup(t, "renamed")
	sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/"+u.ID, admin.token, map[string]any{"full_name": "By admin"}).Expect(t, http.StatusOK)
	renamed := undoLatest(t, sartiqEnv, admin.token, "user", u.ID)
	sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/me", u.token, map[string]any{"full_name": "By myself"}).Expect(t, http.StatusOK)
	expectRefused(t, redo(t, sartiqEnv, admin.token, renamed.ID), changedUndo)
	if me, _ := sartiqUserAs(t, admin, u.ID); deref(me.FullName) != "By myself" {
		t.Fatalf("a refused redo changed the user: %+v", me)
	}
}

func TestOnlyTheAuthorUndoesOrRedoes(t *testing.T) {
	owner, admin := sartiqSignup(t, "author"), sartiqAdmin(t)
	o := createOrg(t, owner, "Authored")
	created := latest(t, sartiqEnv, admin.token, "organization", o.ID)
	if deref(created.ActorUserID) != owner.ID || created.UndoToken == nil {
		t.Fatalf("the admin sees %+v", created)
	}
	expectRefused(t, undo(t, sartiqEnv, admin.token, *created.UndoToken), notYours)
	undoLatest(t, sartiqEnv, owner.token, "organization", o.ID)
	expectRefused(t, redo(t, sartiqEnv, admin.token, created.ID), notYours)
	if _, ok := readOrg(t, admin, o.ID); ok {
		t.Fatal("someone else's redo brought the organization back")
	}
}

func TestSensitiveActionsAreLoggedButNeverUndone(t *testing.T) {
	u := sartiqSignup(t, "sensitive")
	sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/me", u.token, map[string]any{"full_name": "Kept"}).Expect(t, http.StatusOK)
	sartiqEnv.JSON(t, http.MethodPatch, sartiqAPI+"/users/me/password", u.token,
		map[string]any{"current_password": password, "new_password": "password-2"}).Expect(t, http.StatusOK)
	changedPassword := listActions(t, sartiqEnv, u.token, url.Values{"limit": {"1"}}).Items[0]
	if changedPassword.label() != "UpdatePasswordMe" || changedPassword.ExecutionState != "done" || changedPassword.UndoToken != nil {
		t.Fatalf("password change logged as %+v", changedPassword)
	}
	// Only the time it changed shows, never the hash.
	if _, hash := changedPassword.SnapshotAfter["password_hash"]; hash || len(changedPassword.Changes) != 1 || changedPassword.Changes["updated_at"] == nil {
		t.Fatalf("the password change shows %v / %v", changedPassword.SnapshotAfter, changedPassword.Changes)
	}
	for _, e := range listActions(t, sartiqEnv, u.token, url.Values{"undoableOnly": {"true"}}).Items {
		if e.ID == changedPassword.ID || e.UndoToken == nil {
			t.Fatalf("undoable actions include %+v", e)
		}
	}
	expectRefused(t, redo(t, sartiqEnv, u.token, changedPassword.ID), sensitive)
	// The password change also changed the account, so the profile change
	// before it is no longer undoable: the password stays.
	renamed := latest(t, sartiqEnv, u.token, "user", u.ID)
	if renamed.ID == changedPassword.ID {
		renamed = listActions(t, sartiqEnv, u.token, url.Values{"limit": {"2"}}).Items[1]
	}
	if renamed.UndoToken != nil {
		t.Fatalf("the profile change before a password change is %+v", renamed)
	}
	sartiqLogin(t, u.Email, "password-2")
}

func TestFailedCommandsAreLogged(t *testing.T) {
	owner, other, admin := sartiqSignup(t, "refuser"), sartiqSignup(t, "refused"), sartiqAdmin(t)
	o := createOrg(t, owner, "Private")
	sartiqEnv.JSON(t, http.MethodPut, orgPath(o.ID, ""), other.token, map[string]any{"name": "Mine now"}).Expect(t, http.StatusNotFound)
	failed := listActions(t, sartiqEnv, other.token, url.Values{"limit": {"1"}}).Items[0]
	if failed.label() != "UpdateOrganization" || failed.ExecutionState != "failed" || failed.Error == nil ||
		failed.Error.Message != "Organization not found" || failed.Error.Code != "organization_not_found" || failed.UndoToken != nil {
		t.Fatalf("refused update logged as %+v", failed)
	}

	// Anonymous refusals are logged too, for administrators to see.
	sartiqEnv.JSON(t, http.MethodPost, sartiqAPI+"/users/signup", "", map[string]any{"email": owner.Email, "password": password}).
		Expect(t, http.StatusBadRequest)
	seen := listActions(t, sartiqEnv, admin.token, url.Values{"limit": {"1"}}).Items[0]
	if seen.ExecutionState != "failed" || seen.ActorUserID != nil || seen.label() != "RegisterUser" || seen.Error.Code != "email_taken" {
		t.Fatalf("refused sign-up logged as %+v", seen)
	}
}

func TestEachUserSeesOnlyTheirOwnActionsAndSuperusersEveryones(t *testing.T) {
	a, b, admin := sartiqSignup(t, "scope-a"), sartiqSignup(t, "scope-b"), sartiqAdmin(t)
	createOrg(t, a, "A's")
	createOrg(t, b, "B's")

	own := listActions(t, sartiqEnv, a.token, url.Values{"limit": {"1000"}})
	if own.CanViewTenant || len(own.Items) == 0 {
		t.Fatalf("a user's view: %d items, canViewTenant %v", len(own.Items), own.CanViewTenant)
	}
	for _, e := range own.Items {
		if deref(e.ActorUserID) != a.ID {
			t.Fatalf("a user sees another's action %+v", e)
		}
	}
	sartiqEnv.JSON(t, http.MethodGet, "/_annals/audit/actions?actorUserId="+b.ID, a.token, nil).Expect(t, http.StatusBadRequest)
	listActions(t, sartiqEnv, a.token, url.Values{"actorUserId": {a.ID}})

	all := listActions(t, sartiqEnv, admin.token, url.Values{"limit": {"1000"}})
	actors := map[string]bool{}
	for _, e := range all.Items {
		actors[deref(e.ActorUserID)] = true
	}
	if !all.CanViewTenant || !actors[a.ID] || !actors[b.ID] {
		t.Fatalf("the superuser's view: canViewTenant %v, actors %v", all.CanViewTenant, actors)
	}
	onlyB := listActions(t, sartiqEnv, admin.token, url.Values{"actorUserId": {b.ID}})
	for _, e := range onlyB.Items {
		if deref(e.ActorUserID) != b.ID {
			t.Fatalf("filtered by actor, the superuser sees %+v", e)
		}
	}

	for _, bad := range []string{"limit=0", "limit=x", "before=yesterday", "undoableOnly=maybe"} {
		sartiqEnv.JSON(t, http.MethodGet, "/_annals/audit/actions?"+bad, a.token, nil).Expect(t, http.StatusBadRequest)
	}
	sartiqEnv.JSON(t, http.MethodGet, "/_annals/audit/actions", "", nil).Expect(t, http.StatusUnauthorized)
}

func TestListingByTime(t *testing.T) {
	u := sartiqSignup(t, "times")
	createOrg(t, u, "One")
	createOrg(t, u, "Two")
	all := listActions(t, sartiqEnv, u.token, nil).Items
	if len(all) != 3 {
		t.Fatalf("%d actions", len(all))
	}
	middle := all[1].CreatedAt.Format("2006-01-02T15:04:05.999999999Z07:00")
	before := listActions(t, sartiqEnv, u.token, url.Values{"before": {middle}}).Items
	after := listActions(t, sartiqEnv, u.token, url.Values{"after": {middle}}).Items
	if len(before) != 1 || before[0].ID != all[2].ID || len(after) != 1 || after[0].ID != all[0].ID {
		t.Fatalf("before %v, after %v", before, after)
	}
	if l := listActions(t, sartiqEnv, u.token, url.Values{"limit": {"2"}}).Items; len(l) != 2 || l[0].ID != all[0].ID {
		t.Fatalf("limited listing %v", l)
	}
}
