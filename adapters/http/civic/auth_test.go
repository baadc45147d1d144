package civic_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/eventstore"
)

func TestSignupAnswersTheUserWithItsSignInState(t *testing.T) {
	admin := adminToken(t)
	editor, viewer := newRole(t, admin, "editor"), newRole(t, admin, "viewer")
	email := "Signup-" + uuid.NewString()[:8] + "@Example.com"
	res := env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", map[string]any{
		"name": "Ada Lovelace", "email": email, "password": "analytical1", "role": editor + ", " + viewer,
	}).Expect(t, http.StatusCreated).Object(t)
	if res["name"] != "Ada Lovelace" || res["email"] != email || res["status"] != true || res["role"] != editor+","+viewer {
		t.Fatalf("signup answered %v", res)
	}
	if id, _ := res["id"].(string); id == "" || res["created_at"] == nil || res["updated_at"] == nil {
		t.Fatalf("signup answer lacks id or timestamps: %v", res)
	}
	auth, _ := res["auth"].(map[string]any)
	want := map[string]any{"is_active": true, "email_verified": false, "last_login": nil, "failed_login_attempts": float64(0), "locked_until": nil}
	for k, v := range want {
		if auth[k] != v {
			t.Fatalf("auth.%s = %v, want %v (auth %v)", k, auth[k], v, auth)
		}
	}
	// The roles were granted.
	var roles []struct{ ID, Name string }
	tk := login(t, email, "analytical1")
	env.JSON(t, http.MethodGet, "/api/v1/user-roles/user/"+tk.User.ID, tk.AccessToken, nil).Expect(t, http.StatusOK).Decode(t, &roles)
	if len(roles) != 2 || roles[0].ID != editor || roles[0].Name != "editor" || roles[1].ID != viewer {
		t.Fatalf("roles of the new user: %+v", roles)
	}
}

func TestSignupValidation(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{"name": "Ann", "email": "v-" + uuid.NewString()[:8] + "@example.com", "password": "password1", "role": ""}
	}
	with := func(k string, v any) map[string]any {
		b := valid()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	post := func(body map[string]any) dialecttest.Response {
		return env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", body)
	}

	// The seed's live example, word for word.
	e := expectInvalid(t, post(with("password", "stringstT")), "password", "value_error")
	if e.Msg != "Value error, Password must contain at least one digit" || e.Input != "stringstT" {
		t.Fatalf("digit rule: %+v", e)
	}
	if errCtx, ok := e.Ctx["error"].(map[string]any); !ok || len(errCtx) != 0 {
		t.Fatalf("digit rule ctx %v, want {\"error\": {}}", e.Ctx)
	}
	expectInvalid(t, post(with("password", "short1")), "password", "string_too_short")
	e = expectInvalid(t, post(with("password", strings.Repeat("é", 36)+"1")), "password", "value_error")
	if !strings.Contains(e.Msg, "72 bytes") {
		t.Fatalf("bcrypt limit: %+v", e)
	}
	expectInvalid(t, post(with("name", "A")), "name", "string_too_short")
	expectInvalid(t, post(with("name", strings.Repeat("n", 101))), "name", "string_too_long")
	expectInvalid(t, post(with("email", "not-an-email")), "email", "value_error")
	expectInvalid(t, post(with("role", nil)), "role", "missing")
	if errs := validation(t, env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", dialecttest.Raw(`{"name":`))); errs[0].Type != "json_invalid" {
		t.Fatalf("malformed JSON: %+v", errs)
	}

	// Unknown roles are refused before any account exists.
	body := with("role", uuid.NewString())
	post(body).Expect(t, http.StatusNotFound)
	body["role"] = ""
	post(body).Expect(t, http.StatusCreated)
}

func TestSignupEmailIsUniqueIgnoringCase(t *testing.T) {
	a := newAccount(t, "")
	res := env.JSON(t, http.MethodPost, "/api/v1/auth/signup", "", map[string]any{
		"name": "Twin", "email": strings.ToUpper(a.Email), "password": "password2", "role": "",
	}).Expect(t, http.StatusBadRequest)
	if !strings.Contains(detail(t, res), "already exists") {
		t.Fatalf("duplicate email: %s", res.Body)
	}
}

