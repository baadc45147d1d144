package sartiq_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/domain/organization"
	"github.com/annals-dev/annals/eventstore"
	"github.com/annals-dev/annals/projections"
	projection "github.com/annals-dev/annals/projections/sartiq"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

var pool *pgxpool.Pool

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	db, err := pgtest.Create(ctx, "sartiq_projections")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := db.Drop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	pool, err = pgxpool.New(ctx, db.URL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	if err := readmodel.Migrate(ctx, pool); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// project applies each event, twice in a row as a redelivery would, through
// every projector that handles it.
func project(t *testing.T, events ...kernel.Event) {
	t.Helper()
	for _, e := range events {
		for range 2 {
			for _, p := range projection.Projectors() {
				if p.Realm() != readmodel.Realm {
					t.Fatalf("%s projects realm %q", p.Name(), p.Realm())
				}
				if !p.Handles(e.EventType()) {
					continue
				}
				// As the runtime does: the projectors name tables unqualified.
				err := pgx.BeginTxFunc(t.Context(), pool, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL search_path TO sartiq"}, func(tx pgx.Tx) error {
					return p.Apply(t.Context(), tx, projections.Event{
						RecordedEvent: eventstore.RecordedEvent{Type: e.EventType()}, Payload: e,
					})
				})
				if err != nil {
					t.Fatalf("%s applying %s: %v", p.Name(), e.EventType(), err)
				}
			}
		}
	}
}

func registered(id uuid.UUID, email string, fullName *string, at time.Time) identity.UserRegistered {
	return identity.UserRegistered{UserID: id.String(), Email: email, FullName: fullName, PasswordHash: "h",
		Active: true, ReworkAvailable: 2, At: at}
}

func TestUsersAreListedSearchedAndForgotten(t *testing.T) {
	q := readmodel.NewQueries(pool)
	ann, bob, cy := uuid.New(), uuid.New(), uuid.New()
	domain := "@" + uuid.NewString()[:8] + ".users.test"
	project(t,
		registered(ann, "ann"+domain, ptr("Ann Percent%"), t0),
		registered(bob, "bob"+domain, nil, t0.Add(time.Second)),
		registered(cy, "cy"+domain, ptr("Cy"), t0.Add(2*time.Second)),
		identity.UserUpdated{UserID: bob.String(), At: t0.Add(time.Minute), Changes: identity.UserChanges{
			Email: ptr("robert" + domain), FullName: ptr("Robert"), Superuser: ptr(true), ReworkAvailable: ptr(7),
		}},
		identity.UserUpdated{UserID: ann.String(), At: t0.Add(time.Minute), Changes: identity.UserChanges{ClearFullName: true}},
		identity.UserPasswordChanged{UserID: cy.String(), PasswordHash: "h2", At: t0.Add(time.Hour)},
	)

	all, err := q.Users(t.Context(), readmodel.Page{Limit: 10, Search: domain})
	if err != nil {
		t.Fatal(err)
	}
	if all.Count != 3 || len(all.Data) != 3 {
		t.Fatalf("count %d, %d rows; want 3", all.Count, len(all.Data))
	}
	want := []readmodel.User{
		{ID: ann, Email: "ann" + domain, IsActive: true, ReworkAvailable: 2, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)},
		{ID: bob, Email: "robert" + domain, FullName: ptr("Robert"), IsActive: true, IsSuperuser: true, ReworkAvailable: 7,
			CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Minute)},
		{ID: cy, Email: "cy" + domain, FullName: ptr("Cy"), IsActive: true, ReworkAvailable: 2,
			CreatedAt: t0.Add(2 * time.Second), UpdatedAt: t0.Add(time.Hour)},
	}
	for i, w := range want {
		if got := all.Data[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("user %d:\n got  %+v\n want %+v", i, got, w)
		}
	}

	page, err := q.Users(t.Context(), readmodel.Page{Skip: 1, Limit: 1, Search: domain})
	if err != nil {
		t.Fatal(err)
	}
	if page.Count != 3 || len(page.Data) != 1 || page.Data[0].ID != bob {
		t.Fatalf("second page of one: %+v", page)
	}
	beyond, err := q.Users(t.Context(), readmodel.Page{Skip: 10, Limit: 5, Search: domain})
	if err != nil {
		t.Fatal(err)
	}
	if beyond.Count != 3 || beyond.Data == nil || len(beyond.Data) != 0 {
		t.Fatalf("a page past the end must be empty with the full count: %+v", beyond)
	}

	byName, err := q.Users(t.Context(), readmodel.Page{Limit: 10, Search: "ROBERT"})
	if err != nil {
		t.Fatal(err)
	}
	if byName.Count != 1 || byName.Data[0].ID != bob {
		t.Fatalf("case-insensitive search on name and email: %+v", byName)
	}
	// The full name was cleared, so "Percent%" no longer matches; a literal
	// "%" must not act as a wildcard either.
	wild, err := q.Users(t.Context(), readmodel.Page{Limit: 10, Search: "%"})
	if err != nil {
		t.Fatal(err)
	}
	if wild.Count != 0 {
		t.Fatalf("search %% matched %d users", wild.Count)
	}

	project(t, identity.UserDeleted{UserID: bob.String(), Email: "robert" + domain, At: t0.Add(2 * time.Hour)})
	if _, err := q.User(t.Context(), bob); err != identity.ErrUserNotFound {
		t.Fatalf("deleted user read: %v", err)
	}
	left, err := q.Users(t.Context(), readmodel.Page{Limit: 10, Search: domain})
	if err != nil {
		t.Fatal(err)
	}
	if left.Count != 2 {
		t.Fatalf("after a deletion %d users are listed, want 2", left.Count)
	}
}

