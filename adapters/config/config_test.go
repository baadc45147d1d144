package config_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/annals-dev/annals/adapters/config"
)

const secret = "0123456789abcdef0123456789abcdef"

func TestFromEnv(t *testing.T) {
	defaults := config.Config{
		HTTPAddr: ":8080", EventStore: "postgres", ProjectorSource: "log", JWTSecret: secret,
		AccessTokenTTL: 30 * time.Minute, RefreshTokenTTL: 168 * time.Hour, BcryptCost: 10,
		LogLevel: slog.LevelInfo, PublicURL: "http://localhost:8080",
	}
	with := func(change func(*config.Config)) config.Config {
		c := defaults
		change(&c)
		return c
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    config.Config
		wantErr []string // substrings of the error; none: success
	}{
		{name: "defaults", env: map[string]string{}, want: defaults},
		{
			name: "everything set",
			env: map[string]string{
				"ANNALS_HTTP_ADDR":           "0.0.0.0:9000",
				"ANNALS_DATABASE_URL":        "postgres://u:p@db:5432/annals?sslmode=disable",
				"ANNALS_EVENTSTORE":          "esdb",
				"ANNALS_ESDB_URL":            "esdb://esdb:2113?tls=false",
				"ANNALS_KAFKA_BROKERS":       " k1:9092, k2:9092 ,",
				"ANNALS_KAFKA_TOPIC_PATTERN": "prod.{realm}",
				"ANNALS_PROJECTOR_SOURCE":    "kafka",
				"ANNALS_ADMIN_EMAIL":         "admin@example.com",
				"ANNALS_ADMIN_PASSWORD":      "changeit",
				"ANNALS_SMTP_URL":            "smtp://mail:25?from=a@b.c",
				"ANNALS_MAIL_DIR":            "mails",
				"ANNALS_LOG_LEVEL":           "DEBUG",
				"ANNALS_BCRYPT_COST":         "4",
				"ANNALS_ACCESS_TOKEN_TTL":    "5m",
				"ANNALS_REFRESH_TOKEN_TTL":   "1h",
				"ANNALS_PUBLIC_URL":          "https://annals.example.com/",
			},
			want: config.Config{
				HTTPAddr: "0.0.0.0:9000", DatabaseURL: "postgres://u:p@db:5432/annals?sslmode=disable",
				EventStore: "esdb", ESDBURL: "esdb://esdb:2113?tls=false", KafkaBrokers: []string{"k1:9092", "k2:9092"},
				KafkaTopicPattern: "prod.{realm}", ProjectorSource: "kafka",
				AdminEmail: "admin@example.com", AdminPassword: "changeit", JWTSecret: secret,
				AccessTokenTTL: 5 * time.Minute, RefreshTokenTTL: time.Hour, BcryptCost: 4,
				SMTPURL: "smtp://mail:25?from=a@b.c", MailDir: "mails", LogLevel: slog.LevelDebug,
				PublicURL: "https://annals.example.com",
			},
		},
		{
			name: "public url follows the listen address",
			env:  map[string]string{"ANNALS_HTTP_ADDR": "api.local:81"},
			want: with(func(c *config.Config) { c.HTTPAddr, c.PublicURL = "api.local:81", "http://api.local:81" }),
		},
		{name: "unknown event store", env: map[string]string{"ANNALS_EVENTSTORE": "mysql"}, wantErr: []string{"ANNALS_EVENTSTORE"}},
		{name: "esdb without url", env: map[string]string{"ANNALS_EVENTSTORE": "esdb"}, wantErr: []string{"ANNALS_ESDB_URL"}},
		{name: "bad address", env: map[string]string{"ANNALS_HTTP_ADDR": "8080"}, wantErr: []string{"ANNALS_HTTP_ADDR"}},
		{name: "bad broker", env: map[string]string{"ANNALS_KAFKA_BROKERS": "kafka"}, wantErr: []string{"ANNALS_KAFKA_BROKERS"}},
		{name: "unknown projector source", env: map[string]string{"ANNALS_PROJECTOR_SOURCE": "nats"}, wantErr: []string{"ANNALS_PROJECTOR_SOURCE"}},
		{
			name:    "kafka source without brokers",
			env:     map[string]string{"ANNALS_PROJECTOR_SOURCE": "kafka"},
			wantErr: []string{"ANNALS_PROJECTOR_SOURCE=kafka needs ANNALS_KAFKA_BROKERS"},
		},
		{name: "admin email alone", env: map[string]string{"ANNALS_ADMIN_EMAIL": "a@b.c"}, wantErr: []string{"go together"}},
		{name: "short secret", env: map[string]string{"ANNALS_JWT_SECRET": "short"}, wantErr: []string{"ANNALS_JWT_SECRET"}},
		{name: "bcrypt cost too low", env: map[string]string{"ANNALS_BCRYPT_COST": "3"}, wantErr: []string{"ANNALS_BCRYPT_COST"}},
		{
			name:    "refresh shorter than access",
			env:     map[string]string{"ANNALS_ACCESS_TOKEN_TTL": "2h", "ANNALS_REFRESH_TOKEN_TTL": "1h"},
			wantErr: []string{"token TTLs"},
		},
		{name: "not smtp", env: map[string]string{"ANNALS_SMTP_URL": "http://mail"}, wantErr: []string{"ANNALS_SMTP_URL"}},
		{name: "relative public url", env: map[string]string{"ANNALS_PUBLIC_URL": "/annals"}, wantErr: []string{"ANNALS_PUBLIC_URL"}},
		{
			name: "every parse error at once",
			env: map[string]string{
				"ANNALS_BCRYPT_COST": "ten", "ANNALS_ACCESS_TOKEN_TTL": "soon", "ANNALS_LOG_LEVEL": "loud",
			},
			wantErr: []string{"ANNALS_BCRYPT_COST", "ANNALS_ACCESS_TOKEN_TTL", "ANNALS_LOG_LEVEL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"ANNALS_JWT_SECRET": secret}
			for k, v := range tt.env {
				env[k] = v
			}
			got, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one mentioning %v", tt.wantErr)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %s", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("from env: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestGeneratesJWTSecretWhenUnset(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	a, err := config.FromEnv(none)
	if err != nil {
		t.Fatalf("from env: %v", err)
	}
	b, err := config.FromEnv(none)
	if err != nil {
		t.Fatalf("from env: %v", err)
	}
	if !a.JWTSecretGenerated || len(a.JWTSecret) < 32 {
		t.Fatalf("generated secret: %d bytes, flagged %v", len(a.JWTSecret), a.JWTSecretGenerated)
	}
	if a.JWTSecret == b.JWTSecret {
		t.Fatal("two generated secrets are equal")
	}
}
