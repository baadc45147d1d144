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
	parked     *prometheus.CounterVec
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
			Help: "Failed attempts at processing an event; each is retried, until the event is parked.",
		}, []string{"projector"}),
		parked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "annals_projection_events_parked_total",
			Help: "Events a projector parked after failing on them repeatedly, to go on without them.",
		}, []string{"projector"}),
	}
	lag := &statusCollector{
		r: r,
		events: prometheus.NewDesc("annals_projection_lag_events",
			"Events in the log after the projector's position (counted up to a limit).", []string{"projector"}, nil),
		seconds: prometheus.NewDesc("annals_projection_lag_seconds",
			"Age of the oldest event the projector has not processed.", []string{"projector"}, nil),
		parked: prometheus.NewDesc("annals_projection_parked_events",
			"Events the projector parked and that are not applied yet.", []string{"projector"}, nil),
		rebuildProgress: prometheus.NewDesc("annals_projection_rebuild_progress",
			"Estimated share (0 to 1) of the log a rebuild of the schema has replayed, while one is in progress.", []string{"schema"}, nil),
		rebuildEvents: prometheus.NewDesc("annals_projection_rebuild_events",
			"Events a rebuild of the schema has replayed, while one is in progress.", []string{"schema"}, nil),
	}
	for _, c := range []prometheus.Collector{m.applied, m.duplicates, m.failures, m.parked, lag} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("projections: register metrics: %w", err)
		}
	}
	return m, nil
}

// statusCollector reads the projectors' status when scraped rather than on
// every event, since measuring lag reads the log; rebuilds are reported
// from what the rebuilding process stores, wherever it runs.
type statusCollector struct {
	r               *Runtime
	events          *prometheus.Desc
	seconds         *prometheus.Desc
	parked          *prometheus.Desc
	rebuildProgress *prometheus.Desc
	rebuildEvents   *prometheus.Desc
}

var _ prometheus.Collector = (*statusCollector)(nil)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.seconds, c.parked, c.rebuildProgress, c.rebuildEvents} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	statuses, err := c.r.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
		return
	}
	rebuilding := map[string]*RebuildStatus{}
	for _, s := range statuses {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(s.LagEvents), s.Name)
		ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, s.LagSeconds, s.Name)
		ch <- prometheus.MustNewConstMetric(c.parked, prometheus.GaugeValue, float64(s.Parked), s.Name)
		if s.Rebuild != nil {
			rebuilding[s.Schema] = s.Rebuild
		}
	}
	for schema, rb := range rebuilding {
		ch <- prometheus.MustNewConstMetric(c.rebuildProgress, prometheus.GaugeValue, rb.Fraction, schema)
		ch <- prometheus.MustNewConstMetric(c.rebuildEvents, prometheus.GaugeValue, float64(rb.Events), schema)
	}
}
