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
	"time"

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

// serve is the serve command: migrate, start the projections, bootstrap the
// dialects and serve HTTP until a signal, then stop in that order reversed.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	only := flags.String("dialect", "", "serve only this dialect, at the root, with exactly its seed's paths")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments besides --dialect", errUsage)
	}

	a, err := open(ctx, *only, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if a.cfg.JWTSecretGenerated {
		a.logger.Warn("ANNALS_JWT_SECRET is not set: using a random secret, so every token dies with this process")
	}
	if err := a.migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	// The runtime outlives the signal: requests still being answered during
	// shutdown wait for their writes to be projected.
	runtimeCtx, stopRuntime := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuntime()
	runtimeDone := make(chan error, 1)
	go func() { runtimeDone <- a.runtime.Run(runtimeCtx) }()
	// abort stops the runtime when serving cannot begin.
	abort := func(err error) error {
		stopRuntime()
		return errors.Join(err, <-runtimeDone)
	}

	// Bootstrap runs with the projections live: creating the superuser may
	// wait for its read model.
	for _, d := range a.dialects {
		if err := d.Bootstrap(ctx); err != nil {
			return abort(fmt.Errorf("bootstrap %s: %w", d.Name(), err))
		}
	}

	handler, err := server.New(server.Config{
		Dialects: a.dialects,
		AtRoot:   *only != "",
		Metrics:  a.metrics,
		Ready: []server.Check{
			{Name: "database", Check: a.pool.Ping},
			{Name: "projections", Check: func(ctx context.Context) error { return a.runtime.CaughtUp(ctx, readyMaxLag) }},
		},
		Logger: a.logger,
	})
	if err != nil {
		return abort(err)
	}
	srv := &http.Server{
		Addr:              a.cfg.HTTPAddr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return abort(fmt.Errorf("listen: %w", err))
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	names := make([]string, len(a.dialects))
	for i, d := range a.dialects {
		names[i] = d.Name()
	}
	a.logger.Info("serving", "addr", ln.Addr().String(), "dialects", names, "at_root", *only != "",
		"event_store", a.cfg.EventStore)

	var failure error
	runtimeEnded := false
	select {
	case <-ctx.Done():
		a.logger.Info("stopping: finishing requests in flight")
	case err := <-serveDone:
		failure = fmt.Errorf("http server: %w", err)
	case err := <-runtimeDone:
		// Run only returns early when it could not start.
		runtimeEnded = true
		failure = fmt.Errorf("projections stopped: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		failure = errors.Join(failure, fmt.Errorf("http shutdown: %w", err))
	}
	stopRuntime()
	if !runtimeEnded {
		if err := <-runtimeDone; err != nil {
			failure = errors.Join(failure, fmt.Errorf("projections: %w", err))
		}
	}
	if failure == nil {
		a.logger.Info("stopped")
	}
	return failure
}
