package identity_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/annals-dev/annals/adapters/auth"
	"github.com/annals-dev/annals/commands"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/eventstore/memory"
)

// clock is a settable time source shared by the executor.
type clock struct{ now atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.now.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

type fixture struct {
	clock    *clock
	users    *cmdidentity.Users
	sessions *cmdidentity.Sessions
	resets   *cmdidentity.PasswordResets
	meta     commands.Meta
}

func setup(t *testing.T) fixture {
	t.Helper()
	reg := kernel.NewRegistry()
	identity.RegisterEvents(reg)
	x := commands.NewExecutor(memory.New(), reg)
	c := newClock()
	x.Now = c.Now
	users := cmdidentity.NewUsers(x, auth.Passwords{Cost: 4})
	f := fixture{
		clock: c, users: users,
		sessions: cmdidentity.NewSessions(x, users),
		resets:   cmdidentity.NewPasswordResets(x, users, time.Hour),
		meta:     commands.Meta{Realm: "test", Command: "test"},
	}
	if _, err := users.Register(context.Background(), f.meta, cmdidentity.Register{UserID: "u1", Email: "ann@example.com", Password: "right-pass1", Active: true}); err != nil {
		t.Fatalf("register: %v", err)
	}
	return f
}

var lockout = identity.LockoutPolicy{MaxFailures: 3, Duration: 15 * time.Minute}

func (f fixture) login(password string) (identity.User, error) {
	u, _, err := f.users.Login(context.Background(), f.meta, "ANN@example.com", password, lockout)
	return u, err
}

func TestLoginLocksAfterFailuresInARowUntilTheLockRunsOut(t *testing.T) {
	f := setup(t)
	for i := 1; i < lockout.MaxFailures; i++ {
		if _, err := f.login("wrong-pass1"); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatalf("failure %d: %v, want bad credentials", i, err)
		}
	}
	if _, err := f.login("wrong-pass1"); !errors.Is(err, identity.ErrAccountLocked) {
		t.Fatalf("failure reaching the limit: %v, want account locked", err)
	}
	f.clock.Advance(lockout.Duration - time.Second)
	if _, err := f.login("right-pass1"); !errors.Is(err, identity.ErrAccountLocked) {
		t.Fatalf("right password while locked: %v, want account locked", err)
	}
	f.clock.Advance(time.Second)
	u, err := f.login("right-pass1")
	if err != nil {
		t.Fatalf("right password after the lock: %v", err)
	}
	if u.FailedLogins != 0 || !u.LockedUntil.IsZero() || !u.LastLogin.Equal(f.clock.Now()) {
		t.Fatalf("after success: failures %d, locked until %v, last login %v", u.FailedLogins, u.LockedUntil, u.LastLogin)
	}
}

func TestSuccessResetsTheCount(t *testing.T) {
	f := setup(t)
	for range lockout.MaxFailures - 1 {
		_, _ = f.login("wrong-pass1")
	}
	if _, err := f.login("right-pass1"); err != nil {
		t.Fatalf("login: %v", err)
	}
	for range lockout.MaxFailures - 1 {
		_, _ = f.login("wrong-pass1")
	}
	if _, err := f.login("right-pass1"); err != nil {
		t.Fatalf("the count did not start again after a success: %v", err)
	}
}

func TestUnknownEmailIsBadCredentials(t *testing.T) {
	f := setup(t)
	_, res, err := f.users.Login(context.Background(), f.meta, "nobody@example.com", "right-pass1", lockout)
	if !errors.Is(err, identity.ErrBadCredentials) || res.Appended() {
		t.Fatalf("unknown email: %v (appended %v), want bad credentials and nothing recorded", err, res.Appended())
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.sessions.Start(ctx, f.meta, "s1", "u1", "r1"); err != nil {
		t.Fatalf("start: %v", err)
	}
	check := f.sessions.Check(f.meta.Realm)
	refresh := func(presented, next string) error {
		_, err := f.sessions.Refresh(ctx, f.meta, cmdidentity.Refresh{SessionID: "s1", UserID: "u1", Presented: presented, Next: next})
		return err
	}
	if err := refresh("r1", "r2"); err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	if err := check(ctx, "u1", "s1"); err != nil {
		t.Fatalf("session after refresh: %v", err)
	}
	if err := refresh("r1", "r3"); !errors.Is(err, identity.ErrRefreshTokenReused) {
		t.Fatalf("reused token: %v, want reuse detected", err)
	}
	if err := check(ctx, "u1", "s1"); !errors.Is(err, identity.ErrSessionEnded) {
		t.Fatalf("session after reuse: %v, want ended", err)
	}
	if err := refresh("r2", "r4"); !errors.Is(err, identity.ErrSessionEnded) {
		t.Fatalf("current token after reuse: %v, want session ended", err)
	}
}

func TestConcurrentRefreshesWithOneTokenRotateOnce(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.sessions.Start(ctx, f.meta, "s1", "u1", "r1"); err != nil {
		t.Fatalf("start: %v", err)
	}
	const n = 8
	var wg sync.WaitGroup
	var rotated atomic.Int32
	for i := range n {
		wg.Go(func() {
			_, err := f.sessions.Refresh(ctx, f.meta, cmdidentity.Refresh{SessionID: "s1", UserID: "u1", Presented: "r1", Next: string(rune('a' + i))})
			if err == nil {
				rotated.Add(1)
			}
		})
	}
	wg.Wait()
	if got := rotated.Load(); got != 1 {
		t.Fatalf("%d refreshes succeeded with one token, want exactly 1", got)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.sessions.Start(ctx, f.meta, "s1", "u1", "r1"); err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := f.sessions.End(ctx, f.meta, "s1", "u1"); err != nil {
		t.Fatalf("end: %v", err)
	}
	if err := f.sessions.Check(f.meta.Realm)(ctx, "u1", "s1"); !errors.Is(err, identity.ErrSessionEnded) {
		t.Fatalf("check after logout: %v", err)
	}
	if err := f.sessions.Check(f.meta.Realm)(ctx, "u1", ""); !errors.Is(err, identity.ErrUnknownSession) {
		t.Fatalf("token without a session: %v", err)
	}
}

func TestResetTokenWorksOnceUnderConcurrency(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	issued, err := f.resets.Request(ctx, f.meta, "Ann@Example.com")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if issued.User.ID != "u1" || len(issued.Token) < 20 {
		t.Fatalf("issued %+v", issued)
	}
	const n = 6
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range n {
		wg.Go(func() {
			if _, err := f.resets.Reset(ctx, f.meta, issued.Token, "new-pass1"); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, identity.ErrInvalidResetToken) {
				t.Errorf("losing reset: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d resets succeeded with one token, want 1", ok.Load())
	}
	if _, err := f.login("new-pass1"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
}

func TestResetTokenExpiresAndUnknownEmailsGetNone(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	issued, err := f.resets.Request(ctx, f.meta, "ann@example.com")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.resets.Reset(ctx, f.meta, issued.Token, "new-pass1"); !errors.Is(err, identity.ErrInvalidResetToken) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := f.resets.Request(ctx, f.meta, "nobody@example.com"); !errors.Is(err, identity.ErrUserNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
}

func TestResetLiftsALockout(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	for range lockout.MaxFailures {
		_, _ = f.login("wrong-pass1")
	}
	issued, err := f.resets.Request(ctx, f.meta, "ann@example.com")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if _, err := f.resets.Reset(ctx, f.meta, issued.Token, "new-pass1"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if _, err := f.login("new-pass1"); err != nil {
		t.Fatalf("login after reset of a locked account: %v", err)
	}
}
