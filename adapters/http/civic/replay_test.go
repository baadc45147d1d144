package civic_test

import (
	"maps"
	"net/http"
	"testing"

	projection "github.com/annals-dev/annals/projections/civic"
	"github.com/annals-dev/annals/projections/projectionstest"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// TestReplayRebuildsTheSameReadModels projects the whole log again into a
// fresh database and compares every civic table, in listing order, with
// the live read models: ids and times come from the events, so a rebuild
// must reproduce them exactly.
func TestReplayRebuildsTheSameReadModels(t *testing.T) {
	ctx := t.Context()
	admin := adminToken(t)
	kept, dropped := newRole(t, admin, "kept"), newRole(t, admin, "dropped")
	a := newAccount(t, kept+","+dropped)
	env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong-password1"}).
		Expect(t, http.StatusUnauthorized)
	newModule(t, admin, "Replayed", kept, dropped)
	env.JSON(t, http.MethodDelete, "/api/v1/user-roles/"+dropped, admin, nil).Expect(t, http.StatusNoContent)
	communityID := newCommunity(t, admin, "Replayed")
	env.JSON(t, http.MethodPost, "/api/v1/communities/join-requests", admin, map[string]any{"community_id": communityID, "user_id": a.ID}).
		Expect(t, http.StatusCreated)
	env.JSON(t, http.MethodPost, "/api/v1/users/add-to-community/"+communityID, admin, map[string]any{"user_id": newAccount(t, "").ID}).
		Expect(t, http.StatusOK)

	head, err := env.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Runtime.WaitFor(ctx, readmodel.Realm, head); err != nil {
		t.Fatal(err)
	}
	fresh := projectionstest.BuildLive(t, env.Store, env.Deps.Executor.Registry, head, projection.Projectors()...)
	live, replayed := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name), projectionstest.DumpFull(t, fresh, readmodel.Schema.Name)
	if !maps.Equal(live, replayed) {
		t.Fatalf("civic read models differ after a replay:\n live     %v\n replayed %v", live, replayed)
	}
}

func TestBootstrapIsIdempotent(t *testing.T) {
	if err := env.Dialect.Bootstrap(t.Context()); err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	var admins int
	if err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM civic.users WHERE lower(email) = lower($1)`, env.Admin.Email).Scan(&admins); err != nil {
		t.Fatal(err)
	}
	if admins != 1 {
		t.Fatalf("%d accounts hold the admin email, want 1", admins)
	}
}