func TestConcurrentSignupsWithOneEmailMakeOneAccount(t *testing.T) {
	email := "race-" + uuid.NewString()[:8] + "@example.com"
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := env.Send(t.Context(), dialecttest.Request{Method: http.MethodPost, Path: "/api/v1/auth/signup",
				Body: map[string]any{"name": "Racer", "email": email, "password": "password1", "role": ""}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = res.Status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest, http.StatusConflict:
		default:
			t.Fatalf("signup answered %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent signups with one email succeeded, want 1 (statuses %v)", created, statuses)
	}
}

func TestLoginAnswersTokensAndRecordsTheLogin(t *testing.T) {
	a := newAccount(t, "")
	tk := login(t, strings.ToUpper(a.Email), a.Password)
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.AccessToken == tk.RefreshToken || tk.User.ID != a.ID {
		t.Fatalf("login answered %+v", tk)
	}
	if tk.User.Auth.LastLogin == nil || !tk.User.Auth.LastLogin.Equal(now.Now()) || !tk.User.Auth.IsActive {
		t.Fatalf("auth after login: %+v, want last_login %v", tk.User.Auth, now.Now())
	}
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, tk.AccessToken, nil).Expect(t, http.StatusOK)
	// A refresh token does not authorize requests.
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, tk.RefreshToken, nil).Expect(t, http.StatusUnauthorized)

	res := env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "password1"})
	if res.Expect(t, http.StatusUnauthorized); detail(t, res) != "Incorrect email or password" {
		t.Fatalf("unknown email: %s", res.Body)
	}
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "short"}),
		"password", "string_too_short")
}

func TestLockoutAfterFiveFailuresForFifteenMinutes(t *testing.T) {
	a := newAccount(t, "")
	attempt := func(password string) dialecttest.Response {
		return env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": password})
	}
	for range 4 {
		attempt("wrong-password1").Expect(t, http.StatusUnauthorized)
	}
	if failures, lockedUntil := signInState(t, a.ID); failures != 4 || lockedUntil != nil {
		t.Fatalf("after 4 failures: %d failures, locked until %v", failures, lockedUntil)
	}
	res := attempt("wrong-password1").Expect(t, http.StatusForbidden)
	if !strings.Contains(detail(t, res), "locked") {
		t.Fatalf("fifth failure: %s", res.Body)
	}
	unlock := now.Now().Add(15 * time.Minute)
	if failures, lockedUntil := signInState(t, a.ID); failures != 5 || lockedUntil == nil || !lockedUntil.Equal(unlock) {
		t.Fatalf("after 5 failures: %d failures, locked until %v, want %v", failures, lockedUntil, unlock)
	}
	res = attempt(a.Password).Expect(t, http.StatusForbidden)
	if !strings.Contains(detail(t, res), "locked") {
		t.Fatalf("right password while locked: %s", res.Body)
	}
	now.Advance(15*time.Minute - time.Second)
	attempt(a.Password).Expect(t, http.StatusForbidden)
	now.Advance(time.Second)

	tk := login(t, a.Email, a.Password)
	if tk.User.Auth.FailedLoginAttempts != 0 || tk.User.Auth.LockedUntil != nil || !tk.User.Auth.LastLogin.Equal(now.Now()) {
		t.Fatalf("the login after the lock did not reset the sign-in state: %+v", tk.User.Auth)
	}
}

func TestSuccessfulLoginResetsTheFailureCount(t *testing.T) {
	a := newAccount(t, "")
	for range 4 {
		env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong-password1"}).
			Expect(t, http.StatusUnauthorized)
	}
	login(t, a.Email, a.Password)
	env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong-password1"}).
		Expect(t, http.StatusUnauthorized)
	if failures, _ := signInState(t, a.ID); failures != 1 {
		t.Fatalf("failures after success then one failure: %d, want 1", failures)
	}
}

func TestInactiveUserCannotLogIn(t *testing.T) {
	a, token := userToken(t)
	env.JSON(t, http.MethodPut, "/api/v1/users/"+a.ID, adminToken(t), map[string]any{"status": false}).Expect(t, http.StatusOK)
	res := env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": a.Password})
	if res.Expect(t, http.StatusBadRequest); detail(t, res) != "Inactive user" {
		t.Fatalf("inactive login: %s", res.Body)
	}
	// Tokens issued before the deactivation stop working too.
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, token, nil).Expect(t, http.StatusBadRequest)
}

