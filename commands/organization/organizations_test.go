package organization_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	cmdorganization "github.com/annals-dev/annals/commands/organization"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/eventstore/memory"
)

const realm = "test"

type fixture struct {
	x     *commands.Executor
	store *memory.Store
	orgs  *cmdorganization.Organizations
}

func newFixture() fixture {
	r := kernel.NewRegistry()
	identity.RegisterEvents(r)
	organization.RegisterEvents(r)
	store := memory.New()
	x := commands.NewExecutor(store, r)
	return fixture{x: x, store: store, orgs: cmdorganization.NewOrganizations(x)}
}

func meta(actor string) commands.Meta {
	return commands.Meta{Realm: realm, ActorID: actor, Command: "Test"}
}

// user registers an account straight on its stream.
func (f fixture) user(t *testing.T) string {
	t.Helper()
	id := uuid.NewString()
	_, err := commands.Execute(t.Context(), f.x, identity.Users, meta(""), id, func(u identity.User) ([]kernel.Event, error) {
		return identity.Register(u, identity.UserRegistered{UserID: id, Email: id + "@example.com", Active: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fixture) create(t *testing.T, owner string) string {
	t.Helper()
	id := uuid.NewString()
	_, err := f.orgs.Create(t.Context(), meta(owner), organization.Actor{ID: owner},
		cmdorganization.Create{OrganizationID: id, Profile: organization.Profile{Name: "Acme", AvatarImage: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fixture) load(t *testing.T, id string) organization.Organization {
	t.Helper()
	o, _, err := commands.Load(t.Context(), f.x, organization.Organizations, realm, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCreateAppendsToTheRealmsStreamWithTheActor(t *testing.T) {
	f := newFixture()
	owner := f.user(t)
	id := f.create(t, owner)
	recorded, err := f.store.ReadStream(t.Context(), kernel.StreamName(realm, organization.Kind, id), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 2 || recorded[0].Type != "organization.Created" || recorded[1].Type != "organization.MemberAdded" {
		t.Fatalf("stream holds %+v", recorded)
	}
	md, err := eventstore.DecodeMetadata(recorded[0].Metadata)
	if err != nil {
		t.Fatal(err)
	}
	if md.Realm != realm || md.ActorID != owner || md.Command != "Test" {
		t.Fatalf("metadata %+v", md)
	}
	if o := f.load(t, id); o.OwnerID != owner || !o.IsMember(owner) {
		t.Fatalf("created %+v", o)
	}
}

func TestMembersAndOwnersMustBeUsers(t *testing.T) {
	f := newFixture()
	owner := f.user(t)
	id := f.create(t, owner)
	actor := organization.Actor{ID: owner}
	ghost := uuid.NewString()
	if _, err := f.orgs.AddMember(t.Context(), meta(owner), actor, id, ghost); !errors.Is(err, identity.ErrUserNotFound) {
		t.Fatalf("adding a non-user: %v", err)
	}
	if _, err := f.orgs.Update(t.Context(), meta(owner), actor, cmdorganization.Update{OrganizationID: id, NewOwner: ghost}); !errors.Is(err, identity.ErrUserNotFound) {
		t.Fatalf("handing over to a non-user: %v", err)
	}
	heir := f.user(t)
	if _, err := f.orgs.Update(t.Context(), meta(owner), actor, cmdorganization.Update{OrganizationID: id, NewOwner: heir}); err != nil {
		t.Fatal(err)
	}
	if o := f.load(t, id); o.OwnerID != heir || !o.IsMember(heir) || !o.IsMember(owner) {
		t.Fatalf("after the transfer %+v", o)
	}
}

func TestConcurrentAdditionsAreRetriedNotLost(t *testing.T) {
	f := newFixture()
	owner := f.user(t)
	id := f.create(t, owner)
	// As many writers as the executor has attempts: each can lose a race
	// to every other at most once.
	users := make([]string, commands.DefaultMaxAttempts)
	for i := range users {
		users[i] = f.user(t)
	}
	start := make(chan struct{})
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			<-start
			_, errs[i] = f.orgs.AddMember(t.Context(), meta(owner), organization.Actor{ID: owner}, id, u)
		})
	}
	close(start)
	wg.Wait()
	o := f.load(t, id)
	for i, u := range users {
		if errs[i] != nil || !o.IsMember(u) {
			t.Fatalf("addition %d: %v; member: %v", i, errs[i], o.IsMember(u))
		}
	}
}

func TestAuthorizeMigrationReadsTheLatestState(t *testing.T) {
	f := newFixture()
	owner, source := f.user(t), f.user(t)
	id := f.create(t, owner)
	admin := organization.Actor{ID: f.user(t), Superuser: true}
	if err := f.orgs.AuthorizeMigration(t.Context(), realm, admin, id, source); !errors.Is(err, organization.ErrSourceNotMember) {
		t.Fatalf("before joining: %v", err)
	}
	if _, err := f.orgs.AddMember(t.Context(), meta(owner), organization.Actor{ID: owner}, id, source); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.AuthorizeMigration(t.Context(), realm, admin, id, source); err != nil {
		t.Fatalf("after joining: %v", err)
	}
	if err := f.orgs.AuthorizeMigration(t.Context(), realm, admin, uuid.NewString(), source); !errors.Is(err, organization.ErrNotFound) {
		t.Fatalf("unknown organization: %v", err)
	}
}
