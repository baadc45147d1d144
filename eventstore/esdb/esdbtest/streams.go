package esdbtest

import (
	"errors"
	"io"
	"math"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// System metadata keys every recorded event carries; the client refuses
// events without them.
const (
	metaType        = "type"
	metaContentType = "content-type"
	metaCreated     = "created"
)

// streamsService serves the Streams gRPC service: Append, and Read for
// streams, $all and catch-up subscriptions to either.
type streamsService struct {
	api.UnimplementedStreamsServer
	log *eventLog
}

var _ api.StreamsServer = (*streamsService)(nil)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// Append reads the options message, then the proposed events, and appends
// them in one transaction.
func (s *streamsService) Append(srv api.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return invalid("append must start with options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if stream == "" {
		return invalid("append needs a stream name")
	}
	expected, err := expectedRevision(opts)
	if err != nil {
		return err
	}
	var events []proposed
	for {
		msg, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		e, err := proposedFrom(msg.GetProposedMessage())
		if err != nil {
			return err
		}
		events = append(events, e)
	}
	return srv.SendAndClose(appendResponse(s.log.append(stream, expected, events), expected))
}

func expectedRevision(o *api.AppendReq_Options) (int64, error) {
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		return expectAny, nil
	case *api.AppendReq_Options_NoStream:
		return expectNoStream, nil
	case *api.AppendReq_Options_StreamExists:
		return expectStreamExists, nil
	case *api.AppendReq_Options_Revision:
		if v.Revision > math.MaxInt64 {
			return 0, invalid("expected revision %d out of range", v.Revision)
		}
		return int64(v.Revision), nil
	default:
		return 0, invalid("append needs an expected stream revision")
	}
}

func proposedFrom(m *api.AppendReq_ProposedMessage) (proposed, error) {
	if m == nil {
		return proposed{}, invalid("append expects proposed messages after the options")
	}
	id, err := uuidFrom(m.GetId())
	if err != nil {
		return proposed{}, err
	}
	p := proposed{id: id, data: m.GetData(), metadata: m.GetCustomMetadata()}
	var ok bool
	if p.eventType, ok = m.GetMetadata()[metaType]; !ok {
		return proposed{}, invalid("missing required metadata property %q", metaType)
	}
	if p.contentType, ok = m.GetMetadata()[metaContentType]; !ok {
		return proposed{}, invalid("missing required metadata property %q", metaContentType)
	}
	return p, nil
}

func uuidFrom(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		return esdb.ParseUUIDFromInt64(st.GetMostSignificantBits(), st.GetLeastSignificantBits())
	}
	id, err := uuid.Parse(u.GetString_())
	if err != nil {
		return uuid.Nil, invalid("event id: %v", err)
	}
	return id, nil
}

func appendResponse(r appendResult, expected int64) *api.AppendResp {
	if r.wrongVersion {
		w := &api.AppendResp_WrongExpectedVersion{}
		if r.current < 0 {
			w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		} else {
			w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(r.current)}
		}
		switch expected {
		case expectAny:
			w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		case expectStreamExists:
			w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		case expectNoStream:
			w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
		default:
			w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(expected)}
		}
		return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
	}

	ok := &api.AppendResp_Success{}
	if r.current < 0 {
		ok.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		ok.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(r.current)}
	}
	// Like the server, an append that wrote nothing (an idempotent repeat)
	// reports no position.
	if r.pos == nil {
		ok.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		ok.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: r.pos.commit, PreparePosition: r.pos.prepare,
		}}
	}
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: ok}}
}

// Read serves reads of a stream or of $all, and catch-up subscriptions.
func (s *streamsService) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return invalid("read needs options")
	}
	f, err := newFilter(o.GetFilter())
	if err != nil {
		return invalid("%v", err)
	}
	r := reader{srv: srv, stringIDs: o.GetUuidOption().GetString_() != nil}
	forwards := o.GetReadDirection() == api.ReadReq_Options_Forwards

	switch {
	case o.GetSubscription() != nil && o.GetAll() != nil:
		return r.subscribe(s.allSource(o.GetAll()), f)
	case o.GetSubscription() != nil && o.GetStream() != nil:
		source, err := s.streamSource(o.GetStream())
		if err != nil {
			return err
		}
		return r.subscribe(source, nil)
	case o.GetAll() != nil:
		recs, _ := s.log.allRecords()
		return r.send(allRange(recs, o.GetAll(), forwards), f, o.GetCount())
	case o.GetStream() != nil:
		name := o.GetStream().GetStreamIdentifier().GetStreamName()
		recs, ok, _ := s.log.streamRecords(string(name))
		if !ok {
			return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: name},
			}}})
		}
		return r.send(streamRange(recs, o.GetStream(), forwards), nil, o.GetCount())
	default:
		return invalid("read needs a stream or $all")
	}
}

// allRange orders the $all records a read covers: forwards from a position
// inclusive, backwards from a position exclusive, as the server does.
func allRange(recs []*record, o *api.ReadReq_Options_AllOptions, forwards bool) []*record {
	from := len(recs)
	switch {
	case o.GetStart() != nil:
		from = 0
	case o.GetPosition() != nil:
		from = searchPosition(recs, position{commit: o.GetPosition().GetCommitPosition(), prepare: o.GetPosition().GetPreparePosition()})
	}
	if forwards {
		return recs[from:]
	}
	return reversed(recs[:from])
}

