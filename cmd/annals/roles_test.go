package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/kafka/kafkatest"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/projections"
)

// ledger is a dialect small enough to follow a write end to end: POST
// /entries appends an EntryAdded event and answers once the read model has
// it; GET /entries/{id} reads the read model.
type ledger struct {
	deps    kit.Deps
	handler http.Handler
}

var _ kit.Dialect = (*ledger)(nil)

// ledgerDialects builds the ledger as the binary's only dialect.
func ledgerDialects(deps func(name string) kit.Deps) []kit.Dialect {
	d := &ledger{deps: deps("ledger")}
	d.deps.Executor.Registry.Register(entryAdded{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /entries", d.add)
	mux.HandleFunc("GET /entries/{id}", d.get)
	d.handler = mux
	return []kit.Dialect{d}
}

type entryAdded struct {
	Text string `json:"text"`
}

func (entryAdded) EventType() string { return "EntryAdded" }

// entry is the aggregate: whether the entry exists.
var entry = kernel.Aggregate[bool]{Kind: "entry", Evolve: func(bool, kernel.Event) bool { return true }}

func (d *ledger) Name() string                        { return "ledger" }
func (d *ledger) Handler() http.Handler               { return d.handler }
func (d *ledger) Projectors() []projections.Projector { return []projections.Projector{entries{}} }
func (d *ledger) Bootstrap(context.Context) error     { return nil }

func (d *ledger) Migrate(ctx context.Context) error {
	_, err := d.deps.Pool.Exec(ctx, `
CREATE SCHEMA IF NOT EXISTS ledger;
CREATE TABLE IF NOT EXISTS ledger.entries (id text PRIMARY KEY, text text NOT NULL)`)
	return err
}

func (d *ledger) add(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := uuid.NewString()
	res, err := commands.Execute(r.Context(), d.deps.Executor, entry, kit.CommandMeta(r, "ledger", "tester", "AddEntry"), id,
		func(exists bool) ([]kernel.Event, error) {
			if exists {
				return nil, kernel.Conflict("exists", "entry exists")
			}
			return []kernel.Event{entryAdded{Text: body.Text}}, nil
		})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	d.deps.Await(r.Context(), "ledger", res)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
}

func (d *ledger) get(w http.ResponseWriter, r *http.Request) {
	var text string
	err := d.deps.Pool.QueryRow(r.Context(), `SELECT text FROM ledger.entries WHERE id = $1`, r.PathValue("id")).Scan(&text)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		http.NotFound(w, r)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		_ = json.NewEncoder(w).Encode(map[string]string{"text": text})
	}
}

// entries projects EntryAdded into ledger.entries.
type entries struct{}

func (entries) Name() string                  { return "ledger.entries" }
func (entries) Version() int                  { return 1 }
func (entries) Realm() string                 { return "ledger" }
func (entries) Handles(eventType string) bool { return eventType == "EntryAdded" }

func (entries) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	id := strings.TrimPrefix(e.StreamID, kernel.StreamName("ledger", entry.Kind, ""))
	_, err := tx.Exec(ctx, `INSERT INTO ledger.entries (id, text) VALUES ($1, $2)`, id, e.Payload.(entryAdded).Text)
	return err
}

