package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
)

// eventsCommand is `annals events tail|show`: the log as JSON lines. The
// command line is checked before anything is opened.
func eventsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: events needs tail or show", errUsage)
	}
	var (
		run withApp
		err error
	)
	switch args[0] {
	case "tail":
		run, err = parseTail(args[1:], stdout, stderr)
	case "show":
		run, err = parseShow(args[1:], stdout)
	default:
		return fmt.Errorf("%w: unknown events command %q", errUsage, args[0])
	}
	if err != nil {
		return err
	}
	return runWithApp(ctx, stderr, run)
}

// eventLine is an event as printed. Data and metadata are JSON; anything
// else shows as a string.
type eventLine struct {
	Position   string          `json:"position"`
	Stream     string          `json:"stream"`
	Version    int64           `json:"version"`
	ID         uuid.UUID       `json:"id"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recorded_at"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

func lineOf(e eventstore.RecordedEvent) eventLine {
	return eventLine{Position: e.Position.String(), Stream: e.StreamID, Version: e.Version, ID: e.ID, Type: e.Type,
		RecordedAt: e.RecordedAt.UTC(), Data: rawJSON(e.Data), Metadata: rawJSON(e.Metadata)}
}

func rawJSON(b []byte) json.RawMessage {
	switch {
	case len(b) == 0:
		return nil
	case json.Valid(b):
		return b
	}
	s, _ := json.Marshal(string(b)) // a string always encodes
	return s
}

// parseTail: print the log's events after a position, following it live,
// until interrupted or until -n events were printed.
func parseTail(args []string, stdout, stderr io.Writer) (withApp, error) {
	flags := flag.NewFlagSet("events tail", flag.ContinueOnError)
	flags.SetOutput(stderr)
	stream := flags.String("stream", "", "only this stream's events")
	typ := flags.String("type", "", "only events of this type")
	from := flags.String("from", "", `print the events after this position ("commit/prepare", or "start" for the whole log); default: the head, so only new events`)
	limit := flags.Int("n", 0, "stop after this many events (0: follow until interrupted)")
	if err := flags.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if flags.NArg() > 0 || *limit < 0 {
		return nil, fmt.Errorf("%w: events tail takes flags only, and -n is not negative", errUsage)
	}
	var after eventstore.Position // the head when from is empty
	switch *from {
	case "", "start":
	default:
		pos, err := eventstore.ParsePosition(*from)
		if err != nil {
			return nil, fmt.Errorf("%w: --from: %v", errUsage, err)
		}
		after = pos
	}
	return func(ctx context.Context, a *app) error {
		if *from == "" {
			head, err := a.store.Head(ctx)
			if err != nil {
				return fmt.Errorf("read the head of the log: %w", err)
			}
			after = head
		}
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		sub, err := a.store.Subscribe(ctx, after)
		if err != nil {
			return fmt.Errorf("subscribe to the log: %w", err)
		}
		enc := json.NewEncoder(stdout)
		printed := 0
		for e := range sub.Events() {
			if (*stream != "" && e.StreamID != *stream) || (*typ != "" && e.Type != *typ) {
				continue
			}
			if err := enc.Encode(lineOf(e)); err != nil {
				return err
			}
			if printed++; printed == *limit {
				stop()
			}
		}
		if err := sub.Err(); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("follow the log: %w", err)
		}
		return nil
	}, nil
}

// parseShow: print one stream's events in order.
func parseShow(args []string, stdout io.Writer) (withApp, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%w: events show needs one stream name", errUsage)
	}
	stream := args[0]
	return func(ctx context.Context, a *app) error {
		events, err := a.store.ReadStream(ctx, stream, 0, 0)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return fmt.Errorf("stream %q has no events", stream)
		}
		enc := json.NewEncoder(stdout)
		for _, e := range events {
			if err := enc.Encode(lineOf(e)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}
