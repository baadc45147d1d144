package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// DefaultResetTTL is how long a password-reset token can be used.
const DefaultResetTTL = time.Hour

// PasswordResets handles the forgotten-password flow: a single-use,
// expiring token is issued for an account and later spent to set a new
// password.
type PasswordResets struct {
	x     *commands.Executor
	users *Users
	ttl   time.Duration
	now   func() time.Time
}

// NewPasswordResets returns the reset handlers; tokens live for ttl.
func NewPasswordResets(x *commands.Executor, users *Users, ttl time.Duration) *PasswordResets {
	return &PasswordResets{x: x, users: users, ttl: ttl, now: func() time.Time { return x.Now().UTC() }}
}

// Issued is a new reset token, to be sent to the account's email and shown
// nowhere else.
type Issued struct {
	Token  string
	User   identity.User
	Result commands.Result
}

// Request issues a reset token for the account holding email. Unknown
// emails fail with identity.ErrUserNotFound, which callers must not reveal.
func (h *PasswordResets) Request(ctx context.Context, meta commands.Meta, email string) (Issued, error) {
	u, err := h.users.Lookup(ctx, meta.Realm, email)
	if err != nil {
		return Issued{}, err
	}
	token := rand.Text() // 26 base32 characters: 130 random bits
	now := h.now()
	issued := identity.PasswordResetIssued{TokenHash: identity.ResetKey(token), UserID: u.ID, ExpiresAt: now.Add(h.ttl), At: now}
	res, err := commands.Execute(ctx, h.x, identity.PasswordResets, meta, issued.TokenHash, func(r identity.PasswordReset) ([]kernel.Event, error) {
		return identity.IssueReset(r, issued)
	})
	if err != nil {
		return Issued{}, fmt.Errorf("issue password reset: %w", err)
	}
	return Issued{Token: token, User: u, Result: res}, nil
}

// Reset spends a token and sets the new password of its account. The token
// is spent first, so two concurrent uses cannot both set a password.
func (h *PasswordResets) Reset(ctx context.Context, meta commands.Meta, token, password string) (commands.Result, error) {
	meta = meta.Grouped()
	hash, err := h.users.hasher.Hash(password)
	if err != nil {
		return commands.Result{}, err
	}
	key := identity.ResetKey(token)
	used, err := commands.Execute(ctx, h.x, identity.PasswordResets, meta, key, func(r identity.PasswordReset) ([]kernel.Event, error) {
		return identity.UseReset(r, key, h.now())
	})
	if err != nil {
		return commands.Result{}, err
	}
	userID := used.Events[0].(identity.PasswordResetUsed).UserID
	res, err := commands.Execute(ctx, h.x, identity.Users, meta, userID, func(u identity.User) ([]kernel.Event, error) {
		return identity.ResetPassword(u, hash, h.now())
	})
	if errors.Is(err, kernel.ErrNotFound) {
		// The account went away after the token was issued.
		return commands.Result{}, identity.ErrInvalidResetToken
	}
	return res, err
}
