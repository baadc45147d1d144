package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the reads a metrics scrape makes to measure lag.
const scrapeTimeout = 5 * time.Second

type metrics struct {
	applied    *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	failures   *prometheus.CounterVec
}

func newMetrics(r *Runtime, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "annals_projection_events_applied_total",
			Help: "Events a projector applied to its read model.",
		}, []string{"projector"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "annals_projection_events_duplicate_total",
			Help: "Events a projector received again after applying them (a redelivery, or another worker was first) and skipped.",
		}, []string{"projector"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "annals_projection_failures_total",
			Help: "Failed attempts at processing an event; each is retried.",
		}, []string{"projector"}),
	}
	lag := &lagCollector{
		r: r,
		events: prometheus.NewDesc("annals_projection_lag_events",
			"Events in the log after the projector's position (counted up to a limit).", []string{"projector"}, nil),
		seconds: prometheus.NewDesc("annals_projection_lag_seconds",
			"Age of the oldest event the projector has not processed.", []string{"projector"}, nil),
	}
	for _, c := range []prometheus.Collector{m.applied, m.duplicates, m.failures, lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("projections: register metrics: %w", err)
		}
	}
	return m, nil
}

// lagCollector measures lag when scraped rather than on every event, since
// measuring reads the log.
type lagCollector struct {
	r       *Runtime
	events  *prometheus.Desc
	seconds *prometheus.Desc
}

var _ prometheus.Collector = (*lagCollector)(nil)

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.seconds
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	statuses, err := c.r.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
		return
	}
	for _, s := range statuses {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(s.LagEvents), s.Name)
		ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, s.LagSeconds, s.Name)
	}
}
