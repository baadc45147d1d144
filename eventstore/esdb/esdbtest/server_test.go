package esdbtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/annals-dev/annals/eventstore/esdb/esdbtest"
)

// waitTimeout bounds waits for subscription messages.
const waitTimeout = 10 * time.Second

func newClient(t *testing.T, srv *esdbtest.Server) *esdbclient.Client {
	t.Helper()
	conf, err := esdbclient.ParseConnectionString(srv.ConnectionString())
	if err != nil {
		t.Fatalf("parse connection string: %v", err)
	}
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRaw is a bare gRPC client, for what the client library does not expose.
func newRaw(t *testing.T, srv *esdbtest.Server) api.StreamsClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return api.NewStreamsClient(conn)
}

func events(types ...string) []esdbclient.EventData {
	out := make([]esdbclient.EventData, len(types))
	for i, typ := range types {
		out[i] = esdbclient.EventData{
			EventID:     uuid.New(),
			EventType:   typ,
			ContentType: esdbclient.ContentTypeJson,
			Data:        fmt.Appendf(nil, `{"i":%d}`, i),
			Metadata:    []byte(`{"m":true}`),
		}
	}
	return out
}

func appendTo(t *testing.T, c *esdbclient.Client, stream string, expected esdbclient.ExpectedRevision, evs ...esdbclient.EventData) *esdbclient.WriteResult {
	t.Helper()
	res, err := c.AppendToStream(context.Background(), stream, esdbclient.AppendToStreamOptions{ExpectedRevision: expected}, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func errorCode(err error) esdbclient.ErrorCode {
	var e *esdbclient.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}

func drain(t *testing.T, read *esdbclient.ReadStream) ([]*esdbclient.RecordedEvent, error) {
	t.Helper()
	defer read.Close()
	var out []*esdbclient.RecordedEvent
	for {
		e, err := read.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e.OriginalEvent())
	}
}

func ids(evs []*esdbclient.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.EventID
	}
	return out
}

func dataIDs(evs []esdbclient.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.EventID
	}
	return out
}

func TestAppendExpectedRevisions(t *testing.T) {
	c := newClient(t, esdbtest.Start(t))
	ctx := context.Background()
	stream := "orders-" + uuid.NewString()

	wrong := func(expected esdbclient.ExpectedRevision, want string) {
		t.Helper()
		_, err := c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: expected}, events("E")...)
		if errorCode(err) != esdbclient.ErrorCodeWrongExpectedVersion {
			t.Fatalf("append at %#v: err = %v, want wrong expected version", expected, err)
		}
		if got := err.Error(); !strings.Contains(got, "but got '"+want+"'") {
			t.Fatalf("append at %#v: %q does not report the current revision %q", expected, got, want)
		}
	}

	wrong(esdbclient.StreamExists{}, "no_stream")
	wrong(esdbclient.Revision(0), "no_stream")
	if res := appendTo(t, c, stream, esdbclient.NoStream{}, events("A", "B")...); res.NextExpectedVersion != 1 {
		t.Fatalf("NoStream append: revision %d, want 1", res.NextExpectedVersion)
	}
	wrong(esdbclient.NoStream{}, "1")
	wrong(esdbclient.Revision(0), "1")
	wrong(esdbclient.Revision(5), "1")
	if res := appendTo(t, c, stream, esdbclient.Revision(1), events("C")...); res.NextExpectedVersion != 2 {
		t.Fatalf("exact append: revision %d, want 2", res.NextExpectedVersion)
	}
	if res := appendTo(t, c, stream, esdbclient.StreamExists{}, events("D")...); res.NextExpectedVersion != 3 {
		t.Fatalf("StreamExists append: revision %d, want 3", res.NextExpectedVersion)
	}
	res := appendTo(t, c, stream, esdbclient.Any{}, events("E")...)
	if res.NextExpectedVersion != 4 || res.CommitPosition == 0 || res.PreparePosition == 0 {
		t.Fatalf("Any append: %+v, want revision 4 and a position", res)
	}
}

