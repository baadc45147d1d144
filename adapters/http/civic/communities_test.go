package civic_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

type communityItem struct{ ID, Name, Logo string }

type joinRequest struct {
	ID          string  `json:"id"`
	CommunityID string  `json:"community_id"`
	UserID      string  `json:"user_id"`
	Message     *string `json:"message"`
	Status      string  `json:"status"`
	CreatedAt   string  `json:"created_at"`
	DecidedAt   *string `json:"decided_at"`
}

func newCommunity(t *testing.T, admin, name string) string {
	t.Helper()
	var c communityItem
	env.JSON(t, http.MethodPost, "/api/v1/communities/", admin, map[string]string{"name": name}).Expect(t, http.StatusCreated).Decode(t, &c)
	return c.ID
}

func TestCommunityLifecycle(t *testing.T) {
	admin := adminToken(t)
	_, token := userToken(t)
	var c communityItem
	env.JSON(t, http.MethodPost, "/api/v1/communities/", admin, map[string]string{"name": "Old Town", "logo": "old.png"}).
		Expect(t, http.StatusCreated).Decode(t, &c)
	if c.ID == "" || c.Name != "Old Town" || c.Logo != "old.png" {
		t.Fatalf("created community: %+v", c)
	}
	var list struct {
		Status, Message string
		Data            []communityItem
	}
	env.JSON(t, http.MethodGet, "/api/v1/communities/", token, nil).Expect(t, http.StatusOK).Decode(t, &list)
	if list.Status != "success" || list.Message == "" || !containsCommunity(list.Data, c) {
		t.Fatalf("community listing: %+v", list)
	}
	var got communityItem
	env.JSON(t, http.MethodPut, "/api/v1/communities/"+c.ID, admin, map[string]any{"name": "New Town", "logo": nil}).
		Expect(t, http.StatusOK).Decode(t, &got)
	if got != (communityItem{ID: c.ID, Name: "New Town", Logo: "old.png"}) {
		t.Fatalf("updated community: %+v", got)
	}
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+c.ID, token, nil).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Name != "New Town" {
		t.Fatalf("read community: %+v", got)
	}
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/communities/", admin, map[string]string{}), "name", "missing")
	expectInvalid(t, env.JSON(t, http.MethodPut, "/api/v1/communities/"+c.ID, admin, map[string]any{"name": ""}), "name", "string_too_short")
	env.JSON(t, http.MethodPut, "/api/v1/communities/"+uuid.NewString(), admin, map[string]any{"name": "x"}).Expect(t, http.StatusNotFound)

	env.JSON(t, http.MethodDelete, "/api/v1/communities/"+c.ID, admin, nil).Expect(t, http.StatusNoContent)
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+c.ID, token, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodDelete, "/api/v1/communities/"+c.ID, admin, nil).Expect(t, http.StatusNotFound)
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+c.ID+"/members", admin, nil).Expect(t, http.StatusNotFound)
}

func TestJoinRequests(t *testing.T) {
	admin := adminToken(t)
	a, token := userToken(t)
	b := newAccount(t, "")
	communityID := newCommunity(t, admin, "Riverside")
	ask := func(token, userID string, message any) (int, joinRequest) {
		var r joinRequest
		res := env.JSON(t, http.MethodPost, "/api/v1/communities/join-requests", token,
			map[string]any{"community_id": communityID, "user_id": userID, "message": message})
		if res.Status == http.StatusCreated {
			res.Decode(t, &r)
		}
		return res.Status, r
	}

	status, req := ask(token, a.ID, "let me in")
	if status != http.StatusCreated || req.ID == "" || req.Status != "pending" || req.Message == nil || *req.Message != "let me in" ||
		req.UserID != a.ID || req.CommunityID != communityID || req.DecidedAt != nil {
		t.Fatalf("join request: %d %+v", status, req)
	}
	if status, _ := ask(token, a.ID, nil); status != http.StatusBadRequest {
		t.Fatalf("second pending request: %d, want 400", status)
	}
	if status, _ := ask(token, b.ID, nil); status != http.StatusForbidden {
		t.Fatalf("request for someone else: %d, want 403", status)
	}
	status, reqB := ask(admin, b.ID, nil)
	if status != http.StatusCreated || reqB.Message != nil {
		t.Fatalf("superuser files for b: %d %+v", status, reqB)
	}
	unknown := env.JSON(t, http.MethodPost, "/api/v1/communities/join-requests", token,
		map[string]any{"community_id": uuid.NewString(), "user_id": a.ID})
	unknown.Expect(t, http.StatusNotFound)
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/communities/join-requests", token, map[string]any{"user_id": a.ID}),
		"community_id", "missing")

	var requests []joinRequest
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+communityID+"/join-requests", admin, nil).Expect(t, http.StatusOK).Decode(t, &requests)
	if len(requests) != 2 || requests[0].ID != req.ID || requests[1].ID != reqB.ID {
		t.Fatalf("join requests: %+v", requests)
	}

	base := "/api/v1/communities/" + communityID + "/join-requests/"
	var decided joinRequest
	env.JSON(t, http.MethodPost, base+req.ID+"/approve", admin, nil).Expect(t, http.StatusOK).Decode(t, &decided)
	if decided.Status != "approved" || decided.DecidedAt == nil {
		t.Fatalf("approved: %+v", decided)
	}
	env.JSON(t, http.MethodPost, base+req.ID+"/reject", admin, nil).Expect(t, http.StatusBadRequest)
	env.JSON(t, http.MethodPost, base+reqB.ID+"/reject", admin, nil).Expect(t, http.StatusOK).Decode(t, &decided)
	if decided.Status != "rejected" {
		t.Fatalf("rejected: %+v", decided)
	}
	env.JSON(t, http.MethodPost, base+uuid.NewString()+"/approve", admin, nil).Expect(t, http.StatusNotFound)

	var members []struct {
		UserID string `json:"user_id"`
	}
	env.JSON(t, http.MethodGet, "/api/v1/communities/"+communityID+"/members", admin, nil).Expect(t, http.StatusOK).Decode(t, &members)
	if len(members) != 1 || members[0].UserID != a.ID {
		t.Fatalf("members after approving a and rejecting b: %+v", members)
	}
	if status, _ := ask(token, a.ID, nil); status != http.StatusBadRequest {
		t.Fatalf("a member asking to join: %d, want 400", status)
	}
}

func containsCommunity(list []communityItem, c communityItem) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}
