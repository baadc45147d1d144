// Package audit projects a realm's events into the action log
// (readmodels/audit): one entry per command, built from the events it
// appended and their metadata, with the snapshots of the resource it
// changed before and after, folded with the aggregates' own evolve. Its
// SQL names tables unqualified: the runtime writes them into the live
// annals_audit schema, or into the shadow a rebuild fills.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/projections"
	readmodel "github.com/annals-dev/annals/readmodels/audit"
	"github.com/annals-dev/annals/readmodels/schema"
)

// version changes when what the projector writes changes (2: the log is
// built in its read-model schema, so that it can be rebuilt beside itself).
const version = 2

// Projector builds the action log of one realm. Each realm has its own, so
// that a process serving some dialects neither stalls on nor skips the
// events of the others.
func Projector(realm string) projections.Projector {
	return &projector{realm: realm, catalog: audit.Domain}
}

type projector struct {
	realm   string
	catalog audit.Catalog
}

var _ projections.InSchema = (*projector)(nil)

func (p *projector) Name() string  { return "audit." + p.realm }
func (p *projector) Version() int  { return version }
func (p *projector) Realm() string { return p.realm }

// Schema is the action log's: every realm's projector writes it, naming
// tables unqualified, so that the runtime rebuilds them together.
func (p *projector) Schema() schema.Schema { return readmodel.Schema }

// Handles every event: every command is logged, even of kinds the catalog
// does not know.
func (p *projector) Handles(string) bool { return true }

// Apply folds the event's stream, adds the event to its command's entry
// and recomputes what the entry shows. Every event of the realm comes
// here, and every write waits for it, so it reads what it needs in one
// round trip and writes in another.
func (p *projector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	if e.Position.Commit > math.MaxInt64 || e.Position.Prepare > math.MaxInt64 {
		return fmt.Errorf("audit: position %s does not fit bigint columns", e.Position)
	}
	s := p.stream(e.StreamID)
	in, err := p.read(ctx, tx, e, s)
	if err != nil {
		return err
	}
	var after any
	if s.kind != nil {
		after = s.kind.Evolve(in.before, e.Payload)
	}
	a := in.action
	if a == nil {
		if a, err = p.newEntry(e, in.referred); err != nil {
			return err
		}
	} else {
		a.takeIn(e)
	}
	nameActor(a, e, in.actor, s, after)
	part := in.parts.of(e.StreamID)
	if part == nil {
		if part, err = newPart(a.ID, s, e, in.before); err != nil {
			return err
		}
		in.parts = append(in.parts, part)
	}
	if err := p.addToPart(part, s, e, after); err != nil {
		return err
	}
	if refused, ok := e.Payload.(audit.CommandRefused); ok {
		a.State = string(audit.Failed)
		if a.Error, err = json.Marshal(refusal{Code: refused.Code, Message: refused.Message}); err != nil {
			return fmt.Errorf("audit: encode refusal: %w", err)
		}
	}
	if err := derive(a, in.parts); err != nil {
		return err
	}
	return p.write(ctx, tx, e, s, after, a, part)
}

// stream is an event's stream as the log sees it.
type stream struct {
	name, kindName, id string
	role               audit.Role
	kind               audit.Kind // nil when the catalog does not fold the kind
}

func (p *projector) stream(name string) stream {
	s := stream{name: name, kindName: name, id: name}
	if _, kind, id, ok := kernel.ParseStreamName(name); ok {
		s.kindName, s.id = kind, id
	}
	s.role = p.catalog.Role(s.kindName)
	s.kind, _ = p.catalog.Kind(s.kindName)
	return s
}

// refusal is what a failed entry shows of why.
type refusal struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// loaded is what applying an event reads.
type loaded struct {
	before any        // the stream's stored state
	action *actionRow // the event's entry; nil when the event starts it
	parts  partsOf
	// actor is the stored state of the event's actor's account.
	actor any
	// referred is the subject of the action an undo or redo names.
	referred string
}

