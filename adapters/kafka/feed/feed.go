// Package feed feeds projectors from the topics the relay fills: each
// projector reads its realm's topic in a consumer group of its own, shared by
// every worker process that runs it, so the topic's partitions, and with them
// the streams, are split between the workers. The projection runtime keeps
// each stream's applied version with the read model, so an event delivered
// again (a relay crash, a rebalance) is not applied twice.
package feed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/envelope"
	"github.com/annals-dev/annals/adapters/kafka/relay"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
)

// scrapeTimeout bounds the requests to the brokers a metrics scrape makes.
const scrapeTimeout = 5 * time.Second

// Config configures a Feed.
type Config struct {
	// Subscriber configures every projector's consumer; its ConsumerGroup
	// is set per projector (see Group). Brokers are required.
	Subscriber kafka.SubscriberConfig
	// TopicPattern names each realm's topic as the relay's does. Default
	// relay.DefaultTopicPattern.
	TopicPattern string
}

func (c *Config) setDefaults() {
	if c.TopicPattern == "" {
		c.TopicPattern = relay.DefaultTopicPattern
	}
}

// Validate reports every invalid setting, after defaults are applied. The
// subscriber settings are checked when a projector subscribes.
func (c Config) Validate() error {
	var errs []error
	if len(c.Subscriber.Brokers) == 0 {
		errs = append(errs, errors.New("missing brokers"))
	}
	if c.Subscriber.ConsumerGroup != "" {
		errs = append(errs, errors.New("the consumer group is set per projector, not in the config"))
	}
	if err := relay.ValidateTopicPattern(c.TopicPattern); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid kafka feed config: %w", err)
	}
	return nil
}

// Group is the consumer group of a projector version. A new version gets a
// new group, which reads its topic from the start: the topic must then
// still hold every event of the realm.
func Group(p projections.Projector) string {
	return fmt.Sprintf("annals.projector.%s.v%d", p.Name(), p.Version())
}

// Feed is the relayed topics as a projections.Feed.
type Feed struct {
	config Config
	logger watermill.LoggerAdapter

	mu        sync.Mutex
	consumers []consumer // every subscriber handed out, for the lag
}

// consumer is one projector's subscriber.
type consumer struct {
	projector, group, topic string
	subscriber              *kafka.Subscriber
}

var _ projections.Feed = (*Feed)(nil)

// New validates config (after defaults) and returns a Feed.
func New(config Config, logger watermill.LoggerAdapter) (*Feed, error) {
	config.setDefaults()
	if err := config.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &Feed{config: config, logger: logger}, nil
}

// Subscriber returns a subscriber in p's consumer group and the topic of
// p's realm. A projector of every realm cannot be fed: each realm has its
// own topic.
func (f *Feed) Subscriber(p projections.Projector) (message.Subscriber, string, error) {
	if p.Realm() == "" {
		return nil, "", fmt.Errorf("kafka feed: projector %s reads every realm, but each realm has its own topic", p.Name())
	}
	config := f.config.Subscriber
	config.ConsumerGroup = Group(p)
	sub, err := kafka.NewSubscriber(config, f.logger.With(watermill.LogFields{"projector": p.Name()}))
	if err != nil {
		return nil, "", fmt.Errorf("kafka feed %s: %w", p.Name(), err)
	}
	topic := relay.Topic(f.config.TopicPattern, p.Realm())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.consumers = append(f.consumers, consumer{projector: p.Name(), group: config.ConsumerGroup, topic: topic, subscriber: sub})
	return sub, topic, nil
}

// Decode reads the relay's envelope back into the recorded event.
func (f *Feed) Decode(msg *message.Message) (eventstore.RecordedEvent, error) {
	return envelope.RecordedEvent(msg)
}

// LagCollector reports, for every projector this feed subscribed, how many
// messages of its topic its consumer group has not committed. The brokers
// answer for the whole group, so every worker reports the same value.
func (f *Feed) LagCollector() prometheus.Collector {
	return &lagCollector{
		feed: f,
		lag: prometheus.NewDesc("annals_kafka_consumer_lag_messages",
			"Messages of a projector's topic its consumer group has not committed yet.",
			[]string{"projector", "group", "topic"}, nil),
	}
}

type lagCollector struct {
	feed *Feed
	lag  *prometheus.Desc
}

var _ prometheus.Collector = (*lagCollector)(nil)

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.lag }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.feed.mu.Lock()
	consumers := append([]consumer(nil), c.feed.consumers...)
	c.feed.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, cons := range consumers {
		lag, err := cons.subscriber.Lag(ctx, cons.topic)
		// A topic the relay has not created yet holds nothing to consume.
		if errors.Is(err, kafkago.UnknownTopicOrPartition) {
			lag, err = 0, nil
		}
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.lag, fmt.Errorf("kafka feed %s: %w", cons.projector, err))
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(lag), cons.projector, cons.group, cons.topic)
	}
}