// The three-process setup, each process its own serve command: the api
// answers a write once the read model it reads has the write, which the
// relay carried to Kafka and a projector worker applied from there.
func TestAPIRelayAndProjectorProcesses(t *testing.T) {
	setEnv(t)
	brokers := kafkatest.Brokers(t)
	t.Setenv("ANNALS_KAFKA_BROKERS", strings.Join(brokers, ","))
	t.Setenv("ANNALS_PROJECTOR_SOURCE", "kafka")

	projector := startServe(t, ledgerDialects, "--role", "projector")
	relay := startServe(t, ledgerDialects, "--role", "relay")
	api := startServe(t, ledgerDialects, "--role", "api")

	const writes = 5
	writeThenRead(t, api, writes)

	if n := kafkatest.Count(t, brokers, "annals.ledger.events"); n != writes {
		t.Fatalf("the ledger topic holds %d messages, want %d", n, writes)
	}
	projector.getUntil(t, "/metrics",
		fmt.Sprintf(`annals_projection_events_applied_total{projector="ledger.entries"} %d`, writes),
		`annals_kafka_consumer_lag_messages{group="annals.projector.ledger.entries.v1",projector="ledger.entries",topic="annals.ledger.events"} 0`)
	relay.getUntil(t, "/metrics",
		`annals_kafka_relay_active{relay="default"} 1`,
		fmt.Sprintf(`annals_kafka_relay_events_published_total{relay="default"} %d`, writes),
		`annals_kafka_relay_lag_events{relay="default"} 0`)
	if _, body := api.get(t, "/metrics"); strings.Contains(body, "annals_projection_events_applied_total{") {
		t.Fatal("the api process applied events itself")
	}
	for _, s := range []*started{api, relay, projector} {
		s.getUntil(t, "/readyz", `"ready"`)
	}
	// Only the api takes writes.
	for _, s := range []*started{relay, projector} {
		resp, err := http.Post("http://"+s.addr+"/ledger/entries", "application/json", strings.NewReader(`{"text":"x"}`))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("POST to a process without the api role: %d, want 404", resp.StatusCode)
		}
	}
}

// writeThenRead adds n ledger entries through s, reading each back right
// after its write was answered.
func writeThenRead(t *testing.T, s *started, n int) {
	t.Helper()
	for i := range n {
		text := fmt.Sprintf("entry %d", i)
		resp, err := http.Post("http://"+s.addr+"/ledger/entries", "application/json",
			bytes.NewReader(fmt.Appendf(nil, `{"text":%q}`, text)))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		var created struct{ ID string }
		err = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || err != nil {
			t.Fatalf("POST: %d, %v", resp.StatusCode, err)
		}
		// No retry: the answer came after the write was projected.
		if code, body := s.get(t, "/ledger/entries/"+created.ID); code != http.StatusOK || !strings.Contains(body, text) {
			t.Fatalf("GET right after the write: %d %s, want %q", code, body, text)
		}
	}
	if strings.Contains(s.logs.String(), "read models did not catch up") {
		t.Fatalf("a write was answered before its read model caught up:\n%s", s.logs)
	}
}

// One process can run everything with Kafka in the middle: its writes go
// out through its relay and come back through its projector workers.
func TestAllRolesInOneProcessWithKafka(t *testing.T) {
	setEnv(t)
	brokers := kafkatest.Brokers(t)
	t.Setenv("ANNALS_KAFKA_BROKERS", strings.Join(brokers, ","))
	t.Setenv("ANNALS_PROJECTOR_SOURCE", "kafka")

	all := startServe(t, ledgerDialects)
	writeThenRead(t, all, 3)
	if n := kafkatest.Count(t, brokers, "annals.ledger.events"); n != 3 {
		t.Fatalf("the ledger topic holds %d messages, want 3", n)
	}
	all.getUntil(t, "/metrics", `annals_kafka_relay_active{relay="default"} 1`,
		`annals_projection_events_applied_total{projector="ledger.entries"} 3`)
}

func TestRoles(t *testing.T) {
	for _, tt := range []struct {
		value string
		kafka bool
		want  roles
		err   string
	}{
		{value: "all", want: roles{api: true, projector: true}},
		{value: "all", kafka: true, want: roles{api: true, projector: true, relay: true}},
		{value: "api, relay", kafka: true, want: roles{api: true, relay: true}},
		{value: "projector", want: roles{projector: true}},
		{value: "relay", err: "needs ANNALS_KAFKA_BROKERS"},
		{value: "chef", err: `unknown role "chef"`},
		{value: "", err: "unknown role"},
	} {
		got, err := parseRoles(tt.value, tt.kafka)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("roles %q (kafka %v): %v, want an error with %q", tt.value, tt.kafka, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("roles %q (kafka %v): %+v, %v; want %+v", tt.value, tt.kafka, got, err, tt.want)
		}
	}
}
