package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/annals-dev/annals/adapters/config"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/server"
)

const (
	// shutdownTimeout bounds how long requests in flight may take to finish
	// once a stop signal arrived.
	shutdownTimeout = 20 * time.Second
	// readyMaxLag is how many events behind the log the read models may be
	// while the server still reports ready.
	readyMaxLag = 100
)

// serve is the serve command with the dialects this binary is built with.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	return serveDialects(ctx, args, stderr, dialects)
}

// serveDialects migrates, starts the process's roles (projections, relay),
// bootstraps the dialects and serves HTTP until a signal, then stops in that
// order reversed.
func serveDialects(ctx context.Context, args []string, stderr io.Writer, build builder) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	only := flags.String("dialect", "", "serve only this dialect, at the root, with exactly its seed's paths")
	role := flags.String("role", "all", roleUsage)
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments besides --dialect and --role", errUsage)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	roles, err := parseRoles(*role, len(cfg.KafkaBrokers) > 0)
	if err != nil {
		return err
	}

	a, err := open(ctx, cfg, options{only: *only, roles: roles, build: build}, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if roles.api && cfg.JWTSecretGenerated {
		a.logger.Warn("ANNALS_JWT_SECRET is not set: using a random secret, so every token dies with this process")
	}
	if err := a.migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	// The parts outlive the signal: requests still being answered during
	// shutdown wait for their writes to be projected (and, with Kafka as
	// the source, relayed).
	parts := newParts(ctx)
	if roles.projector {
		parts.start("projections", a.runtime.Run)
	}
	if roles.relay {
		parts.start("kafka relay", a.relay.Run)
	}
	// abort stops the parts when serving cannot begin.
	abort := func(err error) error { return errors.Join(err, parts.stop()) }

	var served []kit.Dialect // only the api serves the dialects
	if roles.api {
		// Bootstrap runs with the parts live: creating the superuser may
		// wait for its read model.
		for _, d := range a.dialects {
			if err := d.Bootstrap(ctx); err != nil {
				return abort(fmt.Errorf("bootstrap %s: %w", d.Name(), err))
			}
		}
		served = a.dialects
	}
	ready := []server.Check{{Name: "database", Check: a.pool.Ping}}
	if roles.api || roles.projector {
		ready = append(ready, server.Check{Name: "projections", Check: func(ctx context.Context) error {
			return a.runtime.CaughtUp(ctx, readyMaxLag)
		}})
	}
	atRoot := *only != "" && roles.api
	handler, err := server.New(server.Config{
		Dialects: served,
		AtRoot:   atRoot,
		Metrics:  a.metrics,
		Ready:    ready,
		Logger:   a.logger,
	})
	if err != nil {
		return abort(err)
	}
	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return abort(fmt.Errorf("listen: %w", err))
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	names := make([]string, len(served))
	for i, d := range served {
		names[i] = d.Name()
	}
	a.logger.Info("serving", "addr", ln.Addr().String(), "roles", roles.String(), "dialects", names,
		"at_root", atRoot, "event_store", cfg.EventStore, "projector_source", cfg.ProjectorSource)

	var failure error
	select {
	case <-ctx.Done():
		a.logger.Info("stopping: finishing requests in flight")
	case err := <-serveDone:
		failure = fmt.Errorf("http server: %w", err)
	case <-parts.failed:
		// The part's error comes with stop's.
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		failure = errors.Join(failure, fmt.Errorf("http shutdown: %w", err))
	}
	failure = errors.Join(failure, parts.stop())
	if failure == nil {
		a.logger.Info("stopped")
	}
	return failure
}

// parts runs a process's long-lived roles next to its HTTP server, each
// until stopped. Their context does not end with the stop signal, so that
// they outlive the requests still being answered.
type parts struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// failed is closed when a part ends before being stopped.
	failed     chan struct{}
	failedOnce sync.Once

	mu   sync.Mutex
	errs []error
}

func newParts(ctx context.Context) *parts {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &parts{ctx: ctx, cancel: cancel, failed: make(chan struct{})}
}

// start runs run until stop. A part that returns before is a failure.
func (p *parts) start(name string, run func(context.Context) error) {
	p.wg.Go(func() {
		err := run(p.ctx)
		if err == nil && p.ctx.Err() == nil {
			err = errors.New("ended unexpectedly")
		}
		if err == nil {
			return
		}
		p.mu.Lock()
		p.errs = append(p.errs, fmt.Errorf("%s: %w", name, err))
		p.mu.Unlock()
		if p.ctx.Err() == nil {
			p.failedOnce.Do(func() { close(p.failed) })
		}
	})
}

// stop ends every part, waits for them and returns their failures.
func (p *parts) stop() error {
	p.cancel()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}