// streamRange orders the stream records a read covers: from a revision on,
// inclusive in both directions.
func streamRange(recs []*record, o *api.ReadReq_Options_StreamOptions, forwards bool) []*record {
	from := len(recs)
	switch {
	case o.GetStart() != nil:
		from = 0
	case o.GetEnd() == nil:
		from = int(min(o.GetRevision(), uint64(len(recs))))
	}
	if forwards {
		return recs[from:]
	}
	return reversed(recs[:min(from+1, len(recs))])
}

func reversed(recs []*record) []*record {
	out := make([]*record, len(recs))
	for i, r := range recs {
		out[len(recs)-1-i] = r
	}
	return out
}

// source gives a subscription the records it follows as they are now, the
// index of the first one it has not seen yet, and a channel closed when the
// log grows.
type source struct {
	next    int
	records func() ([]*record, <-chan struct{})
}

// allSource starts a $all subscription after a position (exclusive), at the
// start, or at the end.
func (s *streamsService) allSource(o *api.ReadReq_Options_AllOptions) source {
	recs, _ := s.log.allRecords()
	next := len(recs)
	switch {
	case o.GetStart() != nil:
		next = 0
	case o.GetPosition() != nil:
		p := position{commit: o.GetPosition().GetCommitPosition(), prepare: o.GetPosition().GetPreparePosition()}
		next = searchPosition(recs, p)
		if next < len(recs) && recs[next].pos == p {
			next++
		}
	}
	return source{next: next, records: s.log.allRecords}
}

// streamSource starts a stream subscription after a revision (exclusive), at
// the start, or at the end; the stream need not exist yet.
func (s *streamsService) streamSource(o *api.ReadReq_Options_StreamOptions) (source, error) {
	name := string(o.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return source{}, invalid("subscription needs a stream name")
	}
	recs, _, _ := s.log.streamRecords(name)
	next := len(recs)
	switch {
	case o.GetStart() != nil:
		next = 0
	case o.GetEnd() == nil:
		if o.GetRevision() >= math.MaxInt {
			return source{}, invalid("revision %d out of range", o.GetRevision())
		}
		next = int(o.GetRevision()) + 1
	}
	return source{next: next, records: func() ([]*record, <-chan struct{}) {
		recs, _, grown := s.log.streamRecords(name)
		return recs, grown
	}}, nil
}

// reader writes read responses in the id format the request asked for.
type reader struct {
	srv       api.Streams_ReadServer
	stringIDs bool
}

// send writes up to count records that pass f.
func (r reader) send(recs []*record, f *filter, count uint64) error {
	var sent uint64
	for _, rec := range recs {
		if sent == count {
			return nil
		}
		if !f.match(rec) {
			continue
		}
		if err := r.srv.Send(r.event(rec)); err != nil {
			return err
		}
		sent++
	}
	return nil
}

// subscribe confirms the subscription, sends the history from src, reports
// being caught up, then follows the log until the client goes away. A
// filtered subscription reports checkpoints as it scans, and once more on
// catching up, so that a selective subscriber learns how far the log was
// searched.
func (r reader) subscribe(src source, f *filter) error {
	ctx := r.srv.Context()
	confirm := &api.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}
	if err := r.srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: confirm}}); err != nil {
		return err
	}
	var (
		caughtUp   bool
		scanned    int
		unreported *record // last record scanned since the last checkpoint
	)
	for {
		recs, grown := src.records()
		for ; src.next < len(recs); src.next++ {
			rec := recs[src.next]
			if f.match(rec) {
				if err := r.srv.Send(r.event(rec)); err != nil {
					return err
				}
			}
			if f == nil {
				continue
			}
			scanned++
			unreported = rec
			if scanned%f.interval == 0 {
				if err := r.checkpoint(rec.pos); err != nil {
					return err
				}
				unreported = nil
			}
		}
		if !caughtUp {
			if unreported != nil {
				if err := r.checkpoint(unreported.pos); err != nil {
					return err
				}
				unreported = nil
			}
			if err := r.srv.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
			caughtUp = true
		}
		select {
		case <-grown:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

func (r reader) checkpoint(p position) error {
	return r.srv.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
		CommitPosition: p.commit, PreparePosition: p.prepare,
	}}})
}

func (r reader) event(rec *record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               r.id(rec.id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(rec.stream)},
			StreamRevision:   rec.revision,
			PreparePosition:  rec.pos.prepare,
			CommitPosition:   rec.pos.commit,
			Metadata: map[string]string{
				metaType:        rec.eventType,
				metaContentType: rec.contentType,
				metaCreated:     strconv.FormatInt(ticksSinceUnixEpoch(rec), 10),
			},
			CustomMetadata: rec.metadata,
			Data:           rec.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: rec.pos.commit},
	}}}
}

func (r reader) id(id uuid.UUID) *shared.UUID {
	if r.stringIDs {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	most, least := esdb.UUIDAsInt64(id)
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: most, LeastSignificantBits: least,
	}}}
}

// ticksSinceUnixEpoch is the server's "created" value: 100ns ticks since
// 1970-01-01 UTC.
func ticksSinceUnixEpoch(rec *record) int64 { return rec.created.UnixNano() / 100 }
