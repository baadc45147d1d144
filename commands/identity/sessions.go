package identity

import (
	"context"
	"errors"
	"time"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// Sessions handles sign-in sessions. Tokens are signed at the edge; a
// session only knows the ids of its refresh tokens, which is all rotation
// and revocation need.
type Sessions struct {
	x     *commands.Executor
	users *Users
	now   func() time.Time
}

// NewSessions returns the session command handlers.
func NewSessions(x *commands.Executor, users *Users) *Sessions {
	return &Sessions{x: x, users: users, now: func() time.Time { return x.Now().UTC() }}
}

// Start opens a session for a signed-in user with its first refresh token.
func (h *Sessions) Start(ctx context.Context, meta commands.Meta, sessionID, userID, refreshID string) (commands.Result, error) {
	started := identity.SessionStarted{SessionID: sessionID, UserID: userID, RefreshID: refreshID, At: h.now()}
	return commands.Execute(ctx, h.x, identity.Sessions, meta, sessionID, func(s identity.Session) ([]kernel.Event, error) {
		return identity.StartSession(s, started)
	})
}

// Refresh is the exchange of a verified refresh token for the next one.
type Refresh struct {
	SessionID string
	UserID    string
	Presented string // id of the refresh token presented
	Next      string // id of the refresh token that replaces it
}

// Refresh rotates the session's refresh token. The user must still be able
// to sign in. A token that was already exchanged ends the session and the
// refresh fails with identity.ErrRefreshTokenReused.
func (h *Sessions) Refresh(ctx context.Context, meta commands.Meta, cmd Refresh) (commands.Result, error) {
	u, _, err := h.users.Get(ctx, meta.Realm, cmd.UserID)
	if errors.Is(err, kernel.ErrNotFound) {
		return commands.Result{}, identity.ErrUnknownSession
	}
	if err != nil {
		return commands.Result{}, err
	}
	if !u.Active {
		return commands.Result{}, identity.ErrInactiveUser
	}
	now := h.now()
	return executeRecorded(ctx, h.x, identity.Sessions, meta, cmd.SessionID, func(s identity.Session) ([]kernel.Event, error) {
		return identity.RotateRefresh(s, cmd.UserID, cmd.Presented, cmd.Next, now)
	})
}

// End signs a session out: its tokens are refused from now on.
func (h *Sessions) End(ctx context.Context, meta commands.Meta, sessionID, userID string) (commands.Result, error) {
	return commands.Execute(ctx, h.x, identity.Sessions, meta, sessionID, func(s identity.Session) ([]kernel.Event, error) {
		return identity.EndSession(s, userID, h.now())
	})
}

// Check tells whether tokens of a session issued to userID are still
// honoured. Its signature fits an authenticator's session hook.
func (h *Sessions) Check(realm string) func(ctx context.Context, userID, sessionID string) error {
	return func(ctx context.Context, userID, sessionID string) error {
		if sessionID == "" {
			return identity.ErrUnknownSession
		}
		s, _, err := commands.Load(ctx, h.x, identity.Sessions, realm, sessionID)
		if err != nil {
			return err
		}
		return identity.CheckSession(s, userID)
	}
}
