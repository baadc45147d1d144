package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
)

// commandMetrics measures the commands an executor runs: their latency by
// realm, command and outcome, and the events they append.
type commandMetrics struct {
	latency  *prometheus.HistogramVec
	appended *prometheus.CounterVec
}

// Outcomes of a command.
const (
	outcomeDone    = "done"    // decided and, if it decided anything, appended
	outcomeRefused = "refused" // a domain rule refused it
	outcomeFailed  = "failed"  // the store or the code failed
)

func newCommandMetrics(reg prometheus.Registerer) (*commandMetrics, error) {
	m := &commandMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "annals_command_duration_seconds",
			Help:    "Command latency (load, decide, append, retries) by realm, command and outcome (done, refused, failed).",
			Buckets: prometheus.DefBuckets,
		}, []string{"realm", "command", "outcome"}),
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "annals_events_appended_total",
			Help: "Events appended to the log by commands, by realm.",
		}, []string{"realm"}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.appended} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register command metrics: %w", err)
		}
	}
	return m, nil
}

// observe is an executor's Observe hook.
func (m *commandMetrics) observe(meta commands.Meta, took time.Duration, res commands.Result, err error) {
	outcome := outcomeDone
	if err != nil {
		outcome = outcomeFailed
		if domain := (*kernel.Error)(nil); errors.As(err, &domain) {
			outcome = outcomeRefused
		}
	}
	m.latency.WithLabelValues(meta.Realm, meta.Command, outcome).Observe(took.Seconds())
	if n := len(res.Events); n > 0 {
		m.appended.WithLabelValues(meta.Realm).Add(float64(n))
	}
}
