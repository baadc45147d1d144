package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/projections"
)

const (
	// lagScanLimit caps how many events a scrape reads to count the lag.
	lagScanLimit = 10000
	// scrapeTimeout bounds the reads a scrape makes.
	scrapeTimeout = 5 * time.Second
)

// registerMetrics registers the relay's counter and the collector that
// reports its state when scraped.
func (r *Relay) registerMetrics() error {
	labels := prometheus.Labels{"relay": r.config.Name}
	r.published = prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "annals_kafka_relay_events_published_total",
		Help:        "Events this relay instance published and Kafka acknowledged.",
		ConstLabels: labels,
	})
	status := &statusCollector{
		r: r,
		active: prometheus.NewDesc("annals_kafka_relay_active",
			"1 while this instance holds the relay's lock and publishes, 0 while it stands by.", nil, labels),
		lagEvents: prometheus.NewDesc("annals_kafka_relay_lag_events",
			"Events in the log after the relay's stored checkpoint (counted up to a limit); every instance reports the same.", nil, labels),
		lagSeconds: prometheus.NewDesc("annals_kafka_relay_lag_seconds",
			"Age of the oldest event the relay has not published.", nil, labels),
	}
	for _, c := range []prometheus.Collector{r.published, status} {
		if err := r.config.Metrics.Register(c); err != nil {
			return fmt.Errorf("kafka relay %s: register metrics: %w", r.config.Name, err)
		}
	}
	return nil
}

// statusCollector measures the lag when scraped rather than on every batch,
// since measuring reads the log. The lag starts at the checkpoint stored in
// the database, so a standby reports the active instance's progress.
type statusCollector struct {
	r                             *Relay
	active, lagEvents, lagSeconds *prometheus.Desc
}

var _ prometheus.Collector = (*statusCollector)(nil)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.active
	ch <- c.lagEvents
	ch <- c.lagSeconds
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	active := 0.0
	if c.r.Status().Active {
		active = 1
	}
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, active)

	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	from, err := loadCheckpoint(ctx, c.r.db, c.r.config.Name)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.lagEvents, err)
		return
	}
	lag, err := projections.MeasureLag(ctx, c.r.store, from, lagScanLimit)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.lagEvents, fmt.Errorf("kafka relay %s: %w", c.r.config.Name, err))
		return
	}
	ch <- prometheus.MustNewConstMetric(c.lagEvents, prometheus.GaugeValue, float64(lag.Events))
	ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, lag.Seconds)
}
