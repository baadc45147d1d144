package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
)

// TestRunPrintsEveryFigure runs every group with tiny bounds and checks
// that the report has each figure with its ceiling and ratio. It says
// nothing about speed: it keeps the bench working.
func TestRunPrintsEveryFigure(t *testing.T) {
	cfg := Config{
		ServerURL: pgtest.ServerURL(),
		Duration:  40 * time.Millisecond, Rounds: 1, Warmup: 10 * time.Millisecond, MaxOps: 40,
		Writers: []int{1, 2}, Clients: 2, Rate: 100, Organizations: pageSize + 5, RebuildEvents: 200, PoolSize: 8,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	report, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var out bytes.Buffer
	if err := report.Print(&out); err != nil {
		t.Fatalf("print: %v", err)
	}
	t.Log("\n" + out.String())

	var want []string
	for _, n := range cfg.Writers {
		for _, backend := range []string{"postgres", "memory", "esdb-double"} {
			want = append(want, fmt.Sprintf("append %s, %s", backend, writers(n)))
		}
	}
	for _, http := range []string{"query organization by id", "query organizations, page of 20", "command create organization", "command signup"} {
		for _, part := range []string{"throughput", "latency p50", "latency p99"} {
			want = append(want, http+", "+part)
		}
	}
	want = append(want, "projection lag at 100 commands/s, p50", "projection lag at 100 commands/s, p99")

	for _, name := range want {
		if _, ok := figure(report, name); !ok {
			t.Errorf("no figure %q", name)
		}
	}
	lines := strings.Split(out.String(), "\n")
	for _, f := range report.Figures {
		if r := f.Ratio(); f.Value <= 0 || f.Ceiling <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			t.Errorf("%s: value %v, ceiling %v, ratio %v", f.Name, f.Value, f.Ceiling, r)
		}
		if !printed(lines, f.Name, fmt.Sprintf("%.2f", f.Ratio()), f.CeilingName) {
			t.Errorf("%q is not printed with its ceiling and ratio", f.Name)
		}
	}
	if !strings.Contains(out.String(), "ratio") {
		t.Error("the report does not say what the ratio is")
	}
}

func TestConfigRefusesNonsense(t *testing.T) {
	cfg := Config{ServerURL: "postgres://localhost/x", Groups: []string{"nope"}, Rounds: -1, Organizations: pageSize}
	cfg.setDefaults()
	err := cfg.Validate()
	for _, want := range []string{`no figure group "nope"`, "rounds must be positive", "organizations must be more than a page"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want it to say %q", err, want)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	for _, args := range [][]string{{"-rounds", "x"}, {"-writers", "1,a"}, {"nope"}} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("bench %v: %v, want a usage error", args, err)
		}
	}
}

func figure(r Report, name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// printed reports whether a line holds the name and every part.
func printed(lines []string, name string, parts ...string) bool {
	for _, l := range lines {
		if !strings.HasPrefix(l, name+" ") {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				return false
			}
		}
		return true
	}
	return false
}
