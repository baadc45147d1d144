package identity

import (
	"context"
	"errors"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// Login checks an email and password under a lockout policy and records
// the attempt: a success resets the failure count and stamps the last
// login, a failure counts toward the lock. Unknown emails fail like wrong
// passwords and record nothing. The result carries what was appended even
// when the login is refused, so callers can wait for it to be visible.
func (h *Users) Login(ctx context.Context, meta commands.Meta, email, password string, policy identity.LockoutPolicy) (identity.User, commands.Result, error) {
	u, err := h.Lookup(ctx, meta.Realm, email)
	if errors.Is(err, kernel.ErrNotFound) {
		return identity.User{}, commands.Result{}, identity.ErrBadCredentials
	}
	if err != nil {
		return identity.User{}, commands.Result{}, err
	}
	now := h.now()
	res, err := executeRecorded(ctx, h.x, identity.Users, meta, u.ID, func(u identity.User) ([]kernel.Event, error) {
		// Checked against the state being decided on, so a concurrent
		// password change is never judged with the old hash.
		return identity.AttemptLogin(u, h.hasher.Verify(u.PasswordHash, password), policy, now)
	})
	if err != nil {
		return identity.User{}, res, err
	}
	return identity.Users.Fold(u, res.Events...), res, nil
}

// executeRecorded runs a decision whose events may record a refused
// attempt (identity.Refusing): they are appended, then the refusal is
// returned with the result.
func executeRecorded[S any](ctx context.Context, x *commands.Executor, agg kernel.Aggregate[S], meta commands.Meta, id string,
	decide func(S) ([]kernel.Event, error)) (commands.Result, error) {
	res, err := commands.Execute(ctx, x, agg, meta, id, decide)
	if err != nil {
		return res, err
	}
	return res, identity.Refusal(res.Events)
}
