package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/annals-dev/annals/adapters/postgres"
)

// ErrUsage matches the errors of a command line that could not be
// understood.
var ErrUsage = errors.New("invalid usage")

// usageError is a command line's fault; it matches ErrUsage.
type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

// Command is `annals bench [flags] [GROUP...]`: it finds the PostgreSQL
// server as `annals serve` does (ANNALS_DATABASE_URL, else a local server,
// else a private cluster), runs the groups named (all by default) and
// prints the report to stdout; progress goes to stderr.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the usage is printed
	}
	if err != nil {
		return err
	}
	if cfg.cpuProfile != "" {
		stop, err := profileCPU(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dev, err := postgres.NewDevServer(postgres.DevServerConfig{
		URL: os.Getenv("ANNALS_DATABASE_URL"), Logger: logger, Progress: stderr,
	})
	if err != nil {
		return err
	}
	if cfg.ServerURL, err = dev.Up(ctx); err != nil {
		return fmt.Errorf("bench: no PostgreSQL: %w", err)
	}
	cfg.Logger, cfg.Progress = logger, stderr
	report, err := Run(ctx, cfg.Config)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return report.Print(stdout)
}

// commandLine is the configuration and what only the command line sets.
type commandLine struct {
	Config
	// cpuProfile, when set, is where the run's CPU profile is written.
	cpuProfile string
}

func parseFlags(args []string, stderr io.Writer) (commandLine, error) {
	var cfg commandLine
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: annals bench [flags] [%s ...]\n\n", strings.Join(GroupNames(), " | "))
		flags.PrintDefaults()
	}
	flags.DurationVar(&cfg.Duration, "duration", 0, "one measurement slice (default 1s)")
	flags.IntVar(&cfg.Rounds, "rounds", 0, "slices per contender, taking turns with its ceiling (default 3)")
	flags.DurationVar(&cfg.Warmup, "warmup", 0, "uncounted slice before the rounds (default 250ms)")
	flags.IntVar(&cfg.MaxOps, "max-ops", 0, "most operations in one slice (default 10000)")
	flags.Var((*intList)(&cfg.Writers), "writers", "comma-separated numbers of concurrent appenders (default 1,16)")
	flags.IntVar(&cfg.Clients, "clients", 0, "concurrent HTTP clients (default 16)")
	flags.IntVar(&cfg.Rate, "rate", 0, "commands per second under which the projection lag is measured (default 500)")
	flags.IntVar(&cfg.RebuildEvents, "rebuild-events", 0, "about how many events the rebuilt log holds (default 100000)")
	flags.IntVar(&cfg.Organizations, "organizations", 0, "organizations the queries' caller is a member of (default 200)")
	flags.IntVar(&cfg.PoolSize, "pool", 0, "connections in each PostgreSQL pool (default 24)")
	flags.IntVar(&cfg.BcryptCost, "bcrypt-cost", 0, "password hashing cost of sign-ups (default 4, the minimum)")
	flags.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		return commandLine{}, err
	} else if err != nil {
		return commandLine{}, usageError{err}
	}
	cfg.Groups = flags.Args()
	// Validated here too, with the defaults, so that a bad command line
	// fails before any database is looked for.
	check := cfg.Config
	check.ServerURL = "unused"
	check.setDefaults()
	if err := check.Validate(); err != nil {
		return commandLine{}, usageError{err}
	}
	return cfg, nil
}

// intList is a flag of comma-separated integers.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, n := range *l {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	*l = nil
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("not a number: %q", part)
		}
		*l = append(*l, n)
	}
	return nil
}

// profileCPU profiles the process into path until stop.
func profileCPU(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
