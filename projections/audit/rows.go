package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
	readmodel "github.com/annals-dev/annals/readmodels/audit"
)

// actionRow is an actions row, without the columns only the
// undo of the action moves (see queueMarkReferred).
type actionRow struct {
	ID               string          `db:"id"`
	Realm            string          `db:"realm"`
	Command          string          `db:"command"`
	Nature           string          `db:"nature"`
	RefersTo         *string         `db:"refers_to"`
	Subject          string          `db:"subject"`
	Label            string          `db:"label"`
	State            string          `db:"state"`
	ActorID          *string         `db:"actor_id"`
	ActorName        *string         `db:"actor_name"`
	ResourceKind     *string         `db:"resource_kind"`
	ResourceID       *string         `db:"resource_id"`
	ParentKind       *string         `db:"parent_kind"`
	ParentID         *string         `db:"parent_id"`
	OrganizationID   *string         `db:"organization_id"`
	OrganizationName *string         `db:"organization_name"`
	Sensitive        bool            `db:"sensitive"`
	Restorable       bool            `db:"restorable"`
	Superseded       bool            `db:"superseded"`
	Token            *string         `db:"token"`
	SnapshotBefore   json.RawMessage `db:"snapshot_before"`
	SnapshotAfter    json.RawMessage `db:"snapshot_after"`
	Changes          json.RawMessage `db:"changes"`
	Context          json.RawMessage `db:"context"`
	Error            json.RawMessage `db:"error"`
	CreatedAt        time.Time       `db:"created_at"`
	UpdatedAt        time.Time       `db:"updated_at"`
	PositionCommit   int64           `db:"position_commit"`
	PositionPrepare  int64           `db:"position_prepare"`
}

const actionColumns = `id, realm, command, nature, refers_to, subject, label, state, actor_id, actor_name,
resource_kind, resource_id, parent_kind, parent_id, organization_id, organization_name,
sensitive, restorable, superseded, token, snapshot_before, snapshot_after, changes, context, error,
created_at, updated_at, position_commit, position_prepare`

// entryID is the id of an event's entry: its command's.
func entryID(e projections.Event) uuid.UUID {
	if e.Meta.CommandID == uuid.Nil {
		return e.ID // an event no command wrote is an action of its own
	}
	return e.Meta.CommandID
}

// referredBy is the action an undo's or redo's event names as its cause
// (uuid.Nil for other events, and for a refused undo or redo, which names
// nothing).
func referredBy(e projections.Event) uuid.UUID {
	c := e.Meta.CausationID
	if audit.NatureOf(e.Meta.Command) == audit.Command || c == e.Meta.CommandID {
		return uuid.Nil
	}
	return c
}

// newEntry starts the entry an event opens; an undo or redo is about the
// subject of the action it names (referred).
func (p *projector) newEntry(e projections.Event, referred string) (*actionRow, error) {
	at := position(e.Position)
	a := &actionRow{
		ID: entryID(e).String(), Realm: p.realm, Command: e.Meta.Command, Nature: string(audit.NatureOf(e.Meta.Command)),
		Subject: e.Meta.Command, Label: e.Meta.Command, State: string(audit.Done),
		CreatedAt: e.Meta.OccurredAt, UpdatedAt: e.Meta.OccurredAt, PositionCommit: at[0], PositionPrepare: at[1],
	}
	var err error
	if a.Context, err = readmodel.ContextOf(e.Meta.Request); err != nil {
		return nil, err
	}
	if refers := referredBy(e); refers != uuid.Nil {
		id := refers.String()
		a.RefersTo = &id
		if referred != "" {
			a.Subject = referred
		}
		a.Label = labels[audit.Nature(a.Nature)] + " " + a.Subject
	}
	return a, nil
}

// labels start the labels of undos and redos.
var labels = map[audit.Nature]string{audit.Undo: "Undo", audit.Redo: "Redo"}

// takeIn widens an entry's time span and place in the log to one more of
// its events.
func (a *actionRow) takeIn(e projections.Event) {
	if at := position(e.Position); less(at, [2]int64{a.PositionCommit, a.PositionPrepare}) {
		a.PositionCommit, a.PositionPrepare = at[0], at[1]
	}
	if e.Meta.OccurredAt.Before(a.CreatedAt) {
		a.CreatedAt = e.Meta.OccurredAt
	}
	if a.UpdatedAt.Before(e.Meta.OccurredAt) {
		a.UpdatedAt = e.Meta.OccurredAt
	}
}

