package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/sartiq"
	"github.com/annals-dev/annals/adapters/http/server"
	"github.com/annals-dev/annals/adapters/mail"
	"github.com/annals-dev/annals/commands"
	cmdorganization "github.com/annals-dev/annals/commands/organization"
	"github.com/annals-dev/annals/domain/kernel"
	pgstore "github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/projections"
)

// Token lifetimes of the bench's users: longer than any run.
const (
	accessTTL  = time.Hour
	refreshTTL = time.Hour
)

// served is the sartiq dialect as `annals serve --dialect sartiq` runs it
// (PostgreSQL event store, projection runtime reading the log, the HTTP
// server's middleware), listening on a loopback port.
type served struct {
	// url is the dialect's root, e.g. "http://127.0.0.1:41234".
	url     string
	runtime *projections.Runtime
	orgs    *cmdorganization.Organizations
	stop    func() error
}

// startServed builds the dialect on its own pool of the run's database.
func startServed(ctx context.Context, cfg Config, db *database) (_ *served, err error) {
	var closers closers
	defer func() {
		if err != nil {
			err = errors.Join(err, closers.close())
		}
	}()
	pool, err := db.openPool(ctx, cfg.PoolSize)
	if err != nil {
		return nil, err
	}
	closers.add(func() error { pool.Close(); return nil })
	store, err := pgstore.New(pool, pgstore.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	closers.add(func() error { store.Close(); return nil })
	if err := store.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("event store: %w", err)
	}

	registry := kernel.NewRegistry()
	runtime, err := projections.New(projections.Config{
		Pool: pool, Store: store, Registry: registry, Logger: cfg.Logger, Metrics: prometheus.NewRegistry(),
		// The lag figure waits for every command it issues, however late.
		WaitTimeout: time.Minute,
	})
	if err != nil {
		return nil, err
	}
	deps, err := dialectDeps(cfg, pool, commands.NewExecutor(store, registry), runtime)
	if err != nil {
		return nil, err
	}
	dialect := sartiq.New(deps)
	if err := runtime.Register(dialect.Projectors()...); err != nil {
		return nil, err
	}
	if err := runtime.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := dialect.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("sartiq read models: %w", err)
	}
	closers.add(runInBackground(runtime.Run))

	handler, err := server.New(server.Config{
		Dialects: []kit.Dialect{dialect}, AtRoot: true, Metrics: prometheus.NewRegistry(), Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	url, stopServer, err := listen(handler)
	if err != nil {
		return nil, err
	}
	closers.add(stopServer)
	return &served{url: url, runtime: runtime, orgs: cmdorganization.NewOrganizations(deps.Executor), stop: closers.close}, nil
}

// dialectDeps are the dialect's dependencies as `annals serve` builds
// them, with the run's password hashing cost.
func dialectDeps(cfg Config, pool *pgxpool.Pool, x *commands.Executor, waiter projections.Waiter) (kit.Deps, error) {
	tokens, err := auth.NewTokens(rand.Text()+rand.Text(), accessTTL, refreshTTL)
	if err != nil {
		return kit.Deps{}, err
	}
	mailer, err := mail.New(mail.Config{}, cfg.Logger)
	if err != nil {
		return kit.Deps{}, err
	}
	return kit.Deps{
		Executor:  x,
		Pool:      pool,
		Waiter:    waiter,
		Tokens:    tokens,
		Passwords: auth.Passwords{Cost: cfg.BcryptCost},
		Mail:      mailer,
		Logger:    cfg.Logger,
		PublicURL: "http://127.0.0.1",
	}, nil
}

// listen serves handler on a loopback port until the returned stop.
func listen(handler http.Handler) (url string, stop func() error, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		if err != nil {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// runInBackground runs f until the returned stop, which returns f's error.
func runInBackground(f func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// closers undo a setup in reverse order.
type closers []func() error

func (c *closers) add(f func() error) { *c = append(*c, f) }

func (c *closers) close() error {
	var errs []error
	for i := len(*c) - 1; i >= 0; i-- {
		errs = append(errs, (*c)[i]())
	}
	*c = nil
	return errors.Join(errs...)
}
