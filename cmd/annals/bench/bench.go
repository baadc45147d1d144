// Package bench measures Annals against this machine's own ceilings: every
// figure (append throughput, HTTP command and query throughput and latency,
// projection lag) is printed beside the same work done the simplest way — a
// raw INSERT, a bare chi+pgx handler — measured in the same run, because
// absolute numbers drift from machine to machine and from minute to minute
// on a shared one.
//
// A run works in a throwaway database it creates on the configured server
// and drops at the end, serves HTTP on loopback ports only, and stops by
// itself: every measurement is bounded in time and in operations.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// Config says what to measure and how long.
type Config struct {
	// ServerURL is the PostgreSQL server; the run creates its own database
	// there. Required.
	ServerURL string
	// Groups selects figure groups by name (see GroupNames); empty: all.
	Groups []string
	// Duration is one measurement slice; each contender gets Rounds of
	// them, taking turns with its ceiling. Default 1s, 3 rounds.
	Duration time.Duration
	Rounds   int
	// Warmup is an uncounted slice before the rounds. Default 250ms.
	Warmup time.Duration
	// MaxOps bounds the operations of one slice, whatever its duration.
	// Default 10000.
	MaxOps int
	// Writers are the numbers of concurrent appenders. Default 1 and 16.
	Writers []int
	// Clients is the number of concurrent HTTP clients. Default 16.
	Clients int
	// Rate is the command rate the projection lag is measured under, per
	// second. Default 500.
	Rate int
	// RebuildEvents is about how many events the log a rebuild replays
	// holds. Default 100000.
	RebuildEvents int
	// Organizations is how many organizations the queries' caller is a
	// member of; the lists page through them. Default 200.
	Organizations int
	// PoolSize is the connection pool size of Annals and of the ceilings
	// alike. Default 24.
	PoolSize int
	// BcryptCost is the password hashing cost of sign-ups, in the dialect
	// and the ceiling alike. Default bcrypt's minimum, so that the sign-up
	// figure measures the architecture rather than the hash.
	BcryptCost int
	// Logger receives the warnings of the parts under measurement. Default:
	// warnings and errors to stderr.
	Logger *slog.Logger
	// Progress receives a line as each measurement starts; nil: none.
	Progress io.Writer
}

func (c *Config) setDefaults() {
	setDefault(&c.Duration, time.Second)
	setDefault(&c.Rounds, 3)
	setDefault(&c.Warmup, 250*time.Millisecond)
	setDefault(&c.MaxOps, 10000)
	setDefault(&c.Clients, 16)
	setDefault(&c.Rate, 500)
	setDefault(&c.RebuildEvents, 100000)
	setDefault(&c.Organizations, 200)
	setDefault(&c.PoolSize, 24)
	setDefault(&c.BcryptCost, bcrypt.MinCost)
	if len(c.Writers) == 0 {
		c.Writers = []int{1, 16}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.ServerURL == "" {
		errs = append(errs, errors.New("server url is required"))
	}
	for _, g := range c.Groups {
		if !slices.Contains(GroupNames(), g) {
			errs = append(errs, fmt.Errorf("no figure group %q (have %s)", g, strings.Join(GroupNames(), ", ")))
		}
	}
	for _, p := range []struct {
		name  string
		value int
	}{
		{"rounds", c.Rounds}, {"max ops", c.MaxOps}, {"clients", c.Clients}, {"rate", c.Rate}, {"pool size", c.PoolSize},
		{"rebuild events", c.RebuildEvents},
	} {
		if p.value <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", p.name, p.value))
		}
	}
	for _, n := range c.Writers {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("writers must be positive, got %d", n))
		}
	}
	if c.Organizations <= pageSize {
		errs = append(errs, fmt.Errorf("organizations must be more than a page (%d), got %d", pageSize, c.Organizations))
	}
	if c.Duration <= 0 || c.Warmup < 0 {
		errs = append(errs, errors.New("duration must be positive and warm-up not negative"))
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		errs = append(errs, fmt.Errorf("bcrypt cost must be within %d..%d, got %d", bcrypt.MinCost, bcrypt.MaxCost, c.BcryptCost))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench config: %w", err)
	}
	return nil
}

// group is a set of figures measured together.
type group struct {
	name string
	run  func(s *session, ctx context.Context) (Report, error)
}

// groups in the order a full run measures them. Queries come before
// commands so that the lists they read hold only the organizations seeded
// for them.
var groups = []group{
	{name: "append", run: (*session).appends},
	{name: "queries", run: (*session).queries},
	{name: "commands", run: (*session).commands},
	{name: "lag", run: (*session).lag},
	{name: "rebuild", run: (*session).rebuild},
}

// GroupNames are the figure groups a run may select.
func GroupNames() []string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.name
	}
	return names
}

// session is one run: its database, the pool the ceilings use, and the
// dialect, started when a group first needs it.
type session struct {
	cfg  Config
	db   *database
	pool *pgxpool.Pool
	// http keeps as many idle connections per server as there are clients.
	http       *http.Client
	served     *served
	ceilingURL string
	// closers stop what the groups started, in reverse order.
	closers closers
}

// Run measures the selected groups and returns their figures. It creates
// its database first and drops it before returning.
func Run(ctx context.Context, cfg Config) (_ Report, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	db, err := createDatabase(ctx, cfg.ServerURL)
	if err != nil {
		return Report{}, err
	}
	// Dropped even when the run is interrupted.
	defer func() { err = errors.Join(err, db.drop(context.WithoutCancel(ctx))) }()
	s := &session{cfg: cfg, db: db, http: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.Clients, DisableCompression: true,
	}}}
	defer func() { err = errors.Join(err, s.close()) }()
	if s.pool, err = db.openPool(ctx, cfg.PoolSize); err != nil {
		return Report{}, err
	}
	if err := createCeilingSchema(ctx, s.pool); err != nil {
		return Report{}, err
	}
	version, err := serverVersion(ctx, s.pool)
	if err != nil {
		return Report{}, err
	}
	report := Report{Notes: []string{fmt.Sprintf(
		"machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s; PostgreSQL %s; %d rounds of %s per contender, pools of %d connections",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), version,
		cfg.Rounds, cfg.Duration, cfg.PoolSize)}}
	for _, g := range groups {
		if len(cfg.Groups) > 0 && !slices.Contains(cfg.Groups, g.name) {
			continue
		}
		r, err := g.run(s, ctx)
		if err != nil {
			return Report{}, fmt.Errorf("%s: %w", g.name, err)
		}
		report.add(r.Figures, r.Notes...)
	}
	return report, nil
}

// dialect returns the served dialect, starting it on first use.
func (s *session) dialect(ctx context.Context) (*served, error) {
	if s.served == nil {
		d, err := startServed(ctx, s.cfg, s.db)
		if err != nil {
			return nil, fmt.Errorf("start sartiq: %w", err)
		}
		s.served = d
		s.closers.add(d.stop)
	}
	return s.served, nil
}

func (s *session) close() error {
	err := s.closers.close()
	s.http.CloseIdleConnections()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

func (s *session) progress(format string, args ...any) {
	fmt.Fprintf(s.cfg.Progress, "bench: "+format+"\n", args...)
}
