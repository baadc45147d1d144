package auditapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/audit"
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
	fresh := pgtest.Pool(t, pgtest.New(t))
	rt, err := projections.New(projections.Config{Pool: fresh, Store: env.Store, Registry: env.Deps.Executor.Registry})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Register(projection.Projector(realm)); err != nil {
		t.Fatal(err)
	}
	if err := rt.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := readmodel.Migrate(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("replay runtime: %v", err)
		}
	}()
	if err := rt.WaitFor(ctx, realm, head); err != nil {
		t.Fatal(err)
	}
	for table, key := range map[string]string{"actions": "id", "parts": "action_id, stream", "streams": "stream"} {
		live, replayed := dumpTable(t, env.Pool, table, key), dumpTable(t, fresh, table, key)
		if live != replayed {
			t.Errorf("annals_audit.%s differs after the rebuild:\n live     %s\n replayed %s", table, live, replayed)
		}
		if live == "[]" {
			t.Errorf("annals_audit.%s is empty: the rebuild compared nothing", table)
		}
	}
}

// dumpTable renders a table of the log as JSON in key order.
func dumpTable(t *testing.T, pool *pgxpool.Pool, table, key string) string {
	t.Helper()
	var out string
	err := pool.QueryRow(t.Context(),
		`SELECT coalesce(json_agg(to_jsonb(r) ORDER BY `+key+`), '[]')::text FROM annals_audit.`+table+` r`).Scan(&out)
	if err != nil {
		t.Fatalf("dump annals_audit.%s: %v", table, err)
	}
	return out
}
