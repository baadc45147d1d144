// Package esdbtest is an in-process test double of an EventStoreDB server,
// built on the client's own generated gRPC server stubs. It implements what
// the esdb backend uses, with the server's semantics: Streams/Append with
// expected revisions and idempotency by event id, Streams/Read of streams and
// $all (with filters), catch-up subscriptions, and ServerFeatures. Like a
// real server, its $all starts with a few system events.
//
// It is meant for tests only.
package esdbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
)

// Version is the server version the double reports.
const Version = "24.10.0"

// Server is a running test double listening on a loopback TCP port.
type Server struct {
	listener net.Listener
	grpc     *grpc.Server
	served   chan error

	closeOnce sync.Once
	closeErr  error
}

// Start runs a server for the duration of a test.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := New()
	if err != nil {
		tb.Fatalf("start EventStoreDB test double: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("stop EventStoreDB test double: %v", err)
		}
	})
	return s
}

// New starts a server on 127.0.0.1 with an ephemeral port and no TLS. Close
// stops it.
func New() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	log := newEventLog(time.Now)
	seedSystemEvents(log)

	s := &Server{listener: lis, grpc: grpc.NewServer(), served: make(chan error, 1)}
	api.RegisterStreamsServer(s.grpc, &streamsService{log: log})
	serverfeatures.RegisterServerFeaturesServer(s.grpc, featuresService{})
	go func() { s.served <- s.grpc.Serve(lis) }()
	return s, nil
}

// Addr is the host:port the server listens on, for raw gRPC clients.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// ConnectionString is the client connection string for this server.
func (s *Server) ConnectionString() string {
	return fmt.Sprintf("esdb://%s?tls=false", s.Addr())
}

// Close stops the server, ending open calls and subscriptions as a server
// going down would. Closing again does nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.grpc.Stop()
		if err := <-s.served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.closeErr = fmt.Errorf("serve: %w", err)
		}
	})
	return s.closeErr
}

// seedSystemEvents writes what a fresh server's log starts with, so that
// readers of $all always have system events to skip.
func seedSystemEvents(log *eventLog) {
	for _, e := range []struct{ stream, eventType string }{
		{"$$$stats-127.0.0.1:2113", "$metadata"},
		{"$settings", "$settings"},
	} {
		log.append(e.stream, expectAny, []proposed{{
			id:          uuid.New(),
			eventType:   e.eventType,
			contentType: "application/json",
			data:        []byte("{}"),
		}})
	}
}

// featuresService tells the client the server's version and the methods it
// supports.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

var _ serverfeatures.ServerFeaturesServer = featuresService{}

func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const service = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: Version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: service, MethodName: "read"},
			{ServiceName: service, MethodName: "append"},
		},
	}, nil
}
