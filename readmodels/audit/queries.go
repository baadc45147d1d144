package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/eventstore"
)

// Entry is an action log entry as the API shows it (the shape of the
// mercato seed's action logs). The realms served so far have no tenants,
// so tenantId and tenantName are always null.
type Entry struct {
	ID                 string          `json:"id"`
	CommandID          string          `json:"commandId"`
	ActionLabel        *string         `json:"actionLabel"`
	ExecutionState     string          `json:"executionState"`
	ActorUserID        *string         `json:"actorUserId"`
	ActorUserName      *string         `json:"actorUserName"`
	TenantID           *string         `json:"tenantId"`
	TenantName         *string         `json:"tenantName"`
	OrganizationID     *string         `json:"organizationId"`
	OrganizationName   *string         `json:"organizationName"`
	ResourceKind       *string         `json:"resourceKind"`
	ResourceID         *string         `json:"resourceId"`
	ParentResourceKind *string         `json:"parentResourceKind"`
	ParentResourceID   *string         `json:"parentResourceId"`
	UndoToken          *string         `json:"undoToken"`
	CreatedAt          time.Time       `json:"createdAt"`
	UpdatedAt          time.Time       `json:"updatedAt"`
	SnapshotBefore     json.RawMessage `json:"snapshotBefore"`
	SnapshotAfter      json.RawMessage `json:"snapshotAfter"`
	Changes            json.RawMessage `json:"changes"`
	Context            json.RawMessage `json:"context"`
	// Error tells why a failed command was refused ({code, message}).
	Error json.RawMessage `json:"error"`
}

// requestContext is what the log shows of the request behind a command.
type requestContext struct {
	RequestID  string `json:"requestId,omitempty"`
	ClientAddr string `json:"clientAddr,omitempty"`
	UserAgent  string `json:"userAgent,omitempty"`
}

// ContextOf renders the request behind a command as entries and histories
// show it; nil when the command came from no request.
func ContextOf(r *eventstore.RequestInfo) (json.RawMessage, error) {
	if r == nil {
		return nil, nil
	}
	b, err := json.Marshal(requestContext{RequestID: r.RequestID, ClientAddr: r.ClientAddr, UserAgent: r.UserAgent})
	if err != nil {
		return nil, fmt.Errorf("audit: encode request context: %w", err)
	}
	return b, nil
}

// Filter selects entries of one realm. Empty fields do not filter.
type Filter struct {
	Realm          string
	ActorID        string
	OrganizationID string
	ResourceKind   string
	ResourceID     string
	// IncludeRelated also selects actions on the children of the resource.
	IncludeRelated bool
	// UndoableOnly selects the actions that show an undo token.
	UndoableOnly bool
	Before       time.Time
	After        time.Time
	Limit        int
}

// Queries reads the action log.
type Queries struct {
	pool *pgxpool.Pool
}

// NewQueries returns the queries over a pool holding the annals_audit schema.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// undoTokenSQL shows an action's token while it can be undone: not undone
// yet and nothing changed its resources since.
const undoTokenSQL = `CASE WHEN state = 'done' AND NOT superseded THEN token END`

// Actions returns the entries a filter selects, newest first.
func (q *Queries) Actions(ctx context.Context, f Filter) ([]Entry, error) {
	var w where
	w.add("realm = $%d", f.Realm)
	if f.ActorID != "" {
		w.add("actor_id = $%d", f.ActorID)
	}
	if f.OrganizationID != "" {
		w.add("organization_id = $%d", f.OrganizationID)
	}
	if f.ResourceKind != "" || f.ResourceID != "" {
		own := w.match("resource_kind", "resource_id", f.ResourceKind, f.ResourceID)
		if f.IncludeRelated {
			own = "(" + own + " OR " + w.match("parent_kind", "parent_id", f.ResourceKind, f.ResourceID) + ")"
		}
		w.conds = append(w.conds, own)
	}
	if f.UndoableOnly {
		w.conds = append(w.conds, undoTokenSQL+" IS NOT NULL")
	}
	if !f.Before.IsZero() {
		w.add("created_at < $%d", f.Before)
	}
	if !f.After.IsZero() {
		w.add("created_at > $%d", f.After)
	}
	w.args = append(w.args, f.Limit)
	rows, _ := q.pool.Query(ctx, `
SELECT id, label, state, actor_id, actor_name, organization_id, organization_name,
    resource_kind, resource_id, parent_kind, parent_id, `+undoTokenSQL+`,
    created_at, updated_at, snapshot_before, snapshot_after, changes, context, error
FROM annals_audit.actions
WHERE `+strings.Join(w.conds, " AND ")+`
ORDER BY position_commit DESC, position_prepare DESC
LIMIT $`+strconv.Itoa(len(w.args)), w.args...)
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := row.Scan(&e.ID, &e.ActionLabel, &e.ExecutionState, &e.ActorUserID, &e.ActorUserName,
			&e.OrganizationID, &e.OrganizationName, &e.ResourceKind, &e.ResourceID, &e.ParentResourceKind, &e.ParentResourceID,
			&e.UndoToken, &e.CreatedAt, &e.UpdatedAt, &e.SnapshotBefore, &e.SnapshotAfter, &e.Changes, &e.Context, &e.Error)
		e.CommandID, e.CreatedAt, e.UpdatedAt = e.ID, e.CreatedAt.UTC(), e.UpdatedAt.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit query: actions: %w", err)
	}
	return entries, nil
}

