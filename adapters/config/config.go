// Package config reads Annals' configuration from the environment.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/bcrypt"

	"github.com/annals-dev/annals/adapters/auth"
)

// Event store backends.
const (
	EventStorePostgres = "postgres"
	EventStoreESDB     = "esdb"
)

// Sources projectors read events from.
const (
	// ProjectorSourceLog reads the event log, in its global order.
	ProjectorSourceLog = "log"
	// ProjectorSourceKafka reads the topics the Kafka relay fills, in
	// consumer groups that split them between projector workers.
	ProjectorSourceKafka = "kafka"
)

// Defaults of Config.
const (
	DefaultHTTPAddr        = ":8080"
	DefaultEventStore      = EventStorePostgres
	DefaultProjectorSource = ProjectorSourceLog
	DefaultLogLevel        = slog.LevelInfo
	DefaultBcryptCost      = bcrypt.DefaultCost
	DefaultAccessTokenTTL  = 30 * time.Minute
	DefaultRefreshTokenTTL = 7 * 24 * time.Hour
)

// Config is everything Annals reads from its environment.
type Config struct {
	HTTPAddr string // ANNALS_HTTP_ADDR
	// DatabaseURL holds read models and, by default, events. Empty: the
	// server finds or starts a PostgreSQL by itself.
	DatabaseURL  string   // ANNALS_DATABASE_URL
	EventStore   string   // ANNALS_EVENTSTORE: postgres | esdb
	ESDBURL      string   // ANNALS_ESDB_URL, required with esdb
	KafkaBrokers []string // ANNALS_KAFKA_BROKERS, comma separated; empty: no Kafka
	// KafkaTopicPattern names the topic of each realm's events, "{realm}"
	// standing for the realm. Empty: the relay's default.
	KafkaTopicPattern string // ANNALS_KAFKA_TOPIC_PATTERN
	// ProjectorSource is where projectors read events: log, or kafka
	// (needs KafkaBrokers and a relay running somewhere).
	ProjectorSource string // ANNALS_PROJECTOR_SOURCE

	// The superuser created in every realm at start; both or neither.
	AdminEmail    string // ANNALS_ADMIN_EMAIL
	AdminPassword string // ANNALS_ADMIN_PASSWORD

	JWTSecret string // ANNALS_JWT_SECRET, at least 32 bytes
	// JWTSecretGenerated is set when no secret was configured and a random
	// one was made: tokens then stop working when the process ends.
	JWTSecretGenerated bool
	AccessTokenTTL     time.Duration // ANNALS_ACCESS_TOKEN_TTL, e.g. "30m"
	RefreshTokenTTL    time.Duration // ANNALS_REFRESH_TOKEN_TTL
	BcryptCost         int           // ANNALS_BCRYPT_COST

	SMTPURL string // ANNALS_SMTP_URL: smtp://user:pass@host:port?from=...
	MailDir string // ANNALS_MAIL_DIR: one file per message

	LogLevel slog.Level // ANNALS_LOG_LEVEL: debug | info | warn | error
	// PublicURL is where clients reach the server, for links in mails.
	PublicURL string // ANNALS_PUBLIC_URL
}

// Load reads the process environment.
func Load() (Config, error) { return FromEnv(os.LookupEnv) }

// FromEnv reads the variables through lookup, fills in defaults and
// validates the result.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		HTTPAddr:          r.str("ANNALS_HTTP_ADDR"),
		DatabaseURL:       r.str("ANNALS_DATABASE_URL"),
		EventStore:        r.str("ANNALS_EVENTSTORE"),
		ESDBURL:           r.str("ANNALS_ESDB_URL"),
		KafkaBrokers:      r.list("ANNALS_KAFKA_BROKERS"),
		KafkaTopicPattern: r.str("ANNALS_KAFKA_TOPIC_PATTERN"),
		ProjectorSource:   r.str("ANNALS_PROJECTOR_SOURCE"),
		AdminEmail:        r.str("ANNALS_ADMIN_EMAIL"),
		AdminPassword:     r.str("ANNALS_ADMIN_PASSWORD"),
		JWTSecret:         r.str("ANNALS_JWT_SECRET"),
		AccessTokenTTL:    r.duration("ANNALS_ACCESS_TOKEN_TTL"),
		RefreshTokenTTL:   r.duration("ANNALS_REFRESH_TOKEN_TTL"),
		BcryptCost:        r.integer("ANNALS_BCRYPT_COST"),
		SMTPURL:           r.str("ANNALS_SMTP_URL"),
		MailDir:           r.str("ANNALS_MAIL_DIR"),
		LogLevel:          r.level("ANNALS_LOG_LEVEL"),
		PublicURL:         strings.TrimRight(r.str("ANNALS_PUBLIC_URL"), "/"),
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.setDefaults(); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) setDefaults() error {
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.EventStore == "" {
		c.EventStore = DefaultEventStore
	}
	if c.ProjectorSource == "" {
		c.ProjectorSource = DefaultProjectorSource
	}
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if c.RefreshTokenTTL == 0 {
		c.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = DefaultBcryptCost
	}
	if c.PublicURL == "" {
		c.PublicURL = publicURLFor(c.HTTPAddr)
	}
	if c.JWTSecret == "" {
		secret := make([]byte, 48)
		if _, err := rand.Read(secret); err != nil {
			return fmt.Errorf("config: generate jwt secret: %w", err)
		}
		c.JWTSecret, c.JWTSecretGenerated = base64.RawURLEncoding.EncodeToString(secret), true
	}
	return nil
}

