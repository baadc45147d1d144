package audit_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/domain/role"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestCatalogRoles(t *testing.T) {
	for kind, want := range map[string]audit.Role{
		identity.UserKind:     audit.Resource,
		organization.Kind:     audit.Resource,
		role.Kind:             audit.Resource,
		role.ModuleKind:       audit.Resource,
		role.GrantsKind:       audit.Facet,
		identity.SessionKind:  audit.Attached,
		identity.ResetKind:    audit.Attached,
		identity.EmailKind:    audit.Internal,
		audit.TrailKind:       audit.Internal,
		"something-else-kind": audit.Other,
	} {
		if got := audit.Domain.Role(kind); got != want {
			t.Errorf("role of %s = %s, want %s", kind, got, want)
		}
	}
	streams := audit.Domain.Streams(identity.UserKind)
	if len(streams) != 2 || streams[0].Name() != identity.UserKind || streams[1].Name() != role.GrantsKind || streams[1].Facet() != "roles" {
		t.Fatalf("streams of a user: %v", streams)
	}
	if audit.Domain.Streams(role.GrantsKind) != nil {
		t.Fatal("a facet is not a resource of its own")
	}
	if !audit.Domain.Sensitive(identity.UserPasswordChanged{}.EventType()) || audit.Domain.Sensitive(identity.UserUpdated{}.EventType()) {
		t.Fatal("password changes are sensitive, profile changes are not")
	}
}

// TestSecretsStayOut folds accounts and sessions with secrets in them and
// checks that neither what the log stores nor what it shows holds them.
func TestSecretsStayOut(t *testing.T) {
	users, _ := audit.Domain.Kind(identity.UserKind)
	state := users.Evolve(nil, identity.UserRegistered{UserID: "u1", Email: "a@b.c", PasswordHash: "SECRET-HASH", Active: true, At: t0})
	state = users.Evolve(state, identity.UserPasswordChanged{UserID: "u1", PasswordHash: "SECRET-HASH-2", At: t0})
	stored, err := users.Encode(state)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := json.Marshal(users.View(state))
	if err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"stored": stored, "shown": shown} {
		if strings.Contains(string(b), "SECRET") {
			t.Errorf("%s user state holds the password hash: %s", what, b)
		}
	}
	// The stored state folds on like the real one.
	back, err := users.Decode(stored)
	if err != nil {
		t.Fatal(err)
	}
	back = users.Evolve(back, identity.UserUpdated{UserID: "u1", Changes: identity.UserChanges{Email: ptr("new@b.c")}, At: t0})
	if u := back.(identity.User); u.Email != "new@b.c" || !u.Exists() {
		t.Fatalf("folded from the stored state: %+v", u)
	}

	sessions, _ := audit.Domain.Kind(identity.SessionKind)
	s := sessions.Evolve(nil, identity.SessionStarted{SessionID: "s1", UserID: "u1", RefreshID: "SECRET-REFRESH", At: t0})
	if stored, _ := sessions.Encode(s); strings.Contains(string(stored), "SECRET") {
		t.Errorf("stored session holds its refresh token id: %s", stored)
	}
	if sessions.View(s) != nil || sessions.Owner(s, "s1") != "u1" {
		t.Errorf("a session shows nothing and belongs to its user")
	}
}

func TestViewOfAnAbsentResourceIsNull(t *testing.T) {
	for _, name := range []string{identity.UserKind, organization.Kind, role.Kind, role.ModuleKind} {
		k, _ := audit.Domain.Kind(name)
		if v := k.View(nil); v != nil {
			t.Errorf("%s view of nothing = %v", name, v)
		}
	}
}

func TestChildren(t *testing.T) {
	orgs, _ := audit.Domain.Kind(organization.Kind)
	if c, ok := orgs.Child(organization.MemberAdded{OrganizationID: "o1", UserID: "u1"}); !ok || c != (audit.Child{Kind: audit.OrganizationMember, ID: "u1"}) {
		t.Fatalf("member added concerns %v %v", c, ok)
	}
	if _, ok := orgs.Child(organization.Updated{OrganizationID: "o1"}); ok {
		t.Fatal("a profile change concerns the organization itself")
	}
}

func TestSnapshotComposesFacets(t *testing.T) {
	roles := map[string]json.RawMessage{"roles": json.RawMessage(`["a"]`)}
	got, err := audit.Snapshot(json.RawMessage(`{"id":"u1","email":"a@b.c"}`), true, roles)
	if err != nil || string(got) != `{"email":"a@b.c","id":"u1","roles":["a"]}` {
		t.Fatalf("snapshot %s, %v", got, err)
	}
	if got, _ := audit.Snapshot(json.RawMessage(`null`), true, roles); string(got) != "null" {
		t.Fatalf("snapshot of an absent resource %s", got)
	}
	if got, _ := audit.Snapshot(nil, false, roles); string(got) != `{"roles":["a"]}` {
		t.Fatalf("snapshot of facets alone %s", got)
	}
	if got, _ := audit.Snapshot(nil, false, nil); string(got) != "null" {
		t.Fatalf("snapshot of nothing %s", got)
	}
}