// where builds a WHERE clause with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose one parameter is %d.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, fmt.Sprintf(cond, len(w.args)))
}

// match is the condition that a kind and id column hold the given values,
// ignoring those that are empty.
func (w *where) match(kindColumn, idColumn, kind, id string) string {
	var conds []string
	if kind != "" {
		w.args = append(w.args, kind)
		conds = append(conds, fmt.Sprintf("%s = $%d", kindColumn, len(w.args)))
	}
	if id != "" {
		w.args = append(w.args, id)
		conds = append(conds, fmt.Sprintf("%s = $%d", idColumn, len(w.args)))
	}
	return "(" + strings.Join(conds, " AND ") + ")"
}

// Action returns one action of a realm with the streams it changed, for
// redo; audit.ErrUnknownAction when there is none.
func (q *Queries) Action(ctx context.Context, realm, id string) (audit.Action, error) {
	if _, err := uuid.Parse(id); err != nil {
		return audit.Action{}, audit.ErrUnknownAction
	}
	return q.action(ctx, audit.ErrUnknownAction, `realm = $1 AND id = $2`, realm, id)
}

// ActionByToken returns the action an undo token names, for undo;
// audit.ErrUnknownToken when there is none.
func (q *Queries) ActionByToken(ctx context.Context, realm, token string) (audit.Action, error) {
	return q.action(ctx, audit.ErrUnknownToken, `realm = $1 AND token = $2`, realm, token)
}

func (q *Queries) action(ctx context.Context, missing error, cond string, args ...any) (audit.Action, error) {
	var (
		a        audit.Action
		actor    *string
		undoneBy *string
	)
	err := q.pool.QueryRow(ctx, `
SELECT id, actor_id, nature, state, sensitive, restorable, undone_by FROM annals_audit.actions WHERE `+cond, args...).
		Scan(&a.ID, &actor, &a.Nature, &a.State, &a.Sensitive, &a.Restorable, &undoneBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Action{}, missing
	}
	if err != nil {
		return audit.Action{}, fmt.Errorf("audit query: action: %w", err)
	}
	a.ActorID, a.UndoneBy = deref(actor), deref(undoneBy)
	rows, _ := q.pool.Query(ctx, `
SELECT kind, stream_id, restorable, version_before, version_after FROM annals_audit.parts
WHERE action_id = $1 ORDER BY position_commit, position_prepare`, a.ID)
	a.Parts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Part, error) {
		var p audit.Part
		return p, row.Scan(&p.Kind, &p.ID, &p.Restorable, &p.Before, &p.After)
	})
	if err != nil {
		return audit.Action{}, fmt.Errorf("audit query: parts of %s: %w", a.ID, err)
	}
	return a, nil
}

// LatestUndoable returns the id of an actor's latest action of the kind
// undo takes back that is not undone ("" when none).
func (q *Queries) LatestUndoable(ctx context.Context, realm, actorID string) (string, error) {
	return q.latest(ctx, `token IS NOT NULL AND state = 'done' ORDER BY position_commit DESC, position_prepare DESC`, realm, actorID)
}

// LatestUndone returns the id of the action an actor undid last ("" when
// none is undone).
func (q *Queries) LatestUndone(ctx context.Context, realm, actorID string) (string, error) {
	return q.latest(ctx, `state = 'undone' ORDER BY undone_commit DESC, undone_prepare DESC`, realm, actorID)
}

func (q *Queries) latest(ctx context.Context, condAndOrder, realm, actorID string) (string, error) {
	var id string
	err := q.pool.QueryRow(ctx, `SELECT id FROM annals_audit.actions WHERE realm = $1 AND actor_id = $2 AND `+condAndOrder+` LIMIT 1`,
		realm, actorID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("audit query: latest action of %s: %w", actorID, err)
	}
	return id, nil
}

// ActedOn reports whether an actor's actions include one on a resource or
// on a child of it.
func (q *Queries) ActedOn(ctx context.Context, realm, actorID, kind, id string) (bool, error) {
	var acted bool
	err := q.pool.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM annals_audit.actions WHERE realm = $1 AND actor_id = $2
    AND ((resource_kind = $3 AND resource_id = $4) OR (parent_kind = $3 AND parent_id = $4)))`,
		realm, actorID, kind, id).Scan(&acted)
	if err != nil {
		return false, fmt.Errorf("audit query: actions of %s on %s %s: %w", actorID, kind, id, err)
	}
	return acted, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