// signInState reads the failure count and lock the read model shows.
func signInState(t *testing.T, userID string) (int, *time.Time) {
	t.Helper()
	var failures int
	var lockedUntil *time.Time
	err := env.Pool.QueryRow(t.Context(), `SELECT failed_login_attempts, locked_until FROM civic.users WHERE id = $1`, userID).
		Scan(&failures, &lockedUntil)
	if err != nil {
		t.Fatalf("read sign-in state: %v", err)
	}
	return failures, lockedUntil
}

func TestRefreshRotatesAndARotatedTokenIsRefused(t *testing.T) {
	a := newAccount(t, "")
	first := login(t, a.Email, a.Password)
	refresh := func(token string) dialecttest.Response {
		return env.JSON(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": token})
	}
	var second struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
	}
	refresh(first.RefreshToken).Expect(t, http.StatusOK).Decode(t, &second)
	if second.TokenType != "bearer" || second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh answered %+v", second)
	}
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, second.AccessToken, nil).Expect(t, http.StatusOK)

	// The spent token is refused, and its reuse ends the session: the
	// token it was exchanged for dies with it.
	res := refresh(first.RefreshToken).Expect(t, http.StatusUnauthorized)
	if !strings.Contains(detail(t, res), "already used") {
		t.Fatalf("reused refresh token: %s", res.Body)
	}
	refresh(second.RefreshToken).Expect(t, http.StatusUnauthorized)
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, second.AccessToken, nil).Expect(t, http.StatusUnauthorized)

	// Other sessions of the user are untouched.
	other := login(t, a.Email, a.Password)
	refresh(other.RefreshToken).Expect(t, http.StatusOK)

	// Garbage, access tokens and expired refresh tokens are refused.
	refresh("not-a-token").Expect(t, http.StatusUnauthorized)
	refresh(other.AccessToken).Expect(t, http.StatusUnauthorized)
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{}), "refresh_token", "missing")
}

func TestRefreshTokensExpire(t *testing.T) {
	a := newAccount(t, "")
	tk := login(t, a.Email, a.Password)
	now.Advance(env.Deps.Tokens.RefreshTTL + time.Second)
	env.JSON(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}).
		Expect(t, http.StatusUnauthorized)
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, tk.AccessToken, nil).Expect(t, http.StatusUnauthorized)
}

func TestLogoutRevokesTheSession(t *testing.T) {
	a := newAccount(t, "")
	tk := login(t, a.Email, a.Password)
	kept := login(t, a.Email, a.Password)
	env.JSON(t, http.MethodPost, "/api/v1/auth/logout", "", nil).Expect(t, http.StatusUnauthorized)
	res := env.JSON(t, http.MethodPost, "/api/v1/auth/logout", tk.AccessToken, nil).Expect(t, http.StatusNoContent)
	if len(res.Body) != 0 {
		t.Fatalf("logout answered a body: %s", res.Body)
	}
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, tk.AccessToken, nil).Expect(t, http.StatusUnauthorized)
	env.JSON(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}).
		Expect(t, http.StatusUnauthorized)
	env.JSON(t, http.MethodPost, "/api/v1/auth/logout", tk.AccessToken, nil).Expect(t, http.StatusUnauthorized)
	// Signing out one session leaves the others.
	env.JSON(t, http.MethodGet, "/api/v1/users/"+a.ID, kept.AccessToken, nil).Expect(t, http.StatusOK)
}

func TestPasswordResetByMail(t *testing.T) {
	a := newAccount(t, "")
	for range 5 {
		env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong-password1"})
	}
	token := requestReset(t, strings.ToUpper(a.Email))

	reset := func(token, password string) dialecttest.Response {
		return env.JSON(t, http.MethodPost, "/api/v1/auth/password-reset", "", map[string]string{"token": token, "new_password": password})
	}
	e := expectInvalid(t, reset(token, "nodigits"), "new_password", "value_error")
	if e.Msg != "Value error, Password must contain at least one digit" {
		t.Fatalf("reset password rules: %+v", e)
	}
	expectInvalid(t, reset(token, "short1"), "new_password", "string_too_short")
	var answer string
	reset(token, "brand-new1").Expect(t, http.StatusOK).Decode(t, &answer)
	if answer == "" {
		t.Fatal("reset answered no message")
	}
	// Used once; the old password is gone, the new one works and the lock
	// the failures had set is lifted.
	res := reset(token, "another-new1").Expect(t, http.StatusBadRequest)
	if !strings.Contains(detail(t, res), "Invalid or expired") {
		t.Fatalf("second use: %s", res.Body)
	}
	env.JSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": a.Password}).
		Expect(t, http.StatusUnauthorized)
	login(t, a.Email, "brand-new1")
	reset("made-up-token", "brand-new2").Expect(t, http.StatusBadRequest)
}

