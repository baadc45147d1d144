package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/config"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/feed"
	"github.com/annals-dev/annals/adapters/kafka/relay"
	"github.com/annals-dev/annals/adapters/mail"
	"github.com/annals-dev/annals/adapters/postgres"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/esdb"
	pgstore "github.com/annals-dev/annals/eventstore/postgres"
	"github.com/annals-dev/annals/projections"
	auditprojection "github.com/annals-dev/annals/projections/audit"
	auditreadmodel "github.com/annals-dev/annals/readmodels/audit"
)

// app is what the commands share: configuration, the database, the event
// store, the projection runtime, the dialects and, in a relay, the relay.
type app struct {
	cfg      config.Config
	roles    roles
	logger   *slog.Logger
	pool     *pgxpool.Pool
	store    eventstore.Store
	metrics  *prometheus.Registry
	runtime  *projections.Runtime
	dialects []kit.Dialect
	relay    *relay.Relay // nil unless the process has the relay role
	// closers run in reverse order on close.
	closers []func()
}

// builder builds the dialects a binary serves from the dependencies of
// each (see dialects).
type builder func(deps func(name string) kit.Deps) []kit.Dialect

// options say what to open.
type options struct {
	// only, when set, keeps that one dialect, served at the root.
	only  string
	roles roles
	build builder
}

// open builds the app.
func open(ctx context.Context, cfg config.Config, opts options, stderr io.Writer) (_ *app, err error) {
	a := &app{
		cfg:     cfg,
		roles:   opts.roles,
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
	if err := a.openRuntime(registry); err != nil {
		return nil, err
	}
	if a.dialects, err = a.buildDialects(registry, opts.build, opts.only); err != nil {
		return nil, err
	}
	for _, d := range a.dialects {
		if err := a.runtime.Register(append(d.Projectors(), auditprojection.Projector(d.Name()))...); err != nil {
			return nil, fmt.Errorf("dialect %s: %w", d.Name(), err)
		}
	}
	if a.roles.relay {
		if err := a.openRelay(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// openRuntime builds the projection runtime. A process without the
// projector role only observes the projectors that run elsewhere; one with
// it reads the log, or Kafka when so configured.
func (a *app) openRuntime(registry *kernel.Registry) error {
	cfg := projections.Config{
		Pool: a.pool, Store: a.store, Registry: registry, Logger: a.logger,
		Remote: !a.roles.projector,
	}
	// A relay alone has nothing to say about the projections.
	if a.roles.api || a.roles.projector {
		cfg.Metrics = a.metrics
	}
	if a.roles.projector && a.cfg.ProjectorSource == config.ProjectorSourceKafka {
		f, err := feed.New(feed.Config{
			Subscriber:   kafka.SubscriberConfig{Brokers: a.cfg.KafkaBrokers},
			TopicPattern: a.cfg.KafkaTopicPattern,
		}, a.kafkaLogger("kafka feed"))
		if err != nil {
			return err
		}
		if err := a.metrics.Register(f.LagCollector()); err != nil {
			return fmt.Errorf("kafka feed: register metrics: %w", err)
		}
		cfg.Feed = f
	}
	rt, err := projections.New(cfg)
	if err != nil {
		return err
	}
	a.runtime = rt
	return nil
}

// openRelay builds the relay and the publisher it writes through. Topics
// are created on first use where the brokers allow it; create them up front
// to choose their partitions and retention.
func (a *app) openRelay() error {
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: a.cfg.KafkaBrokers, AllowAutoTopicCreation: true},
		a.kafkaLogger("kafka publisher"))
	if err != nil {
		return err
	}
	a.closers = append(a.closers, func() {
		if err := pub.Close(); err != nil {
			a.logger.Warn("close kafka publisher", "error", err)
		}
	})
	a.relay, err = relay.New(relay.Config{TopicPattern: a.cfg.KafkaTopicPattern, Metrics: a.metrics}, a.store, a.pool, pub,
		watermill.NewSlogLogger(a.logger.With("component", "kafka relay")))
	return err
}

// kafkaLogger logs a Kafka client. Its routine messages, and the failures
// it retries by itself, are logged at info level: they go to debug here.
func (a *app) kafkaLogger(component string) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(a.logger.With("component", component),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
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
	server, err := d.Up(ctx)
	if err != nil {
		return "", fmt.Errorf("no ANNALS_DATABASE_URL and no PostgreSQL found: %w", err)
	}
	u, err := postgres.EnsureDatabase(ctx, server, "annals")
	if err != nil {
		return "", err
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

func (a *app) buildDialects(registry *kernel.Registry, build builder, only string) ([]kit.Dialect, error) {
	tokens, err := auth.NewTokens(a.cfg.JWTSecret, a.cfg.AccessTokenTTL, a.cfg.RefreshTokenTTL)
	if err != nil {
		return nil, err
	}
	mailer, err := mail.New(mail.Config{SMTPURL: a.cfg.SMTPURL, Dir: a.cfg.MailDir}, a.logger)
	if err != nil {
		return nil, err
	}
	executor := commands.NewExecutor(a.store, registry)
	metrics, err := newCommandMetrics(a.metrics)
	if err != nil {
		return nil, err
	}
	executor.Observe = metrics.observe
	base := kit.Deps{
		Executor:  executor,
		Pool:      a.pool,
		Waiter:    a.runtime,
		Tokens:    tokens,
		Passwords: auth.Passwords{Cost: a.cfg.BcryptCost},
		Mail:      mailer,
		Admin:     kit.Admin{Email: a.cfg.AdminEmail, Password: a.cfg.AdminPassword},
	}
	all := build(func(name string) kit.Deps {
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
// checkpoints', the Kafka relay's, the action log's and each dialect's read
// models.
func (a *app) migrate(ctx context.Context) error {
	if m, ok := a.store.(interface{ Migrate(context.Context) error }); ok {
		if err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("event store: %w", err)
		}
	}
	if err := a.runtime.Migrate(ctx); err != nil {
		return err
	}
	if err := relay.Migrate(ctx, a.pool); err != nil {
		return err
	}
	if err := auditreadmodel.Migrate(ctx, a.pool); err != nil {
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
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	a, err := open(ctx, cfg, options{build: dialects}, stderr)
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
