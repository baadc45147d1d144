package sartiq_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/sartiq"
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/projections/projectionstest"
	projection "github.com/annals-dev/annals/projections/sartiq"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// dialect runs the sartiq dialect over HTTP on a database of its own.
func dialect(t *testing.T) *dialecttest.Env {
	t.Helper()
	env, err := dialecttest.Start(context.Background(), "sartiq_rebuild", sartiq.New, dialecttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	return env
}

// client makes requests from any goroutine, reporting failures as errors.
type client struct {
	env *dialecttest.Env
	ctx context.Context
}

// call sends a request and decodes a 200 answer into out (when not nil).
func (c client) call(req dialecttest.Request, out any) error {
	res, err := c.env.Send(c.ctx, req)
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", req, res.Status, res.Body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return fmt.Errorf("%s: decode %s: %w", req, res.Body, err)
	}
	return nil
}

type user struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	token string
}

type org struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

func (c client) signUp(name string) (user, error) {
	u := user{Email: name + "-" + uuid.NewString()[:8] + "@example.com"}
	if err := c.call(dialecttest.Request{Method: http.MethodPost, Path: "/api/v1/users/signup",
		Body: map[string]any{"email": u.Email, "password": "password-1", "full_name": "User " + name}}, &u); err != nil {
		return u, err
	}
	var err error
	u.token, err = c.logIn(u.Email, "password-1")
	return u, err
}

func (c client) logIn(email, password string) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err := c.call(dialecttest.Request{Method: http.MethodPost, Path: "/api/v1/login/access-token",
		Form: url.Values{"username": {email}, "password": {password}}}, &tok)
	return tok.AccessToken, err
}

func (c client) createOrg(owner user, name string) (org, error) {
	var o org
	err := c.call(dialecttest.Request{Method: http.MethodPost, Path: "/api/v1/organizations/", Token: owner.token,
		Body: map[string]any{"name": name, "avatar_image": "https://img.example/" + name + ".png", "description": "about " + name}}, &o)
	return o, err
}

func (c client) addMember(owner user, o org, member user) error {
	return c.call(dialecttest.Request{Method: http.MethodPost, Path: "/api/v1/organizations/" + o.ID.String() + "/members",
		Token: owner.token, Body: map[string]any{"user_id": member.ID}}, nil)
}

// seeded is a history written through every kind of sartiq command.
type seeded struct {
	admin user
	owner user
	// orgs are kept, each with members members, none of whom leaves.
	orgs    []org
	members int
	users   int
}

func seed(t *testing.T, env *dialecttest.Env) seeded {
	t.Helper()
	c := client{env: env, ctx: t.Context()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s := seeded{members: 3}
	var err error
	s.admin.token, err = c.logIn(env.Admin.Email, env.Admin.Password)
	must(err)
	s.owner, err = c.signUp("owner")
	must(err)
	var people []user
	for i := range 12 {
		u, err := c.signUp(fmt.Sprintf("person%d", i))
		must(err)
		people = append(people, u)
	}
	for i := range 4 {
		o, err := c.createOrg(s.owner, fmt.Sprintf("Org %d", i))
		must(err)
		s.orgs = append(s.orgs, o)
		for _, m := range people[i*2 : i*2+s.members-1] {
			must(c.addMember(s.owner, o, m))
		}
	}
	// Changes of every kind, to organizations and people not kept above.
	gone, err := c.createOrg(people[10], "Gone")
	must(err)
	must(c.addMember(people[10], gone, people[11]))
	must(c.call(dialecttest.Request{Method: http.MethodPut, Path: "/api/v1/organizations/" + gone.ID.String(), Token: people[10].token,
		Body: map[string]any{"name": "Renamed", "description": nil}}, nil))
	must(c.call(dialecttest.Request{Method: http.MethodPut, Path: "/api/v1/organizations/" + gone.ID.String(), Token: people[10].token,
		Body: map[string]any{"owner_id": people[11].ID}}, nil))
	must(c.call(dialecttest.Request{Method: http.MethodDelete, Path: "/api/v1/organizations/" + gone.ID.String() + "/members/" + people[10].ID.String(),
		Token: people[11].token}, nil))
	must(c.call(dialecttest.Request{Method: http.MethodDelete, Path: "/api/v1/organizations/" + gone.ID.String(), Token: people[11].token}, nil))
	must(c.call(dialecttest.Request{Method: http.MethodPatch, Path: "/api/v1/users/me", Token: people[9].token,
		Body: map[string]any{"full_name": "Changed Name"}}, nil))
	must(c.call(dialecttest.Request{Method: http.MethodPatch, Path: "/api/v1/users/me/password", Token: people[8].token,
		Body: map[string]any{"current_password": "password-1", "new_password": "password-2"}}, nil))
	must(c.call(dialecttest.Request{Method: http.MethodDelete, Path: "/api/v1/users/" + people[11].ID.String(), Token: s.admin.token}, nil))
	s.users = 1 + 1 + 12 - 1 // the admin, the owner, the people but the deleted one
	if err := env.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRebuildEqualsTheLiveBuild(t *testing.T) {
	env := dialect(t)
	seed(t, env)
	live := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name)
	var last projections.RebuildProgress
	err := env.Runtime.Rebuild(t.Context(), readmodel.Schema.Name, projections.RebuildOptions{
		Progress: func(p projections.RebuildProgress) { last = p },
	})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if !last.Swapped || last.Parked != 0 || last.Fallbacks != 0 {
		t.Fatalf("rebuild ended with %+v", last)
	}
	if rebuilt := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name); !maps.Equal(rebuilt, live) {
		t.Fatalf("rebuilt sartiq schema differs from the live one:\n live    %v\n rebuilt %v", live, rebuilt)
	}
}

