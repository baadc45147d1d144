package dialecttest

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/esdb"
	"github.com/annals-dev/annals/eventstore/esdb/esdbtest"
)

// StoreEnv selects the event store of environments whose Options leave
// NewStore nil: postgres (default), memory or esdb. `make test` runs the
// sartiq suite a second time with esdb, so the dialect is proven on both
// production backends.
const StoreEnv = "ANNALS_TEST_EVENTSTORE"

// StoreFromEnv returns the factory StoreEnv names.
func StoreFromEnv() (StoreFactory, error) {
	switch name := os.Getenv(StoreEnv); name {
	case "", "postgres":
		return Postgres, nil
	case "memory":
		return Memory, nil
	case "esdb":
		return ESDB, nil
	default:
		return nil, fmt.Errorf("%s=%q: want postgres, memory or esdb", StoreEnv, name)
	}
}

// ESDB opens the EventStoreDB backend: against the server at ANNALS_ESDB_URL
// when set, else against the in-process double of the server.
func ESDB(context.Context, *pgxpool.Pool) (eventstore.Store, func(), error) {
	url := os.Getenv("ANNALS_ESDB_URL")
	stopServer := func() {}
	if url == "" {
		srv, err := esdbtest.New()
		if err != nil {
			return nil, nil, fmt.Errorf("start eventstoredb double: %w", err)
		}
		url, stopServer = srv.ConnectionString(), func() { _ = srv.Close() }
	}
	s, err := esdb.New(esdb.Config{URL: url})
	if err != nil {
		stopServer()
		return nil, nil, err
	}
	return s, func() { _ = s.Close(); stopServer() }, nil
}
