package esdb

import (
	"errors"
	"fmt"
	"log/slog"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// DefaultURL is the connection string used when Config.URL is empty: one
// local node without TLS, as the development setup runs it.
const DefaultURL = "esdb://localhost:2113?tls=false"

// DefaultSubscriptionBuffer is how many events a subscription holds for a
// reader that is behind, when Config.SubscriptionBuffer is zero.
const DefaultSubscriptionBuffer = 256

// Config configures a Store. The zero value is usable: every field has a
// default.
type Config struct {
	// URL is the EventStoreDB connection string (ANNALS_ESDB_URL), such as
	// "esdb://localhost:2113?tls=false". Default DefaultURL.
	URL string
	// SubscriptionBuffer is the capacity of a subscription's Events channel.
	// Default DefaultSubscriptionBuffer.
	SubscriptionBuffer int
	// Logger receives the client library's diagnostics at debug level: the
	// failures among them are also returned as errors. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.SubscriptionBuffer == 0 {
		c.SubscriptionBuffer = DefaultSubscriptionBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks the configuration as New would use it, defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	// The connection string is not quoted back: it may hold credentials.
	if _, err := esdbclient.ParseConnectionString(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("esdb: invalid connection string: %w", err))
	}
	if c.SubscriptionBuffer < 0 {
		errs = append(errs, fmt.Errorf("esdb: subscription buffer %d is negative", c.SubscriptionBuffer))
	}
	return errors.Join(errs...)
}
