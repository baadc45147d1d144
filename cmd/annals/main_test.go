package main

import (
	"bytes"
	"context"
	"errors"
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
	clearKafka(t)
	return db
}

// started is a serve command running in the test.
type started struct {
	addr string
	logs *logWatch
	// stop cancels the command's context and returns its error.
	stop func() error
}

// startServe runs serve with args until stop is called or the test ends,
// and waits until it serves.
func startServe(t *testing.T, build builder, args ...string) *started {
	t.Helper()
	logs := newLogWatch(`msg=serving addr=(\S+)`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveDialects(ctx, args, logs, build) }()
	s := &started{logs: logs}
	select {
	case s.addr = <-logs.found:
	case err := <-done:
		cancel()
		t.Fatalf("serve %v ended before serving: %v\n%s", args, err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve %v did not start\n%s", args, logs)
	}
	var once sync.Once
	var result error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(30 * time.Second):
				result = errors.New("serve did not stop")
			}
		})
		return result
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve %v: %v\n%s", args, err, logs)
		}
	})
	return s
}

// get answers the status and body of a GET.
func (s *started) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// getUntil repeats a GET until it answers 200 with a body containing each
// of want, failing the test after a bound: readiness and some metrics
// follow the work a little later.
func (s *started) getUntil(t *testing.T, path string, want ...string) string {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		code, body := s.get(t, path)
		if code == http.StatusOK && containsAll(body, want) {
			return body
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("GET %s: %d %s, want 200 with %q", path, code, body, want)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestServeAnswersAndStopsOnSignal(t *testing.T) {
	setEnv(t)
	s := startServe(t, dialects)
	s.getUntil(t, "/healthz", `"ok"`)
	s.getUntil(t, "/readyz", `"ready"`)
	s.getUntil(t, "/metrics", `annals_http_request_duration_seconds_count{dialect="annals",method="GET",route="/healthz",status="200"} 1`)
	if !strings.Contains(s.logs.String(), "ANNALS_JWT_SECRET is not set") {
		t.Error("no warning about the generated JWT secret")
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.logs)
	}
	if _, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
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
	for _, table := range []string{"annals_projections.checkpoints", "annals_projections.stream_versions", "annals_kafka_relay.checkpoints"} {
		var exists bool
		if err := conn.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Fatalf("table %s: %v, %v", table, exists, err)
		}
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

// clearKafka keeps the tests from the environment's Kafka settings.
func clearKafka(t *testing.T) {
	t.Helper()
	for _, name := range []string{"ANNALS_KAFKA_BROKERS", "ANNALS_KAFKA_TOPIC_PATTERN", "ANNALS_PROJECTOR_SOURCE"} {
		t.Setenv(name, "")
	}
}

func TestCommandLine(t *testing.T) {
	t.Setenv("ANNALS_DATABASE_URL", "postgres://configured@db.invalid/annals")
	clearKafka(t)
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
		{args: []string{"serve", "--role", "chef"}, code: 2, stderr: `unknown role "chef"`},
		{args: []string{"serve", "--role", "relay"}, code: 1, stderr: "the relay role needs ANNALS_KAFKA_BROKERS"},
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
