package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/config"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/mail"
	"github.com/annals-dev/annals/adapters/postgres"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/esdb"
	pgstore "github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/projections"
)

// app is what the commands share: configuration, the database, the event
// store, the projection runtime and the dialects.
type app struct {
	cfg      config.Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	store    eventstore.Store
	metrics  *prometheus.Registry
	runtime  *projections.Runtime
	dialects []kit.Dialect
	// closers run in reverse order on close.
	closers []func()
}

// open builds the app. only, when set, keeps that one dialect and serves it
// at the root.
func open(ctx context.Context, only string, stderr io.Writer) (_ *app, err error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	a := &app{
		cfg:     cfg,
		logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})),
		metrics: prometheus.NewRegistry(),
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	url, err := a.databaseURL(ctx, stderr)
	if err != nil {
		return nil, err
	}
	if a.pool, err = postgres.Open(ctx, url); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.pool.Close)
	if err := a.openStore(); err != nil {
		return nil, err
	}

	registry := kernel.NewRegistry()
	a.runtime, err = projections.New(projections.Config{
		Pool: a.pool, Store: a.store, Registry: registry, Logger: a.logger, Metrics: a.metrics,
	})
	if err != nil {
		return nil, err
	}
	if a.dialects, err = a.buildDialects(registry, only); err != nil {
		return nil, err
	}
	for _, d := range a.dialects {
		if err := a.runtime.Register(d.Projectors()...); err != nil {
			return nil, fmt.Errorf("dialect %s: %w", d.Name(), err)
		}
	}
	return a, nil
}

// databaseURL is ANNALS_DATABASE_URL, or a server found or started on this
// machine.
func (a *app) databaseURL(ctx context.Context, stderr io.Writer) (string, error) {
	if a.cfg.DatabaseURL != "" {
		return a.cfg.DatabaseURL, nil
	}
	d, err := devServer("", a.logger, stderr)
	if err != nil {
		return "", err
	}
	u, err := d.Up(ctx)
	if err != nil {
		return "", fmt.Errorf("no ANNALS_DATABASE_URL and no PostgreSQL found: %w", err)
	}
	a.logger.Info("no ANNALS_DATABASE_URL: using a PostgreSQL on this machine (a private one stops with `annals devdb down`)", "url", u)
	return u, nil
}

func (a *app) openStore() error {
	switch a.cfg.EventStore {
	case config.EventStoreESDB:
		s, err := esdb.New(esdb.Config{URL: a.cfg.ESDBURL, Logger: a.logger})
		if err != nil {
			return err
		}
		a.store = s
		a.closers = append(a.closers, func() {
			if err := s.Close(); err != nil {
				a.logger.Warn("close event store", "error", err)
			}
		})
	default:
		s, err := pgstore.New(a.pool, pgstore.Config{Logger: a.logger})
		if err != nil {
			return err
		}
		a.store = s
		a.closers = append(a.closers, s.Close)
	}
	return nil
}

func (a *app) buildDialects(registry *kernel.Registry, only string) ([]kit.Dialect, error) {
	tokens, err := auth.NewTokens(a.cfg.JWTSecret, a.cfg.AccessTokenTTL, a.cfg.RefreshTokenTTL)
	if err != nil {
		return nil, err
	}
	mailer, err := mail.New(mail.Config{SMTPURL: a.cfg.SMTPURL, Dir: a.cfg.MailDir}, a.logger)
	if err != nil {
		return nil, err
	}
	base := kit.Deps{
		Executor:  commands.NewExecutor(a.store, registry),
		Pool:      a.pool,
		Waiter:    a.runtime,
		Tokens:    tokens,
		Passwords: auth.Passwords{Cost: a.cfg.BcryptCost},
		Mail:      mailer,
		Admin:     kit.Admin{Email: a.cfg.AdminEmail, Password: a.cfg.AdminPassword},
	}
	all := dialects(func(name string) kit.Deps {
		deps := base
		deps.Logger = a.logger.With("dialect", name)
		deps.PublicURL = a.cfg.PublicURL
		if name != only {
			deps.PublicURL += "/" + name
		}
		return deps
	})
	if only == "" {
		return all, nil
	}
	i := slices.IndexFunc(all, func(d kit.Dialect) bool { return d.Name() == only })
	if i < 0 {
		names := make([]string, len(all))
		for j, d := range all {
			names[j] = d.Name()
		}
		return nil, fmt.Errorf("%w: no dialect %q (built: %s)", errUsage, only, strings.Join(names, ", "))
	}
	return all[i : i+1], nil
}

// migrate brings every schema up to date: the event store's, the
// checkpoints' and each dialect's read models.
func (a *app) migrate(ctx context.Context) error {
	if m, ok := a.store.(interface{ Migrate(context.Context) error }); ok {
		if err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("event store: %w", err)
		}
	}
	if err := a.runtime.Migrate(ctx); err != nil {
		return err
	}
	for _, d := range a.dialects {
		if err := d.Migrate(ctx); err != nil {
			return fmt.Errorf("dialect %s: %w", d.Name(), err)
		}
	}
	return nil
}

func (a *app) close() {
	for _, c := range slices.Backward(a.closers) {
		c()
	}
}

// migrate is the migrate command.
func migrate(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	a, err := open(ctx, "", stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	a.logger.Info("schemas are up to date")
	return nil
}
