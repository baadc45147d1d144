package identity

import (
	"context"
	"fmt"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// Restore brings an account back to its state at version target, provided
// it is still at version expect (commands.ErrMoved otherwise), keeping the
// email claims in step as Register, Update and Delete do: an email the
// account gets back is claimed first, and the restore is refused if
// another account holds it now; an email it gives up is released after.
func (h *Users) Restore(ctx context.Context, meta commands.Meta, userID string, target, expect int64) (commands.Result, error) {
	meta = meta.Grouped()
	want, err := commands.LoadAt(ctx, h.x, identity.Users, meta.Realm, userID, target)
	if err != nil {
		return commands.Result{}, err
	}
	current, version, err := commands.Load(ctx, h.x, identity.Users, meta.Realm, userID)
	if err != nil {
		return commands.Result{}, err
	}
	if version != expect {
		return commands.Result{}, fmt.Errorf("user %s is at %d, not %d: %w", userID, version, expect, commands.ErrMoved)
	}
	gains := want.Exists() && !usesEmail(current, want.Email)
	if gains {
		if err := h.claim(ctx, meta, want.Email, userID); err != nil {
			return commands.Result{}, err
		}
	}
	res, err := commands.ExecuteAt(ctx, h.x, identity.Users, meta, userID, expect, func(u identity.User) ([]kernel.Event, error) {
		return identity.Restore(u, want, h.now())
	})
	if err != nil {
		if gains {
			h.releaseQuietly(ctx, meta, want.Email, userID)
		}
		return res, err
	}
	if current.Exists() && !usesEmail(want, current.Email) {
		if err := h.release(ctx, meta, current.Email, userID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// usesEmail reports whether an existing account has email (in any case).
func usesEmail(u identity.User, email string) bool {
	return u.Exists() && identity.EmailKey(u.Email) == identity.EmailKey(email)
}
