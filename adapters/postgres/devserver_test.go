package postgres

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
)

// newDevServer returns a DevServer whose state lives in a fresh directory
// the server's OS user can reach.
func newDevServer(t *testing.T, cfg DevServerConfig) *DevServer {
	t.Helper()
	parent, err := os.MkdirTemp("", "annals-devdb-test-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	// When tests run as root the cluster runs as the postgres user, which
	// must be able to enter the parent.
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatalf("chmod: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	cfg.StateDir = filepath.Join(parent, "cluster")
	cfg.NoInstall = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := NewDevServer(cfg)
	if err != nil {
		t.Fatalf("new dev server: %v", err)
	}
	return d
}

// closedURL points at a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return clusterURL(port)
}

func assertNoState(t *testing.T, d *DevServer) {
	t.Helper()
	if _, err := os.Stat(d.cfg.StateDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("state dir %s exists (%v); nothing should have been started", d.cfg.StateDir, err)
	}
}

func TestDevServerPrefersConfiguredURL(t *testing.T) {
	const configured = "postgres://someone@db.invalid:5432/annals"
	d := newDevServer(t, DevServerConfig{URL: configured, LocalURL: pgtest.ServerURL()})
	got, err := d.Up(t.Context())
	if err != nil || got != configured {
		t.Fatalf("up: %q, %v; want the configured URL", got, err)
	}
	assertNoState(t, d)
}

func TestDevServerUsesAnsweringLocalServer(t *testing.T) {
	d := newDevServer(t, DevServerConfig{LocalURL: pgtest.ServerURL()})
	got, err := d.Up(t.Context())
	if err != nil || got != pgtest.ServerURL() {
		t.Fatalf("up: %q, %v; want the local server", got, err)
	}
	assertNoState(t, d)
	if err := d.Down(t.Context()); err != nil {
		t.Fatalf("down without a cluster: %v", err)
	}
}

func TestDevServerStartsPrivateCluster(t *testing.T) {
	if _, err := findServerBinaries(); err != nil {
		t.Skipf("cannot start a private cluster here: %v", err)
	}
	d := newDevServer(t, DevServerConfig{LocalURL: closedURL(t)})
	ctx := t.Context()
	t.Cleanup(func() {
		if err := d.Down(context.Background()); err != nil {
			t.Errorf("down: %v", err)
		}
	})

	u, err := d.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to %s: %v", u, err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query: %v", err)
	}
	conn.Close(ctx)

	again, err := d.Up(ctx)
	if err != nil || again != u {
		t.Fatalf("second up: %q, %v; want the running cluster %q", again, err, u)
	}

	if err := d.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if d.answers(ctx, u) {
		t.Fatal("cluster still answers after down")
	}
	assertNoState(t, d)
	if err := d.Down(ctx); err != nil {
		t.Fatalf("second down: %v", err)
	}
}

func TestEnsureDatabaseCreatesOnceAndReuses(t *testing.T) {
	ctx := context.Background()
	name := "annals_ensure_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	server := pgtest.ServerURL()
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), server)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	first, err := EnsureDatabase(ctx, server, name)
	if err != nil {
		t.Fatal(err)
	}
	second, err := EnsureDatabase(ctx, server, name)
	if err != nil || second != first {
		t.Fatalf("second call: %q, %v; want %q", second, err, first)
	}
	conn, err := pgx.Connect(ctx, first)
	if err != nil {
		t.Fatalf("connect to the ensured database: %v", err)
	}
	defer conn.Close(ctx)
	var got string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&got); err != nil || got != name {
		t.Fatalf("current_database() = %q, %v; want %q", got, err, name)
	}
}
