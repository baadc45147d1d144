package auditapi_test

import (
	"maps"
	"net/http"
	"testing"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	projection "github.com/annals-dev/annals/projections/audit"
	"github.com/annals-dev/annals/projections/projectionstest"
	readmodel "github.com/annals-dev/annals/readmodels/audit"
)

// TestRebuildingTheLogReproducesIt replays every event of each environment
// (what the tests before it wrote, and an undo, a redo and a refusal of its
// own) through a fresh audit projector on a fresh database and compares
// every table of the log: it is derived from events alone.
func TestRebuildingTheLogReproducesIt(t *testing.T) {
	t.Run("sartiq", func(t *testing.T) {
		owner, other := sartiqSignup(t, "rebuilt"), sartiqSignup(t, "rebuilt-other")
		o := createOrg(t, owner, "Rebuilt")
		addMember(t, owner, o.ID, other.ID)
		added := undoLatest(t, sartiqEnv, owner.token, "organization_member", other.ID)
		redoAction(t, sartiqEnv, owner.token, added.ID)
		sartiqEnv.JSON(t, http.MethodDelete, orgPath(o.ID, ""), other.token, nil).Expect(t, http.StatusForbidden)
		expectRebuildReproduces(t, sartiqEnv)
	})
	t.Run("civic", func(t *testing.T) {
		admin := civicAdmin(t)
		role := civicCreate(t, admin, "/user-roles/", map[string]string{"name": "rebuilt"})
		u := civicSignup(t, role)
		civicEnv.JSON(t, http.MethodPut, civicAPI+"/users/"+u.ID, admin, map[string]any{"role": ""}).Expect(t, http.StatusOK)
		revoked := undoLatest(t, civicEnv, admin, "user", u.ID)
		redoAction(t, civicEnv, admin, revoked.ID)
		civicEnv.JSON(t, http.MethodPost, civicAPI+"/auth/login", "", map[string]string{"email": u.Email, "password": "wrong-password1"}).
			Expect(t, http.StatusUnauthorized)
		expectRebuildReproduces(t, civicEnv)
	})
}

func expectRebuildReproduces(t *testing.T, env *dialecttest.Env) {
	ctx := t.Context()
	realm := env.Dialect.Name()
	head, err := env.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Runtime.WaitFor(ctx, realm, head); err != nil {
		t.Fatal(err)
	}
	fresh := projectionstest.BuildLive(t, env.Store, env.Deps.Executor.Registry, head, projection.Projector(realm))
	live, replayed := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name), projectionstest.DumpFull(t, fresh, readmodel.Schema.Name)
	if !maps.Equal(live, replayed) {
		t.Fatalf("the action log differs after a rebuild:\n live     %v\n replayed %v", live, replayed)
	}
}
