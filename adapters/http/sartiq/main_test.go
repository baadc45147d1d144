package sartiq_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/sartiq"
)

// env is the sartiq dialect running on its own database for this package.
var env *dialecttest.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	env, err = dialecttest.Start(context.Background(), "sartiq_http", sartiq.New, dialecttest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if err := env.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

const (
	api      = "/api/v1"
	password = "password-1"
)

// user is UserPublic.
type user struct {
	ID              uuid.UUID `json:"id"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	Email           string    `json:"email"`
	FullName        *string   `json:"full_name"`
	IsActive        bool      `json:"is_active"`
	IsSuperuser     bool      `json:"is_superuser"`
	ReworkAvailable int       `json:"rework_available"`
}

// org is OrganizationPublic.
type org struct {
	ID               uuid.UUID `json:"id"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	Name             string    `json:"name"`
	AvatarImageURL   string    `json:"avatar_image_url"`
	AvatarImageMedia any       `json:"avatar_image_media"`
	Description      *string   `json:"description"`
	ReworkAvailable  int       `json:"rework_available"`
	OwnerID          uuid.UUID `json:"owner_id"`
}

// member is OrganizationMemberPublic.
type member struct {
	UserID   uuid.UUID `json:"user_id"`
	JoinedAt time.Time `json:"joined_at"`
	Email    string    `json:"email"`
	FullName *string   `json:"full_name"`
}

// list is UsersPublic, OrganizationsPublic and OrganizationMembersPublic.
type list[T any] struct {
	Data  []T `json:"data"`
	Count int `json:"count"`
}

// Key sets of the seed's schemas.
var (
	userKeys   = []string{"id", "created_at", "updated_at", "email", "full_name", "is_active", "is_superuser", "rework_available"}
	orgKeys    = []string{"id", "created_at", "updated_at", "name", "avatar_image_url", "avatar_image_media", "description", "rework_available", "owner_id"}
	memberKeys = []string{"user_id", "joined_at", "email", "full_name"}
	listKeys   = []string{"data", "count"}
)

// account is a user with a token.
type account struct {
	user
	token string
}

func ptr[T any](v T) *T { return &v }

// email is an address no other test uses.
func email(name string) string {
	return fmt.Sprintf("%s-%s@example.com", name, uuid.NewString()[:8])
}

func signup(t *testing.T, address string) user {
	t.Helper()
	var u user
	env.JSON(t, http.MethodPost, api+"/users/signup", "", map[string]any{"email": address, "password": password}).
		Expect(t, http.StatusOK).Decode(t, &u)
	return u
}

func login(t *testing.T, address, pass string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	env.Form(t, api+"/login/access-token", "", url.Values{"username": {address}, "password": {pass}}).
		Expect(t, http.StatusOK).Decode(t, &tok)
	if tok.AccessToken == "" || tok.TokenType != "bearer" {
		t.Fatalf("token answer %+v", tok)
	}
	return tok.AccessToken
}

// newAccount signs a user up and logs it in.
func newAccount(t *testing.T, name string) account {
	t.Helper()
	u := signup(t, email(name))
	return account{user: u, token: login(t, u.Email, password)}
}

// admin is the bootstrap superuser, logged in.
func admin(t *testing.T) account {
	t.Helper()
	tok := login(t, env.Admin.Email, env.Admin.Password)
	var u user
	env.JSON(t, http.MethodGet, api+"/users/me", tok, nil).Expect(t, http.StatusOK).Decode(t, &u)
	return account{user: u, token: tok}
}

func createOrg(t *testing.T, a account, name string) org {
	t.Helper()
	var o org
	env.JSON(t, http.MethodPost, api+"/organizations/", a.token, map[string]any{"name": name, "avatar_image": "https://img.example/" + name + ".png"}).
		Expect(t, http.StatusOK).Decode(t, &o)
	return o
}

func addMember(t *testing.T, by account, o org, u user) {
	t.Helper()
	env.JSON(t, http.MethodPost, orgPath(o.ID, "/members"), by.token, map[string]any{"user_id": u.ID}).Expect(t, http.StatusOK)
}

func orgPath(id uuid.UUID, rest string) string { return api + "/organizations/" + id.String() + rest }

func members(t *testing.T, a account, o org) list[member] {
	t.Helper()
	var l list[member]
	env.JSON(t, http.MethodGet, orgPath(o.ID, "/members"), a.token, nil).Expect(t, http.StatusOK).Decode(t, &l)
	return l
}

func memberIDs(l list[member]) []uuid.UUID {
	ids := make([]uuid.UUID, len(l.Data))
	for i, m := range l.Data {
		ids[i] = m.UserID
	}
	return ids
}

// expectKeys fails unless obj has exactly these keys.
func expectKeys(t *testing.T, what string, obj map[string]any, keys ...string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(obj))
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Fatalf("%s keys %v, want %v", what, got, want)
	}
}

// expectDetail fails unless the answer is {"detail": msg} with the status.
func expectDetail(t *testing.T, res dialecttest.Response, status int, msg string) {
	t.Helper()
	res.Expect(t, status)
	body := res.Object(t)
	if body["detail"] != msg || len(body) != 1 {
		t.Fatalf("%s: body %s, want detail %q", res.Request, res.Body, msg)
	}
}