// TestRebuildUnderTrafficServesEveryRequest rebuilds while clients write
// and read: every request succeeds, no read comes back empty or short, and
// the schema swapped in ends identical to one built live from the same log.
func TestRebuildUnderTrafficServesEveryRequest(t *testing.T) {
	env := dialect(t)
	s := seed(t, env)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	c := client{env: env, ctx: ctx}
	failures := make(chan error, 16)
	fail := func(err error) {
		if ctx.Err() != nil {
			return // the test is over: requests cut short are not failures
		}
		select {
		case failures <- err:
		default:
		}
	}
	var (
		wg     sync.WaitGroup
		rounds atomic.Int64 // write rounds completed
		wrote  = make(chan struct{}, 1024)
	)
	for w := range 2 {
		wg.Go(func() { // a client that signs up, creates an organization and reads it back
			for i := 0; ctx.Err() == nil; i++ {
				u, err := c.signUp(fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					fail(err)
					return
				}
				o, err := c.createOrg(u, fmt.Sprintf("W%d-%d", w, i))
				if err != nil {
					fail(err)
					return
				}
				var back org
				if err := c.call(dialecttest.Request{Method: http.MethodGet, Path: "/api/v1/organizations/" + o.ID.String(), Token: u.token}, &back); err != nil {
					fail(err)
					return
				}
				if back != o {
					fail(fmt.Errorf("organization read back as %+v, want %+v", back, o))
					return
				}
				rounds.Add(1)
				wrote <- struct{}{}
			}
		})
	}
	for range 2 {
		wg.Go(func() { // a client that reads what was seeded and must always find all of it
			for ctx.Err() == nil {
				var users struct{ Count int }
				if err := c.call(dialecttest.Request{Method: http.MethodGet, Path: "/api/v1/users/?limit=1000", Token: s.admin.token}, &users); err != nil {
					fail(err)
					return
				}
				if users.Count < s.users {
					fail(fmt.Errorf("users listed %d, want at least %d", users.Count, s.users))
					return
				}
				for _, o := range s.orgs {
					var members struct{ Count int }
					if err := c.call(dialecttest.Request{Method: http.MethodGet, Path: "/api/v1/organizations/" + o.ID.String() + "/members",
						Token: s.owner.token}, &members); err != nil {
						fail(err)
						return
					}
					if members.Count != s.members {
						fail(fmt.Errorf("organization %s lists %d members, want %d", o.Name, members.Count, s.members))
						return
					}
				}
			}
		})
	}
	waitRounds := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-wrote:
			case err := <-failures:
				t.Fatalf("during the rebuild: %v", err)
			}
		}
	}
	waitRounds(2)
	var once sync.Once
	err := env.Runtime.Rebuild(t.Context(), readmodel.Schema.Name, projections.RebuildOptions{
		// Between the first batch and the swap, clients write more.
		Progress: func(p projections.RebuildProgress) {
			if !p.Swapped {
				once.Do(func() { waitRounds(4) })
			}
		},
	})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	waitRounds(4) // and after the swap
	stop()
	wg.Wait()
	select {
	case err := <-failures:
		t.Fatalf("during the rebuild: %v", err)
	default:
	}
	if rounds.Load() < 10 {
		t.Fatalf("%d write rounds: the traffic did not span the rebuild", rounds.Load())
	}

	if err := env.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	head, err := env.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	reference := projectionstest.BuildLive(t, env.Store, env.Deps.Executor.Registry, head, projection.Projectors()...)
	if got, want := projectionstest.DumpFull(t, env.Pool, readmodel.Schema.Name), projectionstest.DumpFull(t, reference, readmodel.Schema.Name); !maps.Equal(got, want) {
		t.Fatalf("the schema rebuilt under traffic differs from one built live:\n built live %v\n rebuilt    %v", want, got)
	}
}
