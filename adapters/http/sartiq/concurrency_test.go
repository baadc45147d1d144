package sartiq_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
)

// simultaneously sends the requests together, released at once, and
// returns the answers in the requests' order.
func simultaneously(t *testing.T, reqs []dialecttest.Request) []dialecttest.Response {
	t.Helper()
	out := make([]dialecttest.Response, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			<-start
			out[i], errs[i] = env.Send(t.Context(), req)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestSimultaneousSignupsWithOneEmail(t *testing.T) {
	address := email("race")
	reqs := make([]dialecttest.Request, 16)
	for i := range reqs {
		// Case differs between requests: uniqueness ignores it.
		e := address
		if i%2 == 1 {
			e = strings.ToUpper(address)
		}
		reqs[i] = dialecttest.Request{Method: http.MethodPost, Path: api + "/users/signup",
			Body: map[string]any{"email": e, "password": fmt.Sprintf("password-%02d", i)}}
	}
	var winner int
	won := 0
	for i, res := range simultaneously(t, reqs) {
		switch res.Status {
		case http.StatusOK:
			winner = i
			won++
		case http.StatusBadRequest:
			expectDetail(t, res, http.StatusBadRequest, "The user with this email already exists in the system.")
		default:
			t.Fatalf("signup %d: status %d: %s", i, res.Status, res.Body)
		}
	}
	if won != 1 {
		t.Fatalf("%d of 16 simultaneous signups with one email succeeded, want exactly 1", won)
	}
	var l list[user]
	env.JSON(t, http.MethodGet, api+"/users/?search="+url.QueryEscape(address), admin(t).token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	if l.Count != 1 {
		t.Fatalf("%d users hold the email", l.Count)
	}
	login(t, address, fmt.Sprintf("password-%02d", winner))
}

// TestConcurrentOrganizationUpdatesLoseNothing sends eight writes to one
// organization at once. Each write that loses a race is decided again on the
// new state; with eight writers one loses at most seven times, within the
// executor's bounded retries, so every write must land.
func TestConcurrentOrganizationUpdatesLoseNothing(t *testing.T) {
	owner := newAccount(t, "busy-owner")
	o := createOrg(t, owner, "busy-"+uuid.NewString())
	var joiners []account
	var reqs []dialecttest.Request
	for range 6 {
		a := newAccount(t, "joiner")
		joiners = append(joiners, a)
		reqs = append(reqs, dialecttest.Request{Method: http.MethodPost, Path: orgPath(o.ID, "/members"), Token: owner.token,
			Body: map[string]any{"user_id": a.ID}})
	}
	reqs = append(reqs,
		dialecttest.Request{Method: http.MethodPut, Path: orgPath(o.ID, ""), Token: owner.token, Body: map[string]any{"name": "Busy Renamed"}},
		dialecttest.Request{Method: http.MethodPut, Path: orgPath(o.ID, ""), Token: owner.token, Body: map[string]any{"description": "busy"}},
	)
	for i, res := range simultaneously(t, reqs) {
		if res.Status != http.StatusOK {
			t.Fatalf("write %d: status %d: %s", i, res.Status, res.Body)
		}
	}

	ids := memberIDs(members(t, owner, o))
	if len(ids) != 7 {
		t.Fatalf("%d members after 6 concurrent additions to 1, want 7: %v", len(ids), ids)
	}
	for _, j := range joiners {
		if !slices.Contains(ids, j.ID) {
			t.Fatalf("concurrent addition of %s was lost", j.Email)
		}
	}
	var got org
	env.JSON(t, http.MethodGet, orgPath(o.ID, ""), owner.token, nil).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Name != "Busy Renamed" || got.Description == nil || *got.Description != "busy" {
		t.Fatalf("a concurrent profile change was lost: %+v", got)
	}
}

func TestWritesAreReadAtOnce(t *testing.T) {
	a := newAccount(t, "reader")
	tag := uuid.NewString()[:8]
	for i := range 20 {
		name := fmt.Sprintf("rw-%s-%02d", tag, i)
		o := createOrg(t, a, name)
		var got org
		env.JSON(t, http.MethodGet, orgPath(o.ID, ""), a.token, nil).Expect(t, http.StatusOK).Decode(t, &got)
		if got.Name != name {
			t.Fatalf("pair %d read %q", i, got.Name)
		}
		var l list[org]
		env.JSON(t, http.MethodGet, api+"/organizations/?search=rw-"+tag, a.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
		if l.Count != i+1 {
			t.Fatalf("pair %d: the list counts %d organizations", i, l.Count)
		}

		fullName := fmt.Sprintf("Reader %02d", i)
		env.JSON(t, http.MethodPatch, api+"/users/me", a.token, map[string]any{"full_name": fullName}).Expect(t, http.StatusOK)
		var me user
		env.JSON(t, http.MethodGet, api+"/users/me", a.token, nil).Expect(t, http.StatusOK).Decode(t, &me)
		if me.FullName == nil || *me.FullName != fullName {
			t.Fatalf("pair %d read full name %v", i, me.FullName)
		}
	}
}
