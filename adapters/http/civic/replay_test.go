package civic_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/civic"
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
	fresh := pgtest.Pool(t, pgtest.New(t))
	rt, err := projections.New(projections.Config{Pool: fresh, Store: env.Store, Registry: env.Deps.Executor.Registry})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Register(projection.Projectors()...); err != nil {
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
	if err := rt.WaitFor(ctx, readmodel.Realm, head); err != nil {
		t.Fatal(err)
	}

	for _, table := range []string{"users", "roles", "user_roles", "modules", "module_roles", "communities", "community_members", "join_requests"} {
		live, replayed := dump(t, env.Pool, table), dump(t, fresh, table)
		if live != replayed {
			t.Errorf("civic.%s differs after replay:\n live     %s\n replayed %s", table, live, replayed)
		}
		if live == "[]" {
			t.Errorf("civic.%s is empty: the replay compared nothing", table)
		}
	}
}

// dump renders a civic table's rows as JSON in listing order, without the
// seq values, which only order rows.
func dump(t *testing.T, pool *pgxpool.Pool, table string) string {
	t.Helper()
	var out string
	err := pool.QueryRow(t.Context(),
		`SELECT coalesce(json_agg(to_jsonb(r) - 'seq' ORDER BY r.seq), '[]')::text FROM civic.`+table+` r`).Scan(&out)
	if err != nil {
		t.Fatalf("dump civic.%s: %v", table, err)
	}
	return out
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
