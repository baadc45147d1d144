// Command auditconsumer reads the relayed event topics as an outside audit
// pipeline would: in a Kafka consumer group, printing one JSON line per event
// on standard output. The relay publishes at least once, so an event can
// arrive twice around a relay crash; duplicates are dropped by event id.
//
// Usage:
//
//	auditconsumer [-brokers host:port,...] [-group name] [-topics t1,t2,...]
//
// ANNALS_KAFKA_BROKERS gives the default brokers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/annals-dev/annals/adapters/kafka/envelope"
)

func main() {
	var cfg config
	brokers := flag.String("brokers", envOr("ANNALS_KAFKA_BROKERS", "127.0.0.1:9092"), "comma-separated Kafka brokers")
	topics := flag.String("topics", "annals.notes.events,annals.sartiq.events,annals.testit.events,annals.mercato.events,annals.civic.events", "comma-separated topics to read")
	flag.StringVar(&cfg.group, "group", "annals-audit", "consumer group: members share the topics' partitions and resume from its offsets")
	flag.IntVar(&cfg.dedupeWindow, "dedupe-window", 100_000, "how many recent event ids are remembered to drop duplicates")
	flag.Parse()
	cfg.brokers, cfg.topics = strings.Split(*brokers, ","), strings.Split(*topics, ",")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

type config struct {
	brokers      []string
	topics       []string
	group        string
	dedupeWindow int
	// maxWait bounds a fetch's wait, and so how long stopping takes.
	maxWait time.Duration
}

// line is what is printed for each event.
type line struct {
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	Realm         string          `json:"realm"`
	Stream        string          `json:"stream"`
	Version       int64           `json:"version"`
	Position      string          `json:"position"`
	Time          time.Time       `json:"time"`
	ActorID       string          `json:"actor_id,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	DataBase64    string          `json:"data_base64,omitempty"`
}

// run consumes until ctx ends. An offset is committed after its event was
// printed, so a restart repeats at most what was printed but not committed.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.dedupeWindow < 1 {
		return fmt.Errorf("dedupe window %d: must be at least 1", cfg.dedupeWindow)
	}
	if cfg.maxWait == 0 {
		cfg.maxWait = time.Second
	}
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.brokers,
		GroupID:     cfg.group,
		GroupTopics: cfg.topics,
		StartOffset: kafka.FirstOffset,
		MaxWait:     cfg.maxWait,
	})
	defer reader.Close()

	seen := newRecentIDs(cfg.dedupeWindow)
	enc := json.NewEncoder(out)
	for {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch: %w", err)
		}
		ce, err := envelope.Decode(m.Value)
		switch {
		case err != nil:
			// Not ours to fix: report it and move on rather than stall.
			log.Printf("skipping %s/%d@%d: %v", m.Topic, m.Partition, m.Offset, err)
		case seen.add(ce.ID):
			if err := enc.Encode(line{
				EventID: ce.ID, Type: ce.Type, Realm: ce.Realm, Stream: ce.Subject,
				Version: ce.StreamVersion, Position: ce.Position, Time: ce.Time,
				ActorID: ce.ActorID, CorrelationID: ce.CorrelationID, CausationID: ce.CausationID,
				Data: ce.Data, DataBase64: ce.DataBase64,
			}); err != nil {
				return fmt.Errorf("print event %s: %w", ce.ID, err)
			}
		}
		if err := reader.CommitMessages(ctx, m); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("commit %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
		}
	}
}

// recentIDs remembers the last n ids added. Duplicates from the relay sit
// close together in a partition, so a bounded window catches them without
// growing forever.
type recentIDs struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether id is new, remembering it.
func (r *recentIDs) add(id string) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	delete(r.set, r.ring[r.next])
	r.ring[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return true
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