func TestAppendIdempotency(t *testing.T) {
	c := newClient(t, esdbtest.Start(t))
	ctx := context.Background()
	stream := "idem-" + uuid.NewString()
	first := events("A", "B")
	res := appendTo(t, c, stream, esdbclient.NoStream{}, first...)
	appendTo(t, c, stream, esdbclient.Revision(1), events("C")...)

	// A repeat at the place the expectation implies writes nothing and
	// reports the revision of the last repeated event, without a position.
	for _, expected := range []esdbclient.ExpectedRevision{esdbclient.NoStream{}, esdbclient.Any{}, esdbclient.StreamExists{}} {
		again := appendTo(t, c, stream, expected, first...)
		if again.NextExpectedVersion != res.NextExpectedVersion || again.CommitPosition != 0 || again.PreparePosition != 0 {
			t.Fatalf("repeat at %#v = %+v, want revision %d and no position", expected, again, res.NextExpectedVersion)
		}
	}
	// A repeat that diverges part way is not idempotent.
	diverging := append([]esdbclient.EventData{first[0]}, events("X")...)
	_, err := c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}, diverging...)
	if errorCode(err) != esdbclient.ErrorCodeWrongExpectedVersion {
		t.Fatalf("diverging repeat at NoStream: err = %v, want wrong expected version", err)
	}
	_, err = c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Any{}}, diverging...)
	if errorCode(err) != esdbclient.ErrorCodeWrongExpectedVersion {
		t.Fatalf("diverging repeat at Any: err = %v, want wrong expected version", err)
	}

	read, err := c.ReadStream(ctx, stream, esdbclient.ReadStreamOptions{}, 100)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	got, err := drain(t, read)
	if err != nil || len(got) != 3 {
		t.Fatalf("stream holds %d events (err %v), want 3", len(got), err)
	}
}

func TestReadStream(t *testing.T) {
	c := newClient(t, esdbtest.Start(t))
	ctx := context.Background()
	stream := "read-" + uuid.NewString()
	evs := events("A", "B", "C", "D")
	appendTo(t, c, stream, esdbclient.NoStream{}, evs...)
	want := dataIDs(evs)

	cases := []struct {
		name  string
		opts  esdbclient.ReadStreamOptions
		count uint64
		want  []uuid.UUID
	}{
		{"forwards from start", esdbclient.ReadStreamOptions{}, 10, want},
		{"forwards from 1, count 2", esdbclient.ReadStreamOptions{From: esdbclient.Revision(1)}, 2, want[1:3]},
		{"forwards past the end", esdbclient.ReadStreamOptions{From: esdbclient.Revision(9)}, 10, nil},
		{"backwards from end, count 2", esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 2, []uuid.UUID{want[3], want[2]}},
		{"backwards from 1", esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.Revision(1)}, 10, []uuid.UUID{want[1], want[0]}},
	}
	for _, tc := range cases {
		read, err := c.ReadStream(ctx, stream, tc.opts, tc.count)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := drain(t, read)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids(got), tc.want)
		}
		for _, e := range got {
			if e.StreamID != stream || e.Position.Commit == 0 || e.ContentType != "application/json" || string(e.UserMetadata) != `{"m":true}` {
				t.Errorf("%s: event %+v lacks what was appended or its position", tc.name, e)
			}
		}
	}

	read, err := c.ReadStream(ctx, "missing-"+uuid.NewString(), esdbclient.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatalf("read missing stream: %v", err)
	}
	if _, err := drain(t, read); errorCode(err) != esdbclient.ErrorCodeResourceNotFound {
		t.Fatalf("read missing stream: err = %v, want not found", err)
	}
}