func TestChanges(t *testing.T) {
	changes, err := audit.Changes(json.RawMessage(`{"a":1,"b":"x","c":null}`), json.RawMessage(`{"a":1,"b":"y","d":true}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(changes)
	if string(got) != `{"b":{"from":"x","to":"y"},"d":{"from":null,"to":true}}` {
		t.Fatalf("changes %s", got)
	}
	created, _ := audit.Changes(json.RawMessage(`null`), json.RawMessage(`{"a":1}`))
	if got, _ := json.Marshal(created); string(got) != `{"a":{"from":null,"to":1}}` {
		t.Fatalf("changes of a creation %s", got)
	}
	if same, _ := audit.Changes(json.RawMessage(`{"a":1}`), json.RawMessage(`{"a":1}`)); same != nil {
		t.Fatalf("no change gave %v", same)
	}
}

func action() audit.Action {
	return audit.Action{
		ID: "a1", ActorID: "u1", Nature: audit.Command, State: audit.Done, Restorable: true,
		Parts: []audit.Part{
			{Kind: identity.EmailKind, ID: "a@b.c", Before: -1, After: 0},
			{Kind: identity.UserKind, ID: "u1", Restorable: true, Before: -1, After: 0},
			{Kind: role.GrantsKind, ID: "u1", Restorable: true, Before: 2, After: 4},
		},
	}
}

func TestCheckUndo(t *testing.T) {
	if err := audit.CheckUndo(action(), "u1", "a1"); err != nil {
		t.Fatalf("own latest action: %v", err)
	}
	for name, c := range map[string]struct {
		change func(*audit.Action)
		caller string
		latest string
		want   error
	}{
		"someone else's":     {func(*audit.Action) {}, "u2", "a1", audit.ErrNotYours},
		"not the latest":     {func(*audit.Action) {}, "u1", "a2", audit.ErrNotLatest},
		"sensitive":          {func(a *audit.Action) { a.Sensitive = true }, "u1", "a1", audit.ErrSensitive},
		"failed":             {func(a *audit.Action) { a.State = audit.Failed }, "u1", "a1", audit.ErrNotUndoable},
		"an undo":            {func(a *audit.Action) { a.Nature = audit.Undo }, "u1", "a1", audit.ErrNotUndoable},
		"of an unknown kind": {func(a *audit.Action) { a.Restorable = false }, "u1", "a1", audit.ErrNotUndoable},
		"undone already":     {func(a *audit.Action) { a.State = audit.Undone }, "u1", "a1", audit.ErrAlreadyUndone},
		"redone":             {func(a *audit.Action) { a.State = audit.Redone }, "u1", "a1", audit.ErrAlreadyUndone},
	} {
		a := action()
		c.change(&a)
		if err := audit.CheckUndo(a, c.caller, c.latest); !errors.Is(err, c.want) || !errors.Is(err, kernel.ErrRule) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestCheckRedo(t *testing.T) {
	a := action()
	a.State = audit.Undone
	if err := audit.CheckRedo(a, "u1", "a1"); err != nil {
		t.Fatalf("own latest undone action: %v", err)
	}
	for name, c := range map[string]struct {
		state          audit.State
		caller, latest string
		want           error
	}{
		"someone else's": {audit.Undone, "u2", "a1", audit.ErrNotYours},
		"not undone":     {audit.Done, "u1", "a1", audit.ErrNotUndone},
		"redone already": {audit.Redone, "u1", "a1", audit.ErrNotUndone},
		"not the latest": {audit.Undone, "u1", "a0", audit.ErrNotLatestUndone},
	} {
		a.State = c.state
		if err := audit.CheckRedo(a, c.caller, c.latest); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestStepsRestoreOnlyRestorableStreams(t *testing.T) {
	want := []audit.Step{
		{Kind: identity.UserKind, ID: "u1", Target: -1, Expect: 0},
		{Kind: role.GrantsKind, ID: "u1", Target: 2, Expect: 4},
	}
	if got := audit.UndoSteps(action()); !slices.Equal(got, want) {
		t.Fatalf("undo steps %v", got)
	}
	// The undo moved the user on; it did not need to touch the grants.
	undo := audit.Action{ID: "u", Parts: []audit.Part{{Kind: identity.UserKind, ID: "u1", Restorable: true, Before: 0, After: 1}}}
	want = []audit.Step{
		{Kind: identity.UserKind, ID: "u1", Target: 0, Expect: 1},
		{Kind: role.GrantsKind, ID: "u1", Target: 4, Expect: 4},
	}
	if got := audit.RedoSteps(action(), undo); !slices.Equal(got, want) {
		t.Fatalf("redo steps %v", got)
	}
}

func TestTokensAreStableAndDistinct(t *testing.T) {
	if audit.Token("a1") != audit.Token("a1") || audit.Token("a1") == audit.Token("a2") || len(audit.Token("a1")) != 32 {
		t.Fatal("undo tokens must be derived from the action id alone")
	}
}

func TestRefusedKeepsOnlyWhatClientsMaySee(t *testing.T) {
	got := audit.Refused("Signup", identity.ErrEmailTaken, "Bad Request", t0)
	if got.Code != "email_taken" || got.Message != identity.ErrEmailTaken.Error() || got.Command != "Signup" {
		t.Fatalf("refusal of a domain error %+v", got)
	}
	got = audit.Refused("Signup", errors.New("pq: connection to 10.0.0.1 refused"), "Bad Request", t0)
	if got.Code != "" || got.Message != "Bad Request" {
		t.Fatalf("refusal of another error %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }
