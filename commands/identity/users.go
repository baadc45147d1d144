// Package identity holds the command handlers for accounts that every
// dialect shares: registration with unique emails, profile and password
// changes, deletion, and password authentication.
package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// PasswordHasher is the port to password hashing (bcrypt in production).
type PasswordHasher interface {
	Hash(plain string) (string, error)
	Verify(hash, plain string) bool
}

// Users handles account commands.
type Users struct {
	x      *commands.Executor
	hasher PasswordHasher
	now    func() time.Time
}

// NewUsers returns the account command handlers.
func NewUsers(x *commands.Executor, hasher PasswordHasher) *Users {
	return &Users{x: x, hasher: hasher, now: func() time.Time { return x.Now().UTC() }}
}

// Register is a new account. UserID is chosen by the caller.
type Register struct {
	UserID          string
	Email           string
	Password        string
	FullName        *string
	Active          bool
	Superuser       bool
	ReworkAvailable int
	Role            string
}

// Register creates an account if its email is free in the realm.
func (h *Users) Register(ctx context.Context, meta commands.Meta, cmd Register) (commands.Result, error) {
	meta = Registrant(meta, cmd.UserID)
	hash, err := h.hasher.Hash(cmd.Password)
	if err != nil {
		return commands.Result{}, err
	}
	if err := h.claim(ctx, meta, cmd.Email, cmd.UserID); err != nil {
		return commands.Result{}, err
	}
	ev := identity.UserRegistered{
		UserID: cmd.UserID, Email: cmd.Email, FullName: cmd.FullName, PasswordHash: hash,
		Active: cmd.Active, Superuser: cmd.Superuser, ReworkAvailable: cmd.ReworkAvailable, Role: cmd.Role, At: h.now(),
	}
	return commands.Execute(ctx, h.x, identity.Users, meta, cmd.UserID, func(u identity.User) ([]kernel.Event, error) {
		return identity.Register(u, ev)
	})
}

// Registrant is the metadata of a registration: one command, and when
// nobody is signed in, the new account's own (whoever signs up is its
// author, and so may undo it).
func Registrant(meta commands.Meta, userID string) commands.Meta {
	if meta.ActorID == "" {
		meta.ActorID = userID
	}
	return meta.Grouped()
}

// Update changes profile fields. A new email is claimed before the account
// changes and the old one released after, so the email is never free twice.
func (h *Users) Update(ctx context.Context, meta commands.Meta, userID string, changes identity.UserChanges) (commands.Result, error) {
	meta = meta.Grouped()
	before, _, err := h.Get(ctx, meta.Realm, userID)
	if err != nil {
		return commands.Result{}, err
	}
	newEmail := changes.Email != nil && identity.EmailKey(*changes.Email) != identity.EmailKey(before.Email)
	if newEmail {
		if err := h.claim(ctx, meta, *changes.Email, userID); err != nil {
			return commands.Result{}, err
		}
	}
	res, err := commands.Execute(ctx, h.x, identity.Users, meta, userID, func(u identity.User) ([]kernel.Event, error) {
		return identity.Update(u, changes, h.now())
	})
	if err != nil {
		if newEmail {
			h.releaseQuietly(ctx, meta, *changes.Email, userID)
		}
		return res, err
	}
	if newEmail {
		if err := h.release(ctx, meta, before.Email, userID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ChangePassword sets a new password. With verifyCurrent, current must
// match the stored hash (self-service); admins reset without it.
func (h *Users) ChangePassword(ctx context.Context, meta commands.Meta, userID, current, next string, verifyCurrent bool) (commands.Result, error) {
	u, _, err := h.Get(ctx, meta.Realm, userID)
	if err != nil {
		return commands.Result{}, err
	}
	if verifyCurrent && !h.hasher.Verify(u.PasswordHash, current) {
		return commands.Result{}, ErrWrongCurrentPassword
	}
	if verifyCurrent && current == next {
		return commands.Result{}, ErrSamePassword
	}
	hash, err := h.hasher.Hash(next)
	if err != nil {
		return commands.Result{}, err
	}
	return commands.Execute(ctx, h.x, identity.Users, meta, userID, func(u identity.User) ([]kernel.Event, error) {
		return identity.ChangePassword(u, hash, h.now())
	})
}

// Delete ends an account and frees its email.
func (h *Users) Delete(ctx context.Context, meta commands.Meta, userID string) (commands.Result, error) {
	meta = meta.Grouped()
	res, err := commands.Execute(ctx, h.x, identity.Users, meta, userID, func(u identity.User) ([]kernel.Event, error) {
		return identity.Delete(u, meta.ActorID, h.now())
	})
	if err != nil {
		return res, err
	}
	deleted := res.Events[0].(identity.UserDeleted)
	if err := h.release(ctx, meta, deleted.Email, userID); err != nil {
		return res, err
	}
	return res, nil
}

// Get loads an existing account from its stream (never from a read model,
// so authorization decisions see the latest state).
func (h *Users) Get(ctx context.Context, realm, userID string) (identity.User, int64, error) {
	u, version, err := commands.Load(ctx, h.x, identity.Users, realm, userID)
	if err != nil {
		return u, version, err
	}
	if !u.Exists() {
		return u, version, identity.ErrUserNotFound
	}
	return u, version, nil
}

// Lookup finds the account holding an email in a realm.
func (h *Users) Lookup(ctx context.Context, realm, email string) (identity.User, error) {
	claim, _, err := commands.Load(ctx, h.x, identity.EmailClaims, realm, identity.EmailKey(email))
	if err != nil {
		return identity.User{}, err
	}
	if claim.Holder == "" {
		return identity.User{}, identity.ErrUserNotFound
	}
	u, _, err := h.Get(ctx, realm, claim.Holder)
	if err != nil {
		return identity.User{}, err
	}
	if identity.EmailKey(u.Email) != identity.EmailKey(email) {
		return identity.User{}, identity.ErrUserNotFound
	}
	return u, nil
}

// Authenticate checks an email and password. Unknown emails and wrong
// passwords fail alike so that the answer does not reveal accounts.
func (h *Users) Authenticate(ctx context.Context, realm, email, password string) (identity.User, error) {
	u, err := h.Lookup(ctx, realm, email)
	if errors.Is(err, kernel.ErrNotFound) {
		return identity.User{}, identity.ErrBadCredentials
	}
	if err != nil {
		return identity.User{}, err
	}
	if !h.hasher.Verify(u.PasswordHash, password) {
		return identity.User{}, identity.ErrBadCredentials
	}
	if !u.Active {
		return identity.User{}, identity.ErrInactiveUser
	}
	return u, nil
}

// EnsureSuperuser creates the configured superuser in a realm unless an
// account already holds its email. Concurrent starts are safe: the email
// claim lets only one of them register.
func (h *Users) EnsureSuperuser(ctx context.Context, meta commands.Meta, userID, email, password string) error {
	_, err := h.Lookup(ctx, meta.Realm, email)
	if err == nil {
		return nil
	}
	if !errors.Is(err, kernel.ErrNotFound) {
		return err
	}
	_, err = h.Register(ctx, meta, Register{UserID: userID, Email: email, Password: password, Active: true, Superuser: true, ReworkAvailable: 2})
	if errors.Is(err, identity.ErrEmailTaken) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ensure superuser in %s: %w", meta.Realm, err)
	}
	return nil
}

// claim takes an email for userID. Whether the current holder still uses
// the email is read first; if the claim changes hands meanwhile, the new
// holder is presumed to use it.
func (h *Users) claim(ctx context.Context, meta commands.Meta, email, userID string) error {
	key := identity.EmailKey(email)
	current, _, err := commands.Load(ctx, h.x, identity.EmailClaims, meta.Realm, key)
	if err != nil {
		return err
	}
	holderUses := false
	if current.Holder != "" && current.Holder != userID {
		holder, _, err := commands.Load(ctx, h.x, identity.Users, meta.Realm, current.Holder)
		if err != nil {
			return err
		}
		holderUses = holder.Exists() && identity.EmailKey(holder.Email) == key
	}
	_, err = commands.Execute(ctx, h.x, identity.EmailClaims, meta, key, func(c identity.EmailClaim) ([]kernel.Event, error) {
		return identity.Claim(c, email, userID, holderUses || c.Holder != current.Holder, h.now())
	})
	return err
}

func (h *Users) release(ctx context.Context, meta commands.Meta, email, userID string) error {
	key := identity.EmailKey(email)
	_, err := commands.Execute(ctx, h.x, identity.EmailClaims, meta, key, func(c identity.EmailClaim) ([]kernel.Event, error) {
		return identity.Release(c, email, userID)
	})
	return err
}

// releaseQuietly undoes a claim after the account change failed; if this
// fails too the claim is stale and the next claimant takes it over.
func (h *Users) releaseQuietly(ctx context.Context, meta commands.Meta, email, userID string) {
	_ = h.release(ctx, meta, email, userID)
}

// Errors of these handlers.
var (
	ErrWrongCurrentPassword = kernel.Rule("wrong_password", "Incorrect password")
	ErrSamePassword         = kernel.Rule("same_password", "New password cannot be the same as the current one")
)