// publicURLFor guesses the URL of a listen address on this machine.
func publicURLFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("ANNALS_HTTP_ADDR %q: %v", c.HTTPAddr, err)
	}
	if c.DatabaseURL != "" {
		if _, err := pgconn.ParseConfig(c.DatabaseURL); err != nil {
			bad("ANNALS_DATABASE_URL is not a PostgreSQL connection string")
		}
	}
	switch c.EventStore {
	case EventStorePostgres:
	case EventStoreESDB:
		if c.ESDBURL == "" {
			bad("ANNALS_EVENTSTORE=esdb needs ANNALS_ESDB_URL")
		}
	default:
		bad("ANNALS_EVENTSTORE %q: want %s or %s", c.EventStore, EventStorePostgres, EventStoreESDB)
	}
	for _, b := range c.KafkaBrokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("ANNALS_KAFKA_BROKERS: %q is not host:port", b)
		}
	}
	switch c.ProjectorSource {
	case ProjectorSourceLog:
	case ProjectorSourceKafka:
		if len(c.KafkaBrokers) == 0 {
			bad("ANNALS_PROJECTOR_SOURCE=kafka needs ANNALS_KAFKA_BROKERS")
		}
	default:
		bad("ANNALS_PROJECTOR_SOURCE %q: want %s or %s", c.ProjectorSource, ProjectorSourceLog, ProjectorSourceKafka)
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		bad("ANNALS_ADMIN_EMAIL and ANNALS_ADMIN_PASSWORD go together")
	}
	if c.AdminEmail != "" && !strings.Contains(c.AdminEmail, "@") {
		bad("ANNALS_ADMIN_EMAIL %q is not an email address", c.AdminEmail)
	}
	if len(c.AdminPassword) > auth.MaxPasswordBytes {
		bad("ANNALS_ADMIN_PASSWORD is longer than %d bytes", auth.MaxPasswordBytes)
	}
	if len(c.JWTSecret) < 32 {
		bad("ANNALS_JWT_SECRET must be at least 32 bytes")
	}
	if c.AccessTokenTTL <= 0 || c.RefreshTokenTTL < c.AccessTokenTTL {
		bad("token TTLs: access must be positive and refresh at least access (got %s, %s)", c.AccessTokenTTL, c.RefreshTokenTTL)
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		bad("ANNALS_BCRYPT_COST %d: want %d..%d", c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || u.Host == "" || (u.Scheme != "smtp") {
			bad("ANNALS_SMTP_URL is not an smtp://host:port URL")
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		bad("ANNALS_PUBLIC_URL %q is not an absolute http(s) URL", c.PublicURL)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// reader parses variables and collects every parse error.
type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) str(name string) string {
	v, _ := r.lookup(name)
	return strings.TrimSpace(v)
}

func (r *reader) list(name string) []string {
	var out []string
	for item := range strings.SplitSeq(r.str(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (r *reader) integer(name string) int {
	v := r.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %q is not an integer", name, v))
	}
	return n
}

func (r *reader) duration(name string) time.Duration {
	v := r.str(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %q is not a duration (like 30m or 168h)", name, v))
	}
	return d
}

func (r *reader) level(name string) slog.Level {
	v := r.str(name)
	if v == "" {
		return DefaultLogLevel
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %q: want debug, info, warn or error", name, v))
	}
	return l
}
