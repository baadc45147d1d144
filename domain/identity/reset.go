package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// ResetKind is the stream category of password-reset tokens. A token's
// stream is keyed by the token's hash, never the token itself, so the event
// log holds nothing that resets a password; one stream per token also makes
// "used once" hold under concurrent use, as the second use finds the stream
// moved on.
const ResetKind = "passwordreset"

// ResetKey is the stream key of a reset token: its SHA-256 in hex. A fast
// hash is enough because tokens are long random strings, not passwords.
func ResetKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// PasswordReset is the state of one reset token.
type PasswordReset struct {
	UserID    string
	Issued    bool
	Used      bool
	ExpiresAt time.Time
}

// PasswordResetIssued: a reset token was mailed to the user.
type PasswordResetIssued struct {
	TokenHash string    `json:"token_hash"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
	At        time.Time `json:"at"`
}

// PasswordResetUsed: the token reset the password; it is spent.
type PasswordResetUsed struct {
	TokenHash string    `json:"token_hash"`
	UserID    string    `json:"user_id"`
	At        time.Time `json:"at"`
}

func (PasswordResetIssued) EventType() string { return "identity.PasswordResetIssued" }
func (PasswordResetUsed) EventType() string   { return "identity.PasswordResetUsed" }

// PasswordResets folds reset-token events.
var PasswordResets = kernel.Aggregate[PasswordReset]{Kind: ResetKind, Evolve: func(r PasswordReset, e kernel.Event) PasswordReset {
	switch e := e.(type) {
	case PasswordResetIssued:
		r = PasswordReset{UserID: e.UserID, Issued: true, ExpiresAt: e.ExpiresAt}
	case PasswordResetUsed:
		r.Used = true
	}
	return r
}}

// IssueReset decides a new token.
func IssueReset(r PasswordReset, e PasswordResetIssued) ([]kernel.Event, error) {
	if r.Issued {
		return nil, kernel.Conflict("reset_token_exists", "reset token already exists")
	}
	return []kernel.Event{e}, nil
}

// UseReset decides spending a token. Unknown, spent and expired tokens are
// refused alike.
func UseReset(r PasswordReset, tokenHash string, now time.Time) ([]kernel.Event, error) {
	if !r.Issued || r.Used || !now.Before(r.ExpiresAt) {
		return nil, ErrInvalidResetToken
	}
	return []kernel.Event{PasswordResetUsed{TokenHash: tokenHash, UserID: r.UserID, At: now}}, nil
}

// ErrInvalidResetToken refuses a reset token that cannot be used.
var ErrInvalidResetToken = kernel.Rule("invalid_reset_token", "Invalid or expired password reset token")
