package auditapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
)

// history is a resource's history as the API answers it.
type history struct {
	ResourceKind string         `json:"resourceKind"`
	ResourceID   string         `json:"resourceId"`
	Version      int64          `json:"version"`
	State        map[string]any `json:"state"`
	Events       []struct {
		ID          string                     `json:"id"`
		Type        string                     `json:"type"`
		Stream      string                     `json:"stream"`
		Version     int64                      `json:"version"`
		OccurredAt  time.Time                  `json:"occurredAt"`
		CommandID   string                     `json:"commandId"`
		ActionLabel string                     `json:"actionLabel"`
		ActorUserID *string                    `json:"actorUserId"`
		Changes     map[string]json.RawMessage `json:"changes"`
	} `json:"events"`
}

func historyOf(t *testing.T, env *dialecttest.Env, token, kind, id, asOf string) dialecttest.Response {
	t.Helper()
	path := "/_annals/history/" + kind + "/" + id
	if asOf != "" {
		path += "?asOf=" + url.QueryEscape(asOf)
	}
	return env.JSON(t, http.MethodGet, path, token, nil)
}

func readHistory(t *testing.T, env *dialecttest.Env, token, kind, id, asOf string) history {
	t.Helper()
	var h history
	historyOf(t, env, token, kind, id, asOf).Expect(t, http.StatusOK).Decode(t, &h)
	return h
}

func TestHistoryAndTimeTravel(t *testing.T) {
	owner, outsider, admin := sartiqSignup(t, "historian"), sartiqSignup(t, "outsider"), sartiqAdmin(t)
	o := createOrg(t, owner, "First")
	sartiqEnv.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"name": "Second"}).Expect(t, http.StatusOK)
	sartiqEnv.JSON(t, http.MethodPut, orgPath(o.ID, ""), owner.token, map[string]any{"name": "Third"}).Expect(t, http.StatusOK)

	h := readHistory(t, sartiqEnv, owner.token, "organization", o.ID, "")
	if len(h.Events) != 4 || h.Version != 3 || h.State["name"] != "Third" {
		t.Fatalf("history %+v", h)
	}
	created, renamed := h.Events[0], h.Events[2]
	if created.Type != "organization.Created" || created.ActionLabel != "CreateOrganization" || deref(created.ActorUserID) != owner.ID ||
		h.Events[1].CommandID != created.CommandID || string(renamed.Changes["name"]) != `{"from":"First","to":"Second"}` {
		t.Fatalf("events %+v", h.Events)
	}

	byVersion := readHistory(t, sartiqEnv, owner.token, "organization", o.ID, "2")
	if byVersion.Version != 2 || byVersion.State["name"] != "Second" || len(byVersion.Events) != 3 {
		t.Fatalf("as of version 2: %+v", byVersion)
	}
	byTime := readHistory(t, sartiqEnv, owner.token, "organization", o.ID, renamed.OccurredAt.Format(time.RFC3339Nano))
	if byTime.Version != 2 || byTime.State["name"] != "Second" {
		t.Fatalf("as of the first rename: %+v", byTime)
	}
	if before := readHistory(t, sartiqEnv, owner.token, "organization", o.ID, "2000-01-01T00:00:00Z"); before.State != nil || before.Version != -1 {
		t.Fatalf("as of before it existed: %+v", before)
	}

	// Deleted, it still has a history, and its state as of before shows it.
	sartiqEnv.JSON(t, http.MethodDelete, orgPath(o.ID, ""), owner.token, nil).Expect(t, http.StatusOK)
	if gone := readHistory(t, sartiqEnv, owner.token, "organization", o.ID, ""); gone.State != nil || len(gone.Events) != 5 {
		t.Fatalf("after deletion: %+v", gone)
	}
	if was := readHistory(t, sartiqEnv, owner.token, "organization", o.ID, "3"); was.State["name"] != "Third" {
		t.Fatalf("as of before the deletion: %+v", was)
	}

	// Only those who acted on it, and superusers, see it.
	historyOf(t, sartiqEnv, outsider.token, "organization", o.ID, "").Expect(t, http.StatusNotFound)
	readHistory(t, sartiqEnv, admin.token, "organization", o.ID, "")
	historyOf(t, sartiqEnv, owner.token, "organization", o.ID, "yesterday").Expect(t, http.StatusBadRequest)
	historyOf(t, sartiqEnv, admin.token, "nothing", o.ID, "").Expect(t, http.StatusNotFound)

	// A user's history shows no secret.
	res := historyOf(t, sartiqEnv, owner.token, "user", owner.ID, "").Expect(t, http.StatusOK)
	if strings.Contains(string(res.Body), "$2a$") || strings.Contains(string(res.Body), "password") {
		t.Fatalf("a user's history shows a secret: %s", res.Body)
	}
}