func (a *actionRow) queueSave(b *pgx.Batch) {
	b.Queue(`
INSERT INTO actions (`+actionColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
ON CONFLICT (id) DO UPDATE SET
    state = EXCLUDED.state, actor_id = EXCLUDED.actor_id, actor_name = EXCLUDED.actor_name,
    resource_kind = EXCLUDED.resource_kind, resource_id = EXCLUDED.resource_id,
    parent_kind = EXCLUDED.parent_kind, parent_id = EXCLUDED.parent_id,
    organization_id = EXCLUDED.organization_id, organization_name = EXCLUDED.organization_name,
    sensitive = EXCLUDED.sensitive, restorable = EXCLUDED.restorable, token = EXCLUDED.token,
    snapshot_before = EXCLUDED.snapshot_before, snapshot_after = EXCLUDED.snapshot_after,
    changes = EXCLUDED.changes, error = EXCLUDED.error,
    created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
    position_commit = EXCLUDED.position_commit, position_prepare = EXCLUDED.position_prepare`,
		a.ID, a.Realm, a.Command, a.Nature, a.RefersTo, a.Subject, a.Label, a.State, a.ActorID, a.ActorName,
		a.ResourceKind, a.ResourceID, a.ParentKind, a.ParentID, a.OrganizationID, a.OrganizationName,
		a.Sensitive, a.Restorable, a.Superseded, a.Token, a.SnapshotBefore, a.SnapshotAfter, a.Changes, a.Context, a.Error,
		a.CreatedAt, a.UpdatedAt, a.PositionCommit, a.PositionPrepare)
}

// partRow is an parts row.
type partRow struct {
	ActionID        string          `db:"action_id"`
	Stream          string          `db:"stream"`
	Kind            string          `db:"kind"`
	StreamID        string          `db:"stream_id"`
	Role            string          `db:"role"`
	ResourceKind    *string         `db:"resource_kind"`
	ResourceID      *string         `db:"resource_id"`
	Facet           *string         `db:"facet"`
	Restorable      bool            `db:"restorable"`
	Sensitive       bool            `db:"sensitive"`
	ChildKind       *string         `db:"child_kind"`
	ChildID         *string         `db:"child_id"`
	Mixed           bool            `db:"mixed"`
	VersionBefore   int64           `db:"version_before"`
	VersionAfter    int64           `db:"version_after"`
	ViewBefore      json.RawMessage `db:"view_before"`
	ViewAfter       json.RawMessage `db:"view_after"`
	PositionCommit  int64           `db:"position_commit"`
	PositionPrepare int64           `db:"position_prepare"`
	// New: the part's first event is being applied.
	New bool `db:"-"`
}

const partColumns = `action_id, stream, kind, stream_id, role, resource_kind, resource_id, facet, restorable, sensitive,
child_kind, child_id, mixed, version_before, version_after, view_before, view_after, position_commit, position_prepare`

// partsOf are an action's parts, in the order of their first events.
type partsOf []*partRow

func (ps partsOf) of(stream string) *partRow {
	if i := slices.IndexFunc(ps, func(p *partRow) bool { return p.Stream == stream }); i >= 0 {
		return ps[i]
	}
	return nil
}

func (p *partRow) queueSave(b *pgx.Batch) {
	b.Queue(`
INSERT INTO parts (`+partColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (action_id, stream) DO UPDATE SET
    resource_kind = EXCLUDED.resource_kind, resource_id = EXCLUDED.resource_id, sensitive = EXCLUDED.sensitive,
    child_kind = EXCLUDED.child_kind, child_id = EXCLUDED.child_id, mixed = EXCLUDED.mixed,
    version_after = EXCLUDED.version_after, view_after = EXCLUDED.view_after`,
		p.ActionID, p.Stream, p.Kind, p.StreamID, p.Role, p.ResourceKind, p.ResourceID, p.Facet, p.Restorable, p.Sensitive,
		p.ChildKind, p.ChildID, p.Mixed, p.VersionBefore, p.VersionAfter, p.ViewBefore, p.ViewAfter, p.PositionCommit, p.PositionPrepare)
}

// rank orders the roles a part may have as the action's main resource.
var rank = map[audit.Role]int{audit.Resource: 0, audit.Facet: 1, audit.Attached: 2, audit.Other: 3}

// derive recomputes what an entry shows from its parts: its resource,
// snapshots and changes, whether it may be undone and its token.
func derive(a *actionRow, parts partsOf) error {
	// In log order, whichever order the parts were added in.
	slices.SortFunc(parts, func(x, y *partRow) int {
		return cmp.Or(cmp.Compare(x.PositionCommit, y.PositionCommit), cmp.Compare(x.PositionPrepare, y.PositionPrepare))
	})
	a.Sensitive = false
	anyRestorable, allRestorable := false, true
	var main *partRow
	for _, part := range parts {
		a.Sensitive = a.Sensitive || part.Sensitive
		role := audit.Role(part.Role)
		anyRestorable = anyRestorable || part.Restorable
		allRestorable = allRestorable && (part.Restorable || role == audit.Internal)
		if r, shown := rank[role]; shown && part.ResourceKind != nil && (main == nil || r < rank[audit.Role(main.Role)]) {
			main = part
		}
	}
	a.Restorable = anyRestorable && allRestorable
	a.ResourceKind, a.ResourceID, a.ParentKind, a.ParentID = nil, nil, nil, nil
	a.OrganizationID, a.OrganizationName = nil, nil
	a.SnapshotBefore, a.SnapshotAfter, a.Changes = nil, nil, nil
	if main != nil {
		a.ResourceKind, a.ResourceID = main.ResourceKind, main.ResourceID
		if audit.Role(main.Role) == audit.Resource && main.ChildKind != nil && !main.Mixed {
			a.ResourceKind, a.ResourceID, a.ParentKind, a.ParentID = main.ChildKind, main.ChildID, main.ResourceKind, main.ResourceID
		}
		if err := snapshots(a, main, parts); err != nil {
			return err
		}
	}
	a.Token = nil
	undoable := audit.Action{Nature: audit.Nature(a.Nature), State: audit.State(a.State), Sensitive: a.Sensitive, Restorable: a.Restorable}
	if undoable.Undoable() {
		token := audit.Token(a.ID)
		a.Token = &token
	}
	return nil
}

// snapshots composes the snapshots of main's resource before and after
// the action from the parts about it, and the changes between them.
func snapshots(a *actionRow, main *partRow, parts partsOf) error {
	role := audit.Role(main.Role)
	if role != audit.Resource && role != audit.Facet {
		return nil
	}
	var own *partRow
	before, after := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for _, part := range parts {
		if deref(part.ResourceKind) != *main.ResourceKind || deref(part.ResourceID) != *main.ResourceID {
			continue
		}
		switch audit.Role(part.Role) {
		case audit.Resource:
			own = part
		case audit.Facet:
			before[*part.Facet], after[*part.Facet] = orNull(part.ViewBefore), orNull(part.ViewAfter)
		}
	}
	var ownBefore, ownAfter json.RawMessage
	if own != nil {
		ownBefore, ownAfter = own.ViewBefore, own.ViewAfter
	}
	var err error
	if a.SnapshotBefore, err = audit.Snapshot(ownBefore, own != nil, before); err != nil {
		return err
	}
	if a.SnapshotAfter, err = audit.Snapshot(ownAfter, own != nil, after); err != nil {
		return err
	}
	changes, err := audit.Changes(a.SnapshotBefore, a.SnapshotAfter)
	if err != nil {
		return err
	}
	if changes != nil {
		if a.Changes, err = json.Marshal(changes); err != nil {
			return fmt.Errorf("audit: encode changes: %w", err)
		}
	}
	if *main.ResourceKind == organization.Kind {
		a.OrganizationID = main.ResourceID
		a.OrganizationName = nameIn(a.SnapshotAfter, a.SnapshotBefore)
	}
	return nil
}

// nameIn returns the name the first snapshot that exists shows.
func nameIn(snapshots ...json.RawMessage) *string {
	for _, s := range snapshots {
		var v struct{ Name *string }
		if json.Unmarshal(s, &v) == nil && v.Name != nil {
			return v.Name
		}
	}
	return nil
}

// position is where an event is in the log, as stored (Apply checked that
// it fits).
func position(p eventstore.Position) [2]int64 { return [2]int64{int64(p.Commit), int64(p.Prepare)} }

func less(a, b [2]int64) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	return v
}
