package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
)

// logWatch collects a command's log and reports the first match of a
// pattern as soon as it is written.
type logWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	pattern *regexp.Regexp
	found   chan string
	sent    bool
}

func newLogWatch(pattern string) *logWatch {
	return &logWatch{pattern: regexp.MustCompile(pattern), found: make(chan string, 1)}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.pattern.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.found <- m[1]
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func setEnv(t *testing.T) *pgtest.Database {
	t.Helper()
	db := pgtest.New(t)
	t.Setenv("ANNALS_DATABASE_URL", db.URL)
	t.Setenv("ANNALS_HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("ANNALS_JWT_SECRET", "")
	return db
}

func TestServeAnswersAndStopsOnSignal(t *testing.T) {
	setEnv(t)
	logs := newLogWatch(`msg=serving addr=(\S+)`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil, logs) }()

	var addr string
	select {
	case addr = <-logs.found:
	case err := <-done:
		t.Fatalf("serve ended before serving: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start\n%s", logs)
	}
	for _, c := range []struct{ path, want string }{
		{"/healthz", `"ok"`},
		{"/readyz", `"ready"`},
		{"/metrics", `annals_http_request_duration_seconds_count{dialect="annals",method="GET",route="/healthz",status="200"} 1`},
	} {
		path, want := c.path, c.want
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %d %s, want 200 with %s", path, resp.StatusCode, body, want)
		}
	}
	if !strings.Contains(logs.String(), "ANNALS_JWT_SECRET is not set") {
		t.Error("no warning about the generated JWT secret")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still answering after stop")
	}
}

func TestMigrateCreatesSchemas(t *testing.T) {
	db := setEnv(t)
	if err := migrate(t.Context(), nil, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var checkpoints bool
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass('annals_projections.checkpoints') IS NOT NULL`).Scan(&checkpoints); err != nil || !checkpoints {
		t.Fatalf("checkpoints table: %v, %v", checkpoints, err)
	}
	var storeVersion int64
	if err := conn.QueryRow(t.Context(), `SELECT max(version_id) FROM annals_eventstore_migrations`).Scan(&storeVersion); err != nil || storeVersion < 1 {
		t.Fatalf("event store migrations: %d, %v", storeVersion, err)
	}
	// Running it again is a no-op.
	if err := migrate(t.Context(), nil, io.Discard); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

func TestCommandLine(t *testing.T) {
	t.Setenv("ANNALS_DATABASE_URL", "postgres://configured@db.invalid/annals")
	for _, tt := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: nil, code: 2, stderr: "no command"},
		{args: []string{"launch"}, code: 2, stderr: `unknown command "launch"`},
		{args: []string{"help"}, code: 0, stdout: "usage: annals"},
		{args: []string{"devdb"}, code: 2, stderr: "devdb takes up or down"},
		{args: []string{"devdb", "up"}, code: 0, stdout: "postgres://configured@db.invalid/annals\n"},
		{args: []string{"serve", "--nope"}, code: 2, stderr: "flag provided but not defined"},
		{args: []string{"migrate", "extra"}, code: 2, stderr: "migrate takes no arguments"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("annals %v: exit %d, stdout %q, stderr %q; want exit %d with %q / %q",
				tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestServeRejectsUnknownDialect(t *testing.T) {
	setEnv(t)
	err := serve(t.Context(), []string{"--dialect", "nope"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `no dialect "nope"`) {
		t.Fatalf("serve --dialect nope: %v", err)
	}
}
