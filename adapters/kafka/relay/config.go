package relay

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RealmPlaceholder in Config.TopicPattern stands for an event's realm.
const RealmPlaceholder = "{realm}"

// DefaultTopicPattern puts each realm's events in a topic of its own.
const DefaultTopicPattern = "annals." + RealmPlaceholder + ".events"

// Config configures a Relay. Zero fields take the defaults documented on
// each field.
type Config struct {
	// Name identifies the relay's checkpoint and election: instances with
	// one name form one relay with one active instance. Default "default".
	Name string

	// TopicPattern names the topic of a realm's events, RealmPlaceholder
	// standing for the realm. Default DefaultTopicPattern.
	TopicPattern string

	// BatchSize is the most events published and checkpointed at once.
	// Default 256.
	BatchSize int

	// MaxBatchWait is how long a batch waits for more events once it has
	// one, trading a little latency for fewer Kafka round trips. Default 5ms.
	MaxBatchWait time.Duration

	// RetryInterval is the pause after a failure (Kafka, the event store,
	// PostgreSQL) before trying again. Default 1s.
	RetryInterval time.Duration

	// LockCheckInterval is how often an idle active relay checks that the
	// session holding its lock is alive, so that it steps down soon after
	// losing it. Default 5s.
	LockCheckInterval time.Duration

	// Metrics receives the relay's collectors; a private registry when nil.
	Metrics prometheus.Registerer
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "default"
	}
	if c.TopicPattern == "" {
		c.TopicPattern = DefaultTopicPattern
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.MaxBatchWait == 0 {
		c.MaxBatchWait = 5 * time.Millisecond
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = time.Second
	}
	if c.LockCheckInterval == 0 {
		c.LockCheckInterval = 5 * time.Second
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
}

// Validate reports every invalid setting, after defaults are applied.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative", c.BatchSize))
	}
	if c.MaxBatchWait < 0 || c.RetryInterval < 0 || c.LockCheckInterval < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if err := ValidateTopicPattern(c.TopicPattern); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid kafka relay config: %w", err)
	}
	return nil
}

// Topic names the topic of a realm's events under pattern; consumers use it
// to find the topics the relay fills.
func Topic(pattern, realm string) string {
	return strings.ReplaceAll(pattern, RealmPlaceholder, realm)
}

// ValidateTopicPattern reports a pattern that does not give valid topic
// names.
func ValidateTopicPattern(pattern string) error {
	if t := Topic(pattern, "realm"); strings.ContainsFunc(t, invalidTopicRune) || len(t) > 249 {
		return fmt.Errorf("topic pattern %q does not give valid topic names", pattern)
	}
	return nil
}

// invalidTopicRune reports runes Kafka refuses in topic names.
func invalidTopicRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}
