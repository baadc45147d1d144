package identity

import (
	"errors"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// SessionKind is the stream category of sign-in sessions. A session starts
// at login and holds the id of the one refresh token that may renew it;
// every renewal rotates that id.
const SessionKind = "session"

// Session is the state folded from a session's events.
type Session struct {
	ID        string
	UserID    string
	RefreshID string // id of the only refresh token still accepted
	Started   bool
	Ended     bool
}

// SessionStarted: a login opened a session with its first refresh token.
type SessionStarted struct {
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	RefreshID string    `json:"refresh_id"`
	At        time.Time `json:"at"`
}

// SessionRefreshed: the current refresh token was exchanged for a new one.
type SessionRefreshed struct {
	SessionID string    `json:"session_id"`
	RefreshID string    `json:"refresh_id"`
	At        time.Time `json:"at"`
}

// RefreshTokenReused: a refresh token that had already been exchanged was
// presented again. Only one of its holders is legitimate and there is no
// telling which, so the session ends for both.
type RefreshTokenReused struct {
	SessionID string    `json:"session_id"`
	RefreshID string    `json:"refresh_id"`
	At        time.Time `json:"at"`
}

// SessionEnded: the user signed out.
type SessionEnded struct {
	SessionID string    `json:"session_id"`
	At        time.Time `json:"at"`
}

func (SessionStarted) EventType() string     { return "identity.SessionStarted" }
func (SessionRefreshed) EventType() string   { return "identity.SessionRefreshed" }
func (RefreshTokenReused) EventType() string { return "identity.RefreshTokenReused" }
func (SessionEnded) EventType() string       { return "identity.SessionEnded" }

// Refusal fails the refresh that revealed the reuse.
func (RefreshTokenReused) Refusal() error { return ErrRefreshTokenReused }

// Sessions folds session events.
var Sessions = kernel.Aggregate[Session]{Kind: SessionKind, Evolve: func(s Session, e kernel.Event) Session {
	switch e := e.(type) {
	case SessionStarted:
		s = Session{ID: e.SessionID, UserID: e.UserID, RefreshID: e.RefreshID, Started: true}
	case SessionRefreshed:
		s.RefreshID = e.RefreshID
	case RefreshTokenReused, SessionEnded:
		s.Ended = true
	}
	return s
}}

// StartSession decides a new session; its id is chosen by the caller.
func StartSession(s Session, e SessionStarted) ([]kernel.Event, error) {
	if s.Started {
		return nil, kernel.Conflict("session_exists", "session already exists")
	}
	return []kernel.Event{e}, nil
}

// CheckSession tells whether tokens of the session, issued to userID, are
// still honoured.
func CheckSession(s Session, userID string) error {
	switch {
	case !s.Started || s.UserID != userID:
		return ErrUnknownSession
	case s.Ended:
		return ErrSessionEnded
	default:
		return nil
	}
}

// RotateRefresh decides the exchange of refresh token presented for next.
// Presenting a token that was already exchanged ends the session (see
// RefreshTokenReused).
func RotateRefresh(s Session, userID, presented, next string, at time.Time) ([]kernel.Event, error) {
	if err := CheckSession(s, userID); err != nil {
		return nil, err
	}
	if presented != s.RefreshID {
		return []kernel.Event{RefreshTokenReused{SessionID: s.ID, RefreshID: presented, At: at}}, nil
	}
	return []kernel.Event{SessionRefreshed{SessionID: s.ID, RefreshID: next, At: at}}, nil
}

// EndSession decides a sign-out; ending an ended session changes nothing.
func EndSession(s Session, userID string, at time.Time) ([]kernel.Event, error) {
	err := CheckSession(s, userID)
	switch {
	case errors.Is(err, ErrSessionEnded):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return []kernel.Event{SessionEnded{SessionID: s.ID, At: at}}, nil
}

// Errors of sessions. They all mean "sign in again"; the codes tell why.
var (
	ErrUnknownSession     = kernel.Unauthenticated("unknown_session", "Could not validate credentials")
	ErrSessionEnded       = kernel.Unauthenticated("session_ended", "Session has ended; sign in again")
	ErrRefreshTokenReused = kernel.Unauthenticated("refresh_token_reused",
		"Refresh token was already used; the session has been ended, sign in again")
)
