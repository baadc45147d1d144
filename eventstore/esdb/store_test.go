package esdb_test

import (
	"os"
	"testing"

	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/esdb"
	"github.com/annals-dev/annals/eventstore/esdb/esdbtest"
	"github.com/annals-dev/annals/eventstore/storetest"
)

// serverURLEnv names a real EventStoreDB server to run the suite against as
// well as the test double.
const serverURLEnv = "ANNALS_ESDB_URL"

func TestConformance(t *testing.T) {
	t.Run("double", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) eventstore.Store { return openDouble(t) })
	})
	t.Run("server", func(t *testing.T) {
		url := os.Getenv(serverURLEnv)
		if url == "" {
			t.Skip(serverURLEnv + " is not set: no EventStoreDB server to run the suite against (the double ran it)")
		}
		storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t, esdb.Config{URL: url}) })
	})
}

// openDouble opens a store on a test double of its own.
func openDouble(t *testing.T) *esdb.Store {
	t.Helper()
	_, s := startDouble(t)
	return s
}

// startDouble starts a test double and opens a store on it.
func startDouble(t *testing.T) (*esdbtest.Server, *esdb.Store) {
	t.Helper()
	srv := esdbtest.Start(t)
	return srv, open(t, esdb.Config{URL: srv.ConnectionString()})
}

func open(t *testing.T, cfg esdb.Config) *esdb.Store {
	t.Helper()
	s, err := esdb.New(cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}
