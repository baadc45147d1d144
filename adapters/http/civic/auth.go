package civic

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/mail"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/kernel"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// loginResponse is LoginResponse.
type loginResponse struct {
	AccessToken  string            `json:"access_token"`
	RefreshToken string            `json:"refresh_token"`
	User         readmodel.Account `json:"user"`
}

// tokenPair is Token.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// Answers of the password-reset endpoints. The request's answer is the same
// whether or not the email belongs to an account.
const (
	resetRequested = "If an account exists for this email, a password reset link has been sent to it."
	resetDone      = "Password has been reset successfully."
)

// signup registers an active user holding the roles named (UserSignup) and
// answers it with its sign-in state.
func (d *Dialect) signup(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", nameRules)
	email := b.Email("email", required)
	password := newPassword(b, "password")
	roles := b.Str("role", required)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	cmd := cmdidentity.Register{UserID: uuid.NewString(), Email: email.V, Password: password, FullName: &name.V, Active: true}
	res, err := d.roles.Register(r.Context(), d.Meta(r, "Signup"), cmd, roleIDs(roles.V))
	fastapi.Written(d.Responder, w, r, http.StatusCreated, res, err, func(ctx context.Context) (readmodel.Account, error) {
		return d.reads.Account(ctx, cmd.UserID)
	})
}

// login exchanges an email and password for a new session's tokens
// (UserLogin). Every attempt is recorded on the account: wrong passwords
// count toward the lockout, a success resets the count.
func (d *Dialect) login(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	email := b.Email("email", required)
	password := b.Str("password", loginPassword)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	meta := d.Meta(r, "Login")
	u, res, err := d.users.Login(r.Context(), meta, email.V, password.V, d.lockout)
	if err != nil {
		d.Await(r, res)
		d.Fail(w, r, err)
		return
	}
	sessionID := uuid.NewString()
	access, refresh, err := d.issue(u.ID, sessionID)
	if err != nil {
		d.Fail(w, r, err)
		return
	}
	meta.ActorID = u.ID
	started, err := d.sessions.Start(r.Context(), meta, sessionID, u.ID, refresh.ID)
	// The session was appended after the login, so waiting for it covers both.
	fastapi.Written(d.Responder, w, r, http.StatusOK, started, err, func(ctx context.Context) (loginResponse, error) {
		account, err := d.reads.Account(ctx, u.ID)
		return loginResponse{AccessToken: access.Token, RefreshToken: refresh.Token, User: account}, err
	})
}

// refresh exchanges a refresh token for a new pair (RefreshTokenRequest).
// The presented token is spent; presenting it again ends its session.
func (d *Dialect) refresh(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	presented := b.Str("refresh_token", required)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	claims, err := d.Deps.Tokens.Verify(presented.V, readmodel.Realm, auth.Refresh)
	if err != nil {
		d.Fail(w, r, kit.ErrInvalidCredentials)
		return
	}
	access, refresh, err := d.issue(claims.Subject, claims.SessionID)
	if err != nil {
		d.Fail(w, r, err)
		return
	}
	meta := d.Meta(r, "RefreshToken")
	meta.ActorID = claims.Subject
	res, err := d.sessions.Refresh(r.Context(), meta, cmdidentity.Refresh{
		SessionID: claims.SessionID, UserID: claims.Subject, Presented: claims.ID, Next: refresh.ID,
	})
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(context.Context) (tokenPair, error) {
		return tokenPair{AccessToken: access.Token, RefreshToken: refresh.Token, TokenType: "bearer"}, nil
	})
}

// logout ends the caller's session: its access and refresh tokens are
// refused from now on.
func (d *Dialect) logout(w http.ResponseWriter, r *http.Request) {
	p := kit.PrincipalFrom(r.Context())
	res, err := d.sessions.End(r.Context(), d.Meta(r, "Logout"), p.SessionID, p.User.ID)
	d.done(w, r, res, err)
}

// requestPasswordReset mails a reset link to the account holding the email
// (PasswordResetRequest). It answers the same whether or not there is one,
// and a mail that cannot be sent is logged rather than told, which would
// tell the account exists.
func (d *Dialect) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	email := b.Email("email", required)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	issued, err := d.resets.Request(r.Context(), d.Meta(r, "RequestPasswordReset"), email.V)
	switch {
	case errors.Is(err, kernel.ErrNotFound):
	case err != nil:
		d.Fail(w, r, err)
		return
	default:
		if err := d.Deps.Mail.Send(r.Context(), d.resetMail(issued)); err != nil {
			d.Deps.Logger.ErrorContext(r.Context(), "password reset mail not sent", "user_id", issued.User.ID, "err", err)
		}
		d.Await(r, issued.Result)
	}
	fastapi.WriteJSON(w, http.StatusOK, resetRequested)
}

// resetMail is the message carrying a reset token.
func (d *Dialect) resetMail(issued cmdidentity.Issued) mail.Message {
	link := d.Deps.PublicURL + "/reset-password?token=" + url.QueryEscape(issued.Token)
	return mail.Message{
		To:      issued.User.Email,
		Subject: "Reset your password",
		Body: "Someone asked to reset the password of your account.\n\n" +
			"To choose a new password, open this link soon; it expires, and works once:\n\n" + link + "\n\n" +
			"If it was not you, ignore this message: your password stays as it is.",
	}
}

// resetPassword spends a reset token to set a new password (PasswordReset).
func (d *Dialect) resetPassword(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	token := b.Str("token", required)
	password := newPassword(b, "new_password")
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := d.resets.Reset(r.Context(), d.Meta(r, "ResetPassword"), token.V, password)
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(context.Context) (string, error) { return resetDone, nil })
}

// issue signs a session's access and refresh tokens.
func (d *Dialect) issue(userID, sessionID string) (access, refresh auth.Issued, err error) {
	if access, err = d.Deps.Tokens.Issue(readmodel.Realm, userID, auth.Access, sessionID); err != nil {
		return access, refresh, err
	}
	refresh, err = d.Deps.Tokens.Issue(readmodel.Realm, userID, auth.Refresh, sessionID)
	return access, refresh, err
}