func TestPasswordResetTokenIsUsedOnceUnderConcurrency(t *testing.T) {
	a := newAccount(t, "")
	token := requestReset(t, a.Email)
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := env.Send(t.Context(), dialecttest.Request{Method: http.MethodPost, Path: "/api/v1/auth/password-reset",
				Body: map[string]string{"token": token, "new_password": "concurrent" + string(rune('0'+i))}})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = res.Status
		})
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusBadRequest:
		default:
			t.Fatalf("reset answered %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent resets with one token succeeded, want 1 (statuses %v)", ok, statuses)
	}
}

func TestPasswordResetTokenExpires(t *testing.T) {
	a := newAccount(t, "")
	token := requestReset(t, a.Email)
	now.Advance(time.Hour)
	env.JSON(t, http.MethodPost, "/api/v1/auth/password-reset", "", map[string]string{"token": token, "new_password": "too-late1"}).
		Expect(t, http.StatusBadRequest)
	login(t, a.Email, a.Password)
}

func TestPasswordResetRequestDoesNotRevealAccounts(t *testing.T) {
	a := newAccount(t, "")
	before := len(env.Outbox.Sent())
	ask := func(email string) []byte {
		return env.JSON(t, http.MethodPost, "/api/v1/auth/password-reset-request", "", map[string]string{"email": email}).
			Expect(t, http.StatusOK).Body
	}
	known, unknown := ask(a.Email), ask("nobody-"+uuid.NewString()[:8]+"@example.com")
	if string(known) != string(unknown) {
		t.Fatalf("answers differ: %s vs %s", known, unknown)
	}
	if sent := env.Outbox.Sent()[before:]; len(sent) != 1 || sent[0].To != a.Email {
		t.Fatalf("mail sent: %+v, want one to %s", sent, a.Email)
	}
	expectInvalid(t, env.JSON(t, http.MethodPost, "/api/v1/auth/password-reset-request", "", map[string]string{"email": "nope"}),
		"email", "value_error")
}

// requestReset asks for a reset link and returns the token the mail holds.
func requestReset(t *testing.T, email string) string {
	t.Helper()
	before := len(env.Outbox.Sent())
	env.JSON(t, http.MethodPost, "/api/v1/auth/password-reset-request", "", map[string]string{"email": email}).Expect(t, http.StatusOK)
	sent := env.Outbox.Sent()[before:]
	if len(sent) != 1 || !strings.EqualFold(sent[0].To, email) {
		t.Fatalf("reset mails: %+v, want one to %s", sent, email)
	}
	m := sent[0]
	i := strings.Index(m.Body, env.Deps.PublicURL)
	if i < 0 {
		t.Fatalf("mail has no link under %s: %q", env.Deps.PublicURL, m.Body)
	}
	link, err := url.Parse(strings.Fields(m.Body[i:])[0])
	if err != nil {
		t.Fatalf("mail link: %v", err)
	}
	token := link.Query().Get("token")
	if token == "" {
		t.Fatalf("mail link %s has no token", link)
	}
	// The token's stream is keyed by its hash, and no event holds the token.
	stream, err := env.Store.ReadStream(t.Context(), "civic:"+identity.ResetKind+"-"+identity.ResetKey(token), 0, 0)
	if err != nil || len(stream) != 1 {
		t.Fatalf("reset stream of the token's hash: %d events, %v", len(stream), err)
	}
	for from := eventstore.Start; ; {
		events, err := env.Store.ReadAll(t.Context(), from, 500)
		if err != nil {
			t.Fatalf("read the log: %v", err)
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if strings.Contains(string(e.Data), token) {
				t.Fatalf("event %s %s stores the reset token", e.StreamID, e.Type)
			}
		}
		from = events[len(events)-1].Position
	}
	return token
}