func TestReadAll(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	a, b := "all-a-"+uuid.NewString(), "all-b-"+uuid.NewString()
	evA := events("A1", "A2")
	evB := events("$system", "B1")
	appendTo(t, c, a, esdbclient.NoStream{}, evA...)
	appendTo(t, c, b, esdbclient.NoStream{}, evB...)

	read, err := c.ReadAll(ctx, esdbclient.ReadAllOptions{}, 100)
	if err != nil {
		t.Fatalf("read $all: %v", err)
	}
	all, err := drain(t, read)
	if err != nil {
		t.Fatalf("read $all: %v", err)
	}
	// The log starts with the server's own events.
	if len(all) != 6 || !strings.HasPrefix(all[0].EventType, "$") || !strings.HasPrefix(all[1].EventType, "$") {
		t.Fatalf("$all = %d events starting %v, want 2 system events then 4", len(all), all[0].EventType)
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1].Position, all[i].Position
		if p.Commit > q.Commit || p.Commit == q.Commit && p.Prepare >= q.Prepare {
			t.Fatalf("$all out of order: %v then %v", p, q)
		}
	}
	if all[2].Position.Commit != all[3].Position.Commit || all[2].Position.Prepare == all[3].Position.Prepare {
		t.Fatalf("events appended together at %v and %v: want one commit, two prepares", all[2].Position, all[3].Position)
	}
	mine := append(dataIDs(evA), dataIDs(evB)...)

	from := all[3].Position
	read, err = c.ReadAll(ctx, esdbclient.ReadAllOptions{From: from}, 100)
	if err != nil {
		t.Fatalf("read $all forwards: %v", err)
	}
	got, err := drain(t, read)
	if err != nil || !slices.Equal(ids(got), mine[1:]) {
		t.Fatalf("forwards from %v = %v (err %v), want %v: the event there included", from, ids(got), err, mine[1:])
	}
	read, err = c.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: from}, 2)
	if err != nil {
		t.Fatalf("read $all backwards: %v", err)
	}
	got, err = drain(t, read)
	if err != nil || !slices.Equal(ids(got), []uuid.UUID{mine[0], all[1].EventID}) {
		t.Fatalf("backwards from %v = %v (err %v), want the two before it", from, ids(got), err)
	}

	raw := newRaw(t, srv)
	filtered := func(filter *api.ReadReq_Options_FilterOptions) []uuid.UUID {
		t.Helper()
		read, err := raw.Read(ctx, &api.ReadReq{Options: &api.ReadReq_Options{
			StreamOption:  &api.ReadReq_Options_All{All: &api.ReadReq_Options_AllOptions{AllOption: &api.ReadReq_Options_AllOptions_Start{Start: &shared.Empty{}}}},
			CountOption:   &api.ReadReq_Options_Count{Count: 100},
			FilterOption:  &api.ReadReq_Options_Filter{Filter: filter},
			UuidOption:    &api.ReadReq_Options_UUIDOption{Content: &api.ReadReq_Options_UUIDOption_String_{String_: &shared.Empty{}}},
			ReadDirection: api.ReadReq_Options_Forwards,
		}})
		if err != nil {
			t.Fatalf("filtered read: %v", err)
		}
		var out []uuid.UUID
		for {
			msg, err := read.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("filtered read: %v", err)
			}
			out = append(out, uuid.MustParse(msg.GetEvent().GetEvent().GetId().GetString_()))
		}
	}
	byType := func(e *api.ReadReq_Options_FilterOptions_Expression) *api.ReadReq_Options_FilterOptions {
		return &api.ReadReq_Options_FilterOptions{Filter: &api.ReadReq_Options_FilterOptions_EventType{EventType: e}}
	}
	byStream := func(e *api.ReadReq_Options_FilterOptions_Expression) *api.ReadReq_Options_FilterOptions {
		return &api.ReadReq_Options_FilterOptions{Filter: &api.ReadReq_Options_FilterOptions_StreamIdentifier{StreamIdentifier: e}}
	}
	filterCases := []struct {
		name   string
		filter *api.ReadReq_Options_FilterOptions
		want   []uuid.UUID
	}{
		{"event types not starting with $", byType(&api.ReadReq_Options_FilterOptions_Expression{Regex: `^[^\$].*`}), []uuid.UUID{mine[0], mine[1], mine[3]}},
		{"event type prefixes", byType(&api.ReadReq_Options_FilterOptions_Expression{Prefix: []string{"A2", "B"}}), []uuid.UUID{mine[1], mine[3]}},
		{"stream prefix", byStream(&api.ReadReq_Options_FilterOptions_Expression{Prefix: []string{b}}), mine[2:]},
		{"stream regex", byStream(&api.ReadReq_Options_FilterOptions_Expression{Regex: "^all-a-"}), mine[:2]},
	}
	for _, tc := range filterCases {
		if got := filtered(tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRecordedAndRequiredMetadata(t *testing.T) {
	srv := esdbtest.Start(t)
	raw := newRaw(t, srv)
	ctx := context.Background()
	stream := "meta-" + uuid.NewString()

	send := func(metadata map[string]string) (*api.AppendResp, error) {
		call, err := raw.Append(ctx)
		if err != nil {
			return nil, err
		}
		if err := call.Send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
			StreamIdentifier:       &shared.StreamIdentifier{StreamName: []byte(stream)},
			ExpectedStreamRevision: &api.AppendReq_Options_Any{Any: &shared.Empty{}},
		}}}); err != nil {
			return nil, err
		}
		if err := call.Send(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{
			Id:       &shared.UUID{Value: &shared.UUID_String_{String_: uuid.NewString()}},
			Metadata: metadata,
			Data:     []byte(`{}`),
		}}}); err != nil {
			return nil, err
		}
		return call.CloseAndRecv()
	}
	for _, missing := range []string{"type", "content-type"} {
		md := map[string]string{"type": "T", "content-type": "application/json"}
		delete(md, missing)
		if _, err := send(md); status.Code(err) != codes.InvalidArgument {
			t.Errorf("append without %q: err = %v, want InvalidArgument", missing, err)
		}
	}

	before := time.Now()
	if _, err := send(map[string]string{"type": "T", "content-type": "application/json"}); err != nil {
		t.Fatalf("append: %v", err)
	}
	after := time.Now()
	read, err := raw.Read(ctx, &api.ReadReq{Options: &api.ReadReq_Options{
		StreamOption: &api.ReadReq_Options_Stream{Stream: &api.ReadReq_Options_StreamOptions{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
			RevisionOption:   &api.ReadReq_Options_StreamOptions_Start{Start: &shared.Empty{}},
		}},
		CountOption:  &api.ReadReq_Options_Count{Count: 1},
		FilterOption: &api.ReadReq_Options_NoFilter{NoFilter: &shared.Empty{}},
		UuidOption:   &api.ReadReq_Options_UUIDOption{Content: &api.ReadReq_Options_UUIDOption_Structured{Structured: &shared.Empty{}}},
	}})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	msg, err := read.Recv()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	md := msg.GetEvent().GetEvent().GetMetadata()
	if md["type"] != "T" || md["content-type"] != "application/json" {
		t.Fatalf("recorded metadata %v lacks the type or content type", md)
	}
	ticks, err := strconv.ParseInt(md["created"], 10, 64)
	if err != nil {
		t.Fatalf("created %q: %v", md["created"], err)
	}
	// .NET ticks (100ns) since the Unix epoch, which the client reads back.
	created := time.Unix(0, ticks*100)
	if created.Before(before.Truncate(time.Microsecond)) || created.After(after) {
		t.Fatalf("created %v, want between %v and %v", created, before, after)
	}
}

