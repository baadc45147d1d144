package audit_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/sartiq"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/audit"
	"github.com/annals-dev/annals/projections/projectionstest"
	readmodel "github.com/annals-dev/annals/readmodels/audit"
)

const password = "password-1"

type user struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	token string
}

// seed writes a history the log shows in every way: commands of several
// kinds, an undo, a redo and a refused command.
func seed(t *testing.T, env *dialecttest.Env) {
	t.Helper()
	signUp := func(name string) user {
		t.Helper()
		u := user{Email: fmt.Sprintf("%s-%s@example.com", name, uuid.NewString()[:8])}
		env.JSON(t, http.MethodPost, "/api/v1/users/signup", "", map[string]any{"email": u.Email, "password": password, "full_name": "User " + name}).
			Expect(t, http.StatusOK).Decode(t, &u)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		env.Form(t, "/api/v1/login/access-token", "", url.Values{"username": {u.Email}, "password": {password}}).
			Expect(t, http.StatusOK).Decode(t, &tok)
		u.token = tok.AccessToken
		return u
	}
	owner, member := signUp("owner"), signUp("member")
	var o struct {
		ID string `json:"id"`
	}
	env.JSON(t, http.MethodPost, "/api/v1/organizations/", owner.token,
		map[string]any{"name": "Logged", "avatar_image": "https://img.example/logged.png", "description": "first"}).
		Expect(t, http.StatusOK).Decode(t, &o)
	env.JSON(t, http.MethodPut, "/api/v1/organizations/"+o.ID, owner.token, map[string]any{"name": "Renamed", "description": nil}).
		Expect(t, http.StatusOK)
	env.JSON(t, http.MethodPost, "/api/v1/organizations/"+o.ID+"/members", owner.token, map[string]any{"user_id": member.ID}).
		Expect(t, http.StatusOK)
	env.JSON(t, http.MethodPatch, "/api/v1/users/me", member.token, map[string]any{"full_name": "Changed Name"}).
		Expect(t, http.StatusOK)

	// Undo the member's addition, then redo it.
	var actions struct {
		Items []struct {
			ID        string  `json:"id"`
			UndoToken *string `json:"undoToken"`
		} `json:"items"`
	}
	query := url.Values{"resourceKind": {"organization_member"}, "resourceId": {member.ID}, "limit": {"1"}}
	env.JSON(t, http.MethodGet, "/_annals/audit/actions?"+query.Encode(), owner.token, nil).Expect(t, http.StatusOK).Decode(t, &actions)
	if len(actions.Items) != 1 || actions.Items[0].UndoToken == nil {
		t.Fatalf("the member's addition is not undoable: %+v", actions.Items)
	}
	added := actions.Items[0]
	env.JSON(t, http.MethodPost, "/_annals/audit/actions/undo", owner.token, map[string]string{"undoToken": *added.UndoToken}).
		Expect(t, http.StatusOK)
	env.JSON(t, http.MethodPost, "/_annals/audit/actions/redo", owner.token, map[string]string{"logId": added.ID}).
		Expect(t, http.StatusOK)
	// A refusal is logged as a failed action.
	env.JSON(t, http.MethodDelete, "/api/v1/organizations/"+o.ID, member.token, nil).Expect(t, http.StatusForbidden)
	if err := env.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestRebuildEqualsTheLiveBuild rebuilds the action log beside itself from
// the event log: the schema swapped in equals the one built live, row for
// row, and one built live from the same log on a database of its own.
func TestRebuildEqualsTheLiveBuild(t *testing.T) {
	env, err := dialecttest.Start(context.Background(), "audit_rebuild", sartiq.New, dialecttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	seed(t, env)
	live := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name)

	var last projections.RebuildProgress
	err = env.Runtime.Rebuild(t.Context(), readmodel.Schema.Name, projections.RebuildOptions{
		Progress: func(p projections.RebuildProgress) { last = p },
	})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if !last.Swapped || last.Parked != 0 || last.Fallbacks != 0 {
		t.Fatalf("rebuild ended with %+v", last)
	}
	rebuilt := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name)
	if !maps.Equal(rebuilt, live) {
		t.Fatalf("rebuilt %s schema differs from the live one:\n live    %v\n rebuilt %v", readmodel.Schema.Name, live, rebuilt)
	}

	head, err := env.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	reference := projectionstest.BuildLive(t, env.Store, env.Deps.Executor.Registry, head, projection.Projector(env.Dialect.Name()))
	if want := projectionstest.DumpFull(t, reference, readmodel.Schema.Name); !maps.Equal(rebuilt, want) {
		t.Fatalf("rebuilt %s schema differs from one built live:\n built live %v\n rebuilt    %v", readmodel.Schema.Name, want, rebuilt)
	}
}
