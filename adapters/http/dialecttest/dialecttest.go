// Package dialecttest runs one dialect the way `annals serve --dialect NAME`
// does — event store, projection runtime, migrations, bootstrap, the HTTP
// server's middleware — on a throwaway PostgreSQL database, and gives its
// tests small request helpers. It knows nothing of any dialect: each test
// package starts one environment in TestMain and talks HTTP to it.
package dialecttest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/server"
	"github.com/annals-dev/annals/adapters/mail"
	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
	"github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/projections"
	auditprojection "github.com/annals-dev/annals/projections/audit"
	auditreadmodel "github.com/annals-dev/annals/readmodels/audit"
)

// StoreFactory opens the event store an environment writes to; the pool is
// the environment's database, for backends that keep events there. close
// releases what the store holds.
type StoreFactory func(ctx context.Context, pool *pgxpool.Pool) (store eventstore.Store, close func(), err error)

// Postgres is the default backend: events in the environment's database.
func Postgres(ctx context.Context, pool *pgxpool.Pool) (eventstore.Store, func(), error) {
	s, err := postgres.New(pool, postgres.Config{})
	if err != nil {
		return nil, nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, s.Close, nil
}

// Memory keeps events in the test process.
func Memory(context.Context, *pgxpool.Pool) (eventstore.Store, func(), error) {
	return memory.New(), func() {}, nil
}

// Options tune an environment; the zero value is a sensible default.
type Options struct {
	// NewStore opens the event store; when nil, the one StoreEnv names.
	NewStore StoreFactory
	// Admin is the superuser Bootstrap creates; DefaultAdmin when empty.
	Admin kit.Admin
	// Logger receives the environment's logs; warnings and errors go to
	// stderr when nil, so that a failing test shows why.
	Logger *slog.Logger
}

// DefaultAdmin is the superuser of an environment without Options.Admin.
var DefaultAdmin = kit.Admin{Email: "admin@example.com", Password: "admin-password"}

// Test settings: quick hashing, and a pool large enough for the
// concurrency tests next to the runtime's and the store's connections.
const (
	bcryptCost      = 4
	maxConns        = 32
	accessTokenTTL  = time.Hour
	refreshTokenTTL = 24 * time.Hour
)

// Env is a running dialect.
type Env struct {
	// URL is the base URL the dialect is served at, with its seed's paths.
	URL     string
	Dialect kit.Dialect
	Deps    kit.Deps
	// Store is the event store the dialect writes to.
	Store   eventstore.Store
	Runtime *projections.Runtime
	// Database is the throwaway database; Pool is connected to it.
	Database *pgtest.Database
	Pool     *pgxpool.Pool
	// Outbox holds the mail the dialect sent.
	Outbox *Outbox
	Admin  kit.Admin

	// tracked is Store, seen as what it is.
	tracked  *trackedStore
	teardown teardown
}

// Start creates a database named after name and runs the dialect that build
// makes on it. Close stops everything and drops the database.
func Start[D kit.Dialect](ctx context.Context, name string, build func(kit.Deps) D, opts Options) (env *Env, err error) {
	if err := opts.defaults(); err != nil {
		return nil, fmt.Errorf("dialecttest: %w", err)
	}
	env = &Env{Admin: opts.Admin, Outbox: &Outbox{}}
	// A failed step returns a nil env; tear down what was built through a
	// reference of our own.
	built := env
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("dialecttest: start %s: %w", name, err), built.teardown.run())
		}
	}()

	if env.Database, err = pgtest.Create(ctx, name); err != nil {
		return nil, err
	}
	env.teardown.add(func() error { return env.Database.Drop(context.Background()) })
	if env.Pool, err = openPool(ctx, env.Database.URL); err != nil {
		return nil, err
	}
	env.teardown.add(func() error { env.Pool.Close(); return nil })
	backend, closeStore, err := opts.NewStore(ctx, env.Pool)
	if err != nil {
		return nil, fmt.Errorf("event store: %w", err)
	}
	env.teardown.add(func() error { closeStore(); return nil })
	store := &trackedStore{Store: backend}
	env.Store, env.tracked = store, store

	registry := kernel.NewRegistry()
	env.Runtime, err = projections.New(projections.Config{
		Pool: env.Pool, Store: store, Registry: registry, Logger: opts.Logger, Metrics: prometheus.NewRegistry(),
		RetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(randomSecret(), accessTokenTTL, refreshTokenTTL)
	if err != nil {
		return nil, err
	}
	env.Deps = kit.Deps{
		Executor:  commands.NewExecutor(store, registry),
		Pool:      env.Pool,
		Waiter:    env.Runtime,
		Tokens:    tokens,
		Passwords: auth.Passwords{Cost: bcryptCost},
		Mail:      env.Outbox,
		Logger:    opts.Logger,
		Admin:     opts.Admin,
		PublicURL: "http://dialecttest.invalid",
	}
	env.Dialect = build(env.Deps)

	if err := env.Runtime.Register(append(env.Dialect.Projectors(), auditprojection.Projector(env.Dialect.Name()))...); err != nil {
		return nil, err
	}
	if err := env.Runtime.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := auditreadmodel.Migrate(ctx, env.Pool); err != nil {
		return nil, err
	}
	if err := env.Dialect.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := env.Dialect.Bootstrap(ctx); err != nil {
		return nil, err
	}
	if err := env.runProjections(ctx); err != nil {
		return nil, err
	}

	handler, err := server.New(server.Config{
		Dialects: []kit.Dialect{env.Dialect}, AtRoot: true, Metrics: prometheus.NewRegistry(), Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(handler)
	env.URL = srv.URL
	env.teardown.add(func() error { srv.Close(); return nil })
	return env, nil
}

// runProjections starts the runtime and waits until the read models show
// everything written so far (the bootstrap's superuser), as /readyz would.
func (e *Env) runProjections(ctx context.Context) error {
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Runtime.Run(runCtx) }()
	e.teardown.add(func() error {
		stop()
		if err := <-done; err != nil {
			return fmt.Errorf("projection runtime: %w", err)
		}
		return nil
	})
	return e.Settle(ctx)
}

// Settle waits until the dialect's read models include every event
// appended through the environment so far.
func (e *Env) Settle(ctx context.Context) error {
	written := e.tracked.written()
	if err := e.Runtime.WaitFor(ctx, e.Dialect.Name(), written); err != nil {
		return fmt.Errorf("dialecttest: settle at %s: %w", written, err)
	}
	return nil
}

// Close stops the server, the runtime and the store and drops the database.
func (e *Env) Close() error { return e.teardown.run() }

func (o *Options) defaults() error {
	if o.NewStore == nil {
		f, err := StoreFromEnv()
		if err != nil {
			return err
		}
		o.NewStore = f
	}
	if o.Admin == (kit.Admin{}) {
		o.Admin = DefaultAdmin
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return nil
}

func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return pool, nil
}

// randomSecret gives each environment its own JWT secret, so a token of
// one never passes in another. Two rand.Text values make 52 characters,
// over the 32 bytes a secret needs.
func randomSecret() string { return rand.Text() + rand.Text() }

// teardown runs cleanups in the reverse order they were added.
type teardown struct {
	mu    sync.Mutex
	steps []func() error
}

func (t *teardown) add(step func() error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, step)
}

func (t *teardown) run() error {
	t.mu.Lock()
	steps := t.steps
	t.steps = nil
	t.mu.Unlock()
	var errs []error
	for i := len(steps) - 1; i >= 0; i-- {
		errs = append(errs, steps[i]())
	}
	return errors.Join(errs...)
}

// trackedStore remembers how far appends have gone. The log's Head is not
// enough to wait for: it is what readers can see, and a commit may become
// visible only after an unrelated transaction on the server ends.
type trackedStore struct {
	eventstore.Store
	mu   sync.Mutex
	last eventstore.Position
}

var _ eventstore.Store = (*trackedStore)(nil)

func (s *trackedStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events)
	if err == nil {
		s.mu.Lock()
		if s.last.Less(res.Position) {
			s.last = res.Position
		}
		s.mu.Unlock()
	}
	return res, err
}

func (s *trackedStore) written() eventstore.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Outbox is a mail.Sender that keeps what it is given.
type Outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

var _ mail.Sender = (*Outbox)(nil)

// Send keeps the message.
func (o *Outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

// Sent returns the messages sent so far, oldest first.
func (o *Outbox) Sent() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]mail.Message(nil), o.sent...)
}
