package auditapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/annals-dev/annals/adapters/http/civic"
	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/sartiq"
)

// The audit API is the same core in every dialect; these tests drive it
// through the two that exist, each on its own database.
var sartiqEnv, civicEnv *dialecttest.Env

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	if sartiqEnv, err = dialecttest.Start(ctx, "audit_sartiq", sartiq.New, dialecttest.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	newCivic := func(deps kit.Deps) *civic.Dialect { return civic.New(deps) }
	if civicEnv, err = dialecttest.Start(ctx, "audit_civic", newCivic, dialecttest.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, errors.Join(err, sartiqEnv.Close()))
		return 1
	}
	code := m.Run()
	if err := errors.Join(sartiqEnv.Close(), civicEnv.Close()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// entry is an action log entry as the API answers it.
type entry struct {
	ID                 string                     `json:"id"`
	CommandID          string                     `json:"commandId"`
	ActionLabel        *string                    `json:"actionLabel"`
	ExecutionState     string                     `json:"executionState"`
	ActorUserID        *string                    `json:"actorUserId"`
	ActorUserName      *string                    `json:"actorUserName"`
	TenantID           *string                    `json:"tenantId"`
	OrganizationID     *string                    `json:"organizationId"`
	OrganizationName   *string                    `json:"organizationName"`
	ResourceKind       *string                    `json:"resourceKind"`
	ResourceID         *string                    `json:"resourceId"`
	ParentResourceKind *string                    `json:"parentResourceKind"`
	ParentResourceID   *string                    `json:"parentResourceId"`
	UndoToken          *string                    `json:"undoToken"`
	CreatedAt          time.Time                  `json:"createdAt"`
	UpdatedAt          time.Time                  `json:"updatedAt"`
	SnapshotBefore     map[string]any             `json:"snapshotBefore"`
	SnapshotAfter      map[string]any             `json:"snapshotAfter"`
	Changes            map[string]json.RawMessage `json:"changes"`
	Context            map[string]string          `json:"context"`
	Error              *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (e entry) label() string { return deref(e.ActionLabel) }

// entryKeys are the keys of an entry: the mercato seed's, and why a failed
// command was refused.
var entryKeys = []string{
	"id", "commandId", "actionLabel", "executionState", "actorUserId", "actorUserName", "tenantId", "tenantName",
	"organizationId", "organizationName", "resourceKind", "resourceId", "parentResourceKind", "parentResourceId",
	"undoToken", "createdAt", "updatedAt", "snapshotBefore", "snapshotAfter", "changes", "context", "error",
}

// actionList is the listing's answer.
type actionList struct {
	Items         []entry `json:"items"`
	CanViewTenant bool    `json:"canViewTenant"`
}

// listActions lists the actions a token's user sees, with a query.
func listActions(t *testing.T, env *dialecttest.Env, token string, query url.Values) actionList {
	t.Helper()
	var l actionList
	env.JSON(t, http.MethodGet, "/_annals/audit/actions?"+query.Encode(), token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

// latest is the newest action a token's user sees on a resource.
func latest(t *testing.T, env *dialecttest.Env, token, kind, id string) entry {
	t.Helper()
	l := listActions(t, env, token, url.Values{"resourceKind": {kind}, "resourceId": {id}, "limit": {"1"}})
	if len(l.Items) == 0 {
		t.Fatalf("no action on %s %s", kind, id)
	}
	return l.Items[0]
}

// undo posts an undo token.
func undo(t *testing.T, env *dialecttest.Env, token, undoToken string) dialecttest.Response {
	t.Helper()
	return env.JSON(t, http.MethodPost, "/_annals/audit/actions/undo", token, map[string]string{"undoToken": undoToken})
}

// redo posts a log id.
func redo(t *testing.T, env *dialecttest.Env, token, logID string) dialecttest.Response {
	t.Helper()
	return env.JSON(t, http.MethodPost, "/_annals/audit/actions/redo", token, map[string]string{"logId": logID})
}

// undone is an undo's answer; redone a redo's.
type undone struct {
	OK    bool   `json:"ok"`
	LogID string `json:"logId"`
}

type redone struct {
	OK        bool   `json:"ok"`
	LogID     string `json:"logId"`
	UndoToken string `json:"undoToken"`
}

// undoLatest undoes the newest action of a token's user on a resource and
// returns the action undone.
func undoLatest(t *testing.T, env *dialecttest.Env, token, kind, id string) entry {
	t.Helper()
	e := latest(t, env, token, kind, id)
	if e.UndoToken == nil {
		t.Fatalf("%s on %s %s has no undo token: %+v", e.label(), kind, id, e)
	}
	var u undone
	undo(t, env, token, *e.UndoToken).Expect(t, http.StatusOK).Decode(t, &u)
	if !u.OK || u.LogID != e.ID {
		t.Fatalf("undo of %s answered %+v", e.ID, u)
	}
	return e
}

// redoAction redoes an undone action and returns the redo's answer.
func redoAction(t *testing.T, env *dialecttest.Env, token, logID string) redone {
	t.Helper()
	var r redone
	redo(t, env, token, logID).Expect(t, http.StatusOK).Decode(t, &r)
	if !r.OK || r.LogID == "" || r.LogID == logID || r.UndoToken == "" {
		t.Fatalf("redo of %s answered %+v", logID, r)
	}
	return r
}

// find returns the entry with an id among a listing's.
func find(t *testing.T, l actionList, id string) entry {
	t.Helper()
	for _, e := range l.Items {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no entry %s among %d", id, len(l.Items))
	return entry{}
}

// expectRefused asserts a 400 whose detail says msg.
func expectRefused(t *testing.T, res dialecttest.Response, msg string) {
	t.Helper()
	res.Expect(t, http.StatusBadRequest)
	var body struct{ Detail string }
	res.Decode(t, &body)
	if body.Detail != msg {
		t.Fatalf("%s: detail %q, want %q", res.Request, body.Detail, msg)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// expectKeys fails unless obj has exactly these keys.
func expectKeys(t *testing.T, obj map[string]any, keys ...string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(obj))
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
}