// read loads, in one round trip, what applying e needs. It first takes a
// lock on e's entry: fed by stream (Kafka), events of one command on
// different streams may be applied at once by different workers, and each
// must see the parts the other added. The lock is the schema's, so that a
// rebuild filling a shadow does not wait on (or deadlock with) the live log.
func (p *projector) read(ctx context.Context, tx pgx.Tx, e projections.Event, s stream) (loaded, error) {
	var in loaded
	id := entryID(e)
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || $1, 0))`, id.String())
	if s.kind != nil {
		p.queueState(b, s.kind, s.name, &in.before)
	}
	b.Queue(`SELECT `+actionColumns+` FROM actions WHERE id = $1`, id).Query(func(rows pgx.Rows) error {
		a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[actionRow])
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		in.action = a
		return err
	})
	b.Queue(`SELECT `+partColumns+` FROM parts WHERE action_id = $1 ORDER BY position_commit, position_prepare`, id).
		Query(func(rows pgx.Rows) (err error) {
			in.parts, err = pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[partRow])
			return err
		})
	if e.Meta.ActorID != "" {
		users, _ := p.catalog.Kind(identity.UserKind)
		p.queueState(b, users, kernel.StreamName(p.realm, identity.UserKind, e.Meta.ActorID), &in.actor)
	}
	if refers := referredBy(e); refers != uuid.Nil {
		b.Queue(`SELECT subject FROM actions WHERE id = $1`, refers).QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&in.referred); !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			return nil
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return loaded{}, fmt.Errorf("audit: read for %s at %s: %w", e.ID, e.Position, err)
	}
	return in, nil
}

// queueState reads the stored state of a stream of kind k into state (nil
// when there is none).
func (p *projector) queueState(b *pgx.Batch, k audit.Kind, stream string, state *any) {
	b.Queue(`SELECT state FROM streams WHERE stream = $1`, stream).QueryRow(func(row pgx.Row) error {
		var data []byte
		err := row.Scan(&data)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		*state, err = k.Decode(data)
		return err
	})
}

// nameActor names an entry's actor as the log does: by the email of its
// account. A command may learn who issues it as it goes (a sign-in, from
// the account it signs in to), so its actor is the first one named, and
// its name is known once the account is (a sign-up names itself with the
// account it creates).
func nameActor(a *actionRow, e projections.Event, account any, s stream, after any) {
	if a.ActorID == nil {
		a.ActorID = optional(e.Meta.ActorID)
	}
	if a.ActorName != nil || a.ActorID == nil || *a.ActorID != e.Meta.ActorID {
		return
	}
	if s.kindName == identity.UserKind && s.id == e.Meta.ActorID {
		account = after
	}
	if u, ok := account.(identity.User); ok && u.Registered {
		a.ActorName = &u.Email
	}
}

// write stores, in one round trip, the stream's new state, the entry and
// the part, and moves the other entries the event concerns.
func (p *projector) write(ctx context.Context, tx pgx.Tx, e projections.Event, s stream, after any, a *actionRow, part *partRow) error {
	var state []byte
	if s.kind != nil {
		var err error
		if state, err = s.kind.Encode(after); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	b.Queue(`
INSERT INTO streams (stream, version, state) VALUES ($1, $2, $3)
ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state`, s.name, e.Version, state)
	a.queueSave(b)
	part.queueSave(b)
	queueMarkReferred(b, a, e)
	if s.role == audit.Resource || s.role == audit.Facet {
		// Only the latest change of a resource can be undone.
		b.Queue(`
UPDATE actions SET superseded = true
WHERE NOT superseded AND id IN (SELECT action_id FROM parts WHERE stream = $1 AND action_id <> $2)`, s.name, a.ID)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("audit: write %s at %s into action %s: %w", e.ID, e.Position, a.ID, err)
	}
	return nil
}

// queueMarkReferred moves the action an undo or redo refers to: undone
// (by which undo, and where: that orders redos) or redone.
func queueMarkReferred(b *pgx.Batch, a *actionRow, e projections.Event) {
	if a.RefersTo == nil || a.State == string(audit.Failed) {
		return
	}
	switch audit.Nature(a.Nature) {
	case audit.Undo:
		at := position(e.Position)
		b.Queue(`
UPDATE actions SET state = 'undone', undone_by = $2, undone_commit = $3, undone_prepare = $4,
    updated_at = greatest(updated_at, $5)
WHERE id = $1 AND state = 'done'`, *a.RefersTo, a.ID, at[0], at[1], e.Meta.OccurredAt)
	case audit.Redo:
		b.Queue(`
UPDATE actions SET state = 'redone', updated_at = greatest(updated_at, $2)
WHERE id = $1 AND state = 'undone'`, *a.RefersTo, e.Meta.OccurredAt)
	}
}

// newPart starts the part of a stream that an entry's first event on it
// opens, with the stream's view before it.
func newPart(actionID string, s stream, e projections.Event, before any) (*partRow, error) {
	at := position(e.Position)
	part := &partRow{
		ActionID: actionID, Stream: s.name, Kind: s.kindName, StreamID: s.id, Role: string(s.role),
		VersionBefore: e.Version - 1, PositionCommit: at[0], PositionPrepare: at[1], New: true,
	}
	if s.kind != nil {
		part.Restorable, part.Facet = s.kind.Restorable(), optional(s.kind.Facet())
		var err error
		if part.ViewBefore, err = view(s.kind, before); err != nil {
			return nil, err
		}
	}
	return part, nil
}

// addToPart extends a part with one of its events.
func (p *projector) addToPart(part *partRow, s stream, e projections.Event, after any) error {
	part.VersionAfter = e.Version
	part.Sensitive = part.Sensitive || p.catalog.Sensitive(e.Type)
	var child audit.Child
	switch {
	case s.kind != nil:
		part.ResourceKind, part.ResourceID = optional(s.kind.Resource()), optional(s.kind.Owner(after, s.id))
		var err error
		if part.ViewAfter, err = view(s.kind, after); err != nil {
			return err
		}
		child, _ = s.kind.Child(e.Payload)
	case s.role == audit.Other:
		part.ResourceKind, part.ResourceID = &part.Kind, &part.StreamID
	}
	if part.New {
		part.ChildKind, part.ChildID = optional(child.Kind), optional(child.ID)
	} else if child.Kind != deref(part.ChildKind) || child.ID != deref(part.ChildID) {
		part.Mixed = true
	}
	return nil
}

// view renders a state's view as JSON; nil when nothing is shown.
func view(k audit.Kind, state any) (json.RawMessage, error) {
	v := k.View(state)
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: encode %s view: %w", k.Name(), err)
	}
	return b, nil
}