// subscriptionMessages reads a subscription until n events arrived, noting
// checkpoints and whether it reported being caught up.
type subscriptionMessages struct {
	events      []*esdbclient.RecordedEvent
	checkpoints []esdbclient.Position
	caughtUp    int // number of events received before the caught-up message; -1 if none
}

func receive(t *testing.T, sub *esdbclient.Subscription, n int, untilCaughtUp bool) subscriptionMessages {
	t.Helper()
	got := subscriptionMessages{caughtUp: -1}
	timer := time.AfterFunc(waitTimeout, func() { _ = sub.Close() })
	defer timer.Stop()
	for len(got.events) < n || untilCaughtUp && got.caughtUp < 0 {
		msg := sub.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			t.Fatalf("subscription dropped after %d of %d events: %v", len(got.events), n, msg.SubscriptionDropped.Error)
		case msg.EventAppeared != nil:
			got.events = append(got.events, msg.EventAppeared.OriginalEvent())
		case msg.CheckPointReached != nil:
			got.checkpoints = append(got.checkpoints, *msg.CheckPointReached)
		case msg.CaughtUp != nil:
			got.caughtUp = len(got.events)
		}
	}
	return got
}

func TestSubscribeToAll(t *testing.T) {
	c := newClient(t, esdbtest.Start(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := "sub-all-" + uuid.NewString()
	history := events("H1", "$noise", "H2")
	res := appendTo(t, c, stream, esdbclient.NoStream{}, history...)

	sub, err := c.SubscribeToAll(ctx, esdbclient.SubscribeToAllOptions{
		From:   esdbclient.Start{},
		Filter: esdbclient.ExcludeSystemEventsFilter(),
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	got := receive(t, sub, 2, true)
	if want := []uuid.UUID{history[0].EventID, history[2].EventID}; !slices.Equal(ids(got.events), want) || got.caughtUp != 2 {
		t.Fatalf("history = %v, caught up after %d, want %v then caught up", ids(got.events), got.caughtUp, want)
	}
	last := got.checkpoints[len(got.checkpoints)-1]
	if last.Commit != res.CommitPosition || last.Prepare != res.PreparePosition {
		t.Fatalf("checkpoint on catching up at %v, want the last scanned event %d/%d", last, res.CommitPosition, res.PreparePosition)
	}

	live := events("L1", "$noise", "L2")
	appendTo(t, c, stream, esdbclient.Revision(2), live...)
	got = receive(t, sub, 2, false)
	if want := []uuid.UUID{live[0].EventID, live[2].EventID}; !slices.Equal(ids(got.events), want) {
		t.Fatalf("live = %v, want %v", ids(got.events), want)
	}

	// From a position, the event there is not delivered again.
	after, err := c.SubscribeToAll(ctx, esdbclient.SubscribeToAllOptions{
		From:   esdbclient.Position{Commit: res.CommitPosition, Prepare: res.PreparePosition},
		Filter: esdbclient.ExcludeSystemEventsFilter(),
	})
	if err != nil {
		t.Fatalf("subscribe from position: %v", err)
	}
	defer after.Close()
	if got := receive(t, after, 2, true); !slices.Equal(ids(got.events), []uuid.UUID{live[0].EventID, live[2].EventID}) {
		t.Fatalf("from %d/%d = %v, want only the later events", res.CommitPosition, res.PreparePosition, ids(got.events))
	}
}

func TestSubscribeToStream(t *testing.T) {
	c := newClient(t, esdbtest.Start(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := "sub-stream-" + uuid.NewString()
	history := events("A", "B", "C")
	appendTo(t, c, stream, esdbclient.NoStream{}, history...)
	appendTo(t, c, "other-"+uuid.NewString(), esdbclient.NoStream{}, events("X")...)

	sub, err := c.SubscribeToStream(ctx, stream, esdbclient.SubscribeToStreamOptions{From: esdbclient.Revision(0)})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	got := receive(t, sub, 2, true)
	if want := dataIDs(history[1:]); !slices.Equal(ids(got.events), want) || got.caughtUp != 2 || len(got.checkpoints) != 0 {
		t.Fatalf("history after revision 0 = %v, caught up after %d, %d checkpoints; want %v, caught up, none",
			ids(got.events), got.caughtUp, len(got.checkpoints), want)
	}
	live := events("D")
	appendTo(t, c, stream, esdbclient.Revision(2), live...)
	if got := receive(t, sub, 1, false); !slices.Equal(ids(got.events), dataIDs(live)) {
		t.Fatalf("live = %v, want %v", ids(got.events), dataIDs(live))
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	srv := esdbtest.Start(t)
	c := newClient(t, srv)
	sub, err := c.SubscribeToAll(context.Background(), esdbclient.SubscribeToAllOptions{From: esdbclient.End{}})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	receive(t, sub, 0, true)
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if msg := sub.Recv(); msg.SubscriptionDropped == nil {
		t.Fatalf("after the server closed, the subscription got %+v, want a drop", msg)
	}
}
