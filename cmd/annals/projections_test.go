package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/annals-dev/annals/projections"
)

// annals runs the command line and returns its exit code and output.
func annals(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the command line and fails the test unless it succeeds.
func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := annals(t, args...)
	if code != 0 {
		t.Fatalf("annals %v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
	return stdout, stderr
}

// jsonLines decodes one JSON object per line of out.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var values []T
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("decode %q: %v", sc.Text(), err)
		}
		values = append(values, v)
	}
	return values
}

func TestProjectionsAndEventsCommands(t *testing.T) {
	setEnv(t)
	t.Setenv("ANNALS_ADMIN_EMAIL", "admin@example.com")
	t.Setenv("ANNALS_ADMIN_PASSWORD", "admin-password")
	s := startServe(t, dialects)
	s.getUntil(t, "/readyz", `"ready"`)
	// The bootstrap's commands are measured, and so are the projectors.
	s.getUntil(t, "/metrics", `annals_command_duration_seconds_count{command="EnsureSuperuser",outcome="done",realm="civic"}`,
		`annals_events_appended_total{realm="sartiq"}`, `annals_projection_parked_events{projector="sartiq.users"} 0`,
		`annals_projection_lag_events{projector="civic.access"}`)

	list, _ := mustRun(t, "projections", "list")
	for _, want := range []string{"PROJECTOR", "sartiq.users", "sartiq.organizations", "civic.users", "civic.access", "civic.communities"} {
		if !strings.Contains(list, want) {
			t.Errorf("projections list lacks %q:\n%s", want, list)
		}
	}

	status, _ := mustRun(t, "projections", "status", "--json", "sartiq")
	statuses := jsonLines[projections.Status](t, status)
	var names []string
	for _, st := range statuses {
		names = append(names, st.Name)
		if st.Schema != "sartiq" || st.Version != 1 || st.Head.Commit == 0 {
			t.Errorf("status of %s: %+v", st.Name, st)
		}
	}
	if !slices.Equal(names, []string{"sartiq.users", "sartiq.organizations"}) {
		t.Fatalf("status of the sartiq schema shows %v", names)
	}

	_, progress := mustRun(t, "projections", "rebuild", "sartiq.users")
	if !strings.Contains(progress, "rebuild sartiq.users: swapped in after") {
		t.Errorf("rebuild's progress:\n%s", progress)
	}
	_, progress = mustRun(t, "projections", "rebuild", "--all")
	for _, schema := range []string{"sartiq", "civic"} {
		if !strings.Contains(progress, "rebuild "+schema+": swapped in after") {
			t.Errorf("rebuild --all did not swap %s in:\n%s", schema, progress)
		}
	}
	// Serving goes on over the rebuilt schemas.
	s.getUntil(t, "/readyz", `"ready"`)
	if out, _ := mustRun(t, "projections", "retry", "civic"); out != "civic: 0 applied, 0 still failing\n" {
		t.Errorf("retry with nothing parked: %q", out)
	}

	type line struct {
		Position string
		Stream   string
		Version  int64
		Type     string
		Data     map[string]any
		Metadata map[string]any
	}
	out, _ := mustRun(t, "events", "tail", "--from", "start", "--type", "identity.UserRegistered", "-n", "2")
	registered := jsonLines[line](t, out)
	if len(registered) != 2 || registered[0].Type != "identity.UserRegistered" || registered[0].Data["email"] != "admin@example.com" ||
		registered[0].Metadata["realm"] == nil {
		t.Fatalf("tail of registrations: %+v", registered)
	}
	stream := registered[1].Stream
	out, _ = mustRun(t, "events", "tail", "--from", "start", "--stream", stream, "-n", "1")
	if got := jsonLines[line](t, out); len(got) != 1 || got[0].Stream != stream || got[0].Position != registered[1].Position {
		t.Fatalf("tail of stream %s: %+v", stream, got)
	}
	out, _ = mustRun(t, "events", "show", stream)
	shown := jsonLines[line](t, out)
	if len(shown) == 0 || shown[0].Version != 0 || shown[0].Type != "identity.UserRegistered" {
		t.Fatalf("show %s: %+v", stream, shown)
	}
	for i, e := range shown {
		if e.Stream != stream || e.Version != int64(i) {
			t.Fatalf("show %s: event %d is %+v", stream, i, e)
		}
	}
	if code, _, stderr := annals(t, "events", "show", "sartiq:user-nobody"); code != 1 || !strings.Contains(stderr, "has no events") {
		t.Errorf("show of a missing stream: exit %d, %s", code, stderr)
	}
	if code, _, stderr := annals(t, "projections", "rebuild", "nothing"); code != 1 || !strings.Contains(stderr, `no read-model schema or projector named "nothing"`) {
		t.Errorf("rebuild of an unknown name: exit %d, %s", code, stderr)
	}
}

func TestProjectionsAndEventsUsage(t *testing.T) {
	// Checked before any database is looked for.
	t.Setenv("ANNALS_DATABASE_URL", "postgres://configured@db.invalid/annals")
	clearKafka(t)
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"projections"}, "projections needs list, status, rebuild or retry"},
		{[]string{"projections", "drop"}, `unknown projections command "drop"`},
		{[]string{"projections", "list", "x"}, "projections list takes no arguments"},
		{[]string{"projections", "rebuild"}, "needs a schema or projector name, or --all"},
		{[]string{"projections", "rebuild", "--all", "sartiq"}, "give names or --all, not both"},
		{[]string{"projections", "retry"}, "needs one projector or schema name"},
		{[]string{"events"}, "events needs tail or show"},
		{[]string{"events", "tail", "extra"}, "events tail takes flags only"},
		{[]string{"events", "tail", "--from", "later"}, "--from"},
		{[]string{"events", "show"}, "events show needs one stream name"},
	} {
		if code, _, stderr := annals(t, tt.args...); code != 2 || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("annals %v: exit %d, stderr %q; want exit 2 with %q", tt.args, code, stderr, tt.stderr)
		}
	}
}