func TestOrganizationsAndMemberships(t *testing.T) {
	q := readmodel.NewQueries(pool)
	owner, member, outsider, gone := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	o1, o2 := uuid.New(), uuid.New()
	suffix := uuid.NewString()[:8]
	project(t,
		registered(owner, "owner@"+suffix+".test", ptr("Owner"), t0),
		registered(member, "member@"+suffix+".test", nil, t0),
		registered(outsider, "outsider@"+suffix+".test", nil, t0),
		registered(gone, "gone@"+suffix+".test", nil, t0),
		organization.Created{OrganizationID: o1.String(), OwnerID: owner.String(), At: t0,
			Profile: organization.Profile{Name: "Acme_" + suffix, AvatarImage: "https://img/a.png", Description: ptr("d"), ReworkAvailable: 2}},
		organization.MemberAdded{OrganizationID: o1.String(), UserID: owner.String(), At: t0},
		organization.MemberAdded{OrganizationID: o1.String(), UserID: member.String(), At: t0.Add(time.Second)},
		organization.MemberAdded{OrganizationID: o1.String(), UserID: gone.String(), At: t0.Add(2 * time.Second)},
		organization.Created{OrganizationID: o2.String(), OwnerID: outsider.String(), At: t0.Add(time.Minute),
			Profile: organization.Profile{Name: "Other " + suffix, AvatarImage: "x"}},
		organization.MemberAdded{OrganizationID: o2.String(), UserID: outsider.String(), At: t0.Add(time.Minute)},
		organization.Updated{OrganizationID: o1.String(), At: t0.Add(time.Hour), Changes: organization.Changes{
			AvatarImage: ptr("https://img/b.png"), ClearDescription: true, ReworkAvailable: ptr(9)}},
		organization.OwnershipTransferred{OrganizationID: o1.String(), From: owner.String(), To: member.String(), At: t0.Add(2 * time.Hour)},
		identity.UserDeleted{UserID: gone.String(), Email: "gone@" + suffix + ".test", At: t0.Add(3 * time.Hour)},
	)

	got, err := q.Organization(t.Context(), readmodel.Viewer{UserID: owner}, o1)
	if err != nil {
		t.Fatal(err)
	}
	want := readmodel.Organization{ID: o1, Name: "Acme_" + suffix, AvatarImageURL: "https://img/b.png", ReworkAvailable: 9,
		OwnerID: member, CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Hour)}
	if got != want {
		t.Fatalf("organization:\n got  %+v\n want %+v", got, want)
	}
	if _, err := q.Organization(t.Context(), readmodel.Viewer{UserID: outsider}, o1); err != organization.ErrNotFound {
		t.Fatalf("a non-member reads another's organization: %v", err)
	}

	visible := func(v readmodel.Viewer, search string) []uuid.UUID {
		t.Helper()
		list, err := q.Organizations(t.Context(), v, readmodel.Page{Limit: 100, Search: search})
		if err != nil {
			t.Fatal(err)
		}
		if list.Count != len(list.Data) {
			t.Fatalf("count %d for %d rows", list.Count, len(list.Data))
		}
		ids := make([]uuid.UUID, len(list.Data))
		for i, o := range list.Data {
			ids[i] = o.ID
		}
		return ids
	}
	if ids := visible(readmodel.Viewer{UserID: member}, suffix); len(ids) != 1 || ids[0] != o1 {
		t.Fatalf("member sees %v, want only %v", ids, o1)
	}
	if ids := visible(readmodel.Viewer{UserID: uuid.New(), Superuser: true}, suffix); len(ids) != 2 {
		t.Fatalf("superuser sees %v, want both", ids)
	}
	if ids := visible(readmodel.Viewer{UserID: outsider, Superuser: true}, "acme_"+suffix); len(ids) != 1 || ids[0] != o1 {
		t.Fatalf("name search found %v", ids)
	}
	if ids := visible(readmodel.Viewer{UserID: uuid.New(), Superuser: true}, "Acme%"+suffix); len(ids) != 0 {
		t.Fatalf("%% in a search matched %v", ids)
	}

	members, err := q.Members(t.Context(), o1, readmodel.Unpaged)
	if err != nil {
		t.Fatal(err)
	}
	wantMembers := []readmodel.Member{
		{UserID: owner, Email: "owner@" + suffix + ".test", FullName: ptr("Owner"), JoinedAt: t0},
		{UserID: member, Email: "member@" + suffix + ".test", JoinedAt: t0.Add(time.Second)},
	}
	if members.Count != 2 || len(members.Data) != 2 {
		t.Fatalf("members of o1 (the deleted user must not count): %+v", members)
	}
	for i, w := range wantMembers {
		if g := members.Data[i]; !reflect.DeepEqual(g, w) {
			t.Errorf("member %d: got %+v, want %+v", i, g, w)
		}
	}

	project(t,
		organization.MemberRemoved{OrganizationID: o1.String(), UserID: owner.String(), At: t0.Add(4 * time.Hour)},
		organization.Deleted{OrganizationID: o2.String(), At: t0.Add(4 * time.Hour)},
	)
	if ids := visible(readmodel.Viewer{UserID: owner}, suffix); len(ids) != 0 {
		t.Fatalf("a member who left still sees %v", ids)
	}
	if ids := visible(readmodel.Viewer{UserID: outsider, Superuser: true}, suffix); len(ids) != 1 || ids[0] != o1 {
		t.Fatalf("after deleting o2 a superuser sees %v", ids)
	}
	var memberships int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM sartiq.organization_members WHERE organization_id = $1`, o2).Scan(&memberships); err != nil {
		t.Fatal(err)
	}
	if memberships != 0 {
		t.Fatalf("deleted organization kept %d memberships", memberships)
	}
}
