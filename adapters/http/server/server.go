// Package server builds the HTTP handler that serves the dialects: each
// under its name, or a single one at the root, with health, readiness and
// metrics endpoints and the middleware every request goes through.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/annals-dev/annals/adapters/http/kit"
)

// Check is one readiness condition; /readyz answers 200 only when all pass.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config configures the handler.
type Config struct {
	Dialects []kit.Dialect
	// AtRoot serves the only dialect at "/" with exactly its seed's paths,
	// instead of under "/<name>".
	AtRoot bool
	// Metrics receives the request histogram and is served on /metrics.
	Metrics *prometheus.Registry
	// Ready are the readiness checks of /readyz.
	Ready []Check
	// ReadyTimeout bounds each readiness check.
	ReadyTimeout time.Duration
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultReadyTimeout = 2 * time.Second
	DefaultMaxBodyBytes = 1 << 20
)

func (c *Config) setDefaults() {
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// dialectName keeps names usable as one path segment.
var dialectName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// reserved are the server's own top-level paths.
var reserved = map[string]bool{"healthz": true, "readyz": true, "metrics": true}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Metrics == nil {
		errs = append(errs, errors.New("metrics registry is required"))
	}
	if c.AtRoot && len(c.Dialects) != 1 {
		errs = append(errs, fmt.Errorf("serving at the root needs exactly one dialect, got %d", len(c.Dialects)))
	}
	seen := map[string]bool{}
	for _, d := range c.Dialects {
		name := d.Name()
		switch {
		case !dialectName.MatchString(name):
			errs = append(errs, fmt.Errorf("dialect name %q is not a lowercase path segment", name))
		case reserved[name]:
			errs = append(errs, fmt.Errorf("dialect name %q is taken by the server", name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("dialect %q given twice", name))
		}
		seen[name] = true
	}
	for _, ch := range c.Ready {
		if ch.Name == "" || ch.Check == nil {
			errs = append(errs, errors.New("a readiness check needs a name and a function"))
		}
	}
	if c.ReadyTimeout < 0 || c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("ready timeout and max body bytes must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("http server config: %w", err)
	}
	return nil
}

// New builds the handler.
func New(cfg Config) (http.Handler, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "annals_http_request_duration_seconds",
		Help:    "HTTP request latency by dialect, method, route pattern and status.",
		Buckets: prometheus.DefBuckets,
	}, []string{"dialect", "method", "route", "status"})
	if err := cfg.Metrics.Register(latency); err != nil {
		return nil, fmt.Errorf("http server: register metrics: %w", err)
	}

	r := chi.NewRouter()
	r.Use(
		requestID,
		accessLog(cfg.Logger),
		measure(latency),
	)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", ready(cfg.Ready, cfg.ReadyTimeout))
	// A collector that cannot measure (the database is down, say) must not
	// hide every other metric.
	r.Handle("/metrics", promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{
		Registry: cfg.Metrics, ErrorHandling: promhttp.ContinueOnError,
	}))
	for _, d := range cfg.Dialects {
		fail := errorWriterOf(d)
		h := labelDialect(d.Name(), recoverPanics(cfg.Logger, fail)(limitBody(cfg.MaxBodyBytes, fail)(d.Handler())))
		if cfg.AtRoot {
			r.Mount("/", h)
			continue
		}
		r.Mount("/"+d.Name(), stripPrefix("/"+d.Name(), h))
	}
	return r, nil
}

// errorWriterOf returns how a dialect words the server's refusals.
func errorWriterOf(d kit.Dialect) func(http.ResponseWriter, int, string) {
	if ew, ok := d.(kit.ErrorWriter); ok {
		return ew.WriteError
	}
	return func(w http.ResponseWriter, status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
}

// stripPrefix hands a dialect paths rooted at "/", as its seed documents
// them.
func stripPrefix(prefix string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = rooted(strings.TrimPrefix(r.URL.Path, prefix))
		if u.RawPath != "" {
			u.RawPath = rooted(strings.TrimPrefix(r.URL.RawPath, prefix))
		}
		r2.URL = &u
		h.ServeHTTP(w, r2)
	})
}

func rooted(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

// ready runs every check, each bounded, and reports which failed.
func ready(checks []Check, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		failed := map[string]string{}
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err := c.Check(ctx)
			cancel()
			if err != nil {
				failed[c.Name] = err.Error()
			}
		}
		if len(failed) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}
