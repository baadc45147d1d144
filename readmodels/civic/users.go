package civic

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/identity"
)

// User is an account as the users endpoints show it. Role lists the ids of
// the roles the user holds, comma-separated in the order granted: the same
// form sign-up accepts.
type User struct {
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Status    bool      `json:"status"`
	Role      string    `json:"role"`
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AuthInfo is an account's sign-in state.
type AuthInfo struct {
	IsActive bool `json:"is_active"`
	// EmailVerified is always false: the API has no verification flow.
	EmailVerified       bool       `json:"email_verified"`
	LastLogin           *time.Time `json:"last_login"`
	FailedLoginAttempts int        `json:"failed_login_attempts"`
	LockedUntil         *time.Time `json:"locked_until"`
}

// Account is a user with its sign-in state, as the auth endpoints show it.
type Account struct {
	User
	Auth AuthInfo `json:"auth"`
}

const accountColumns = `
u.id, u.name, u.email, u.active, u.created_at, u.updated_at,
coalesce((SELECT string_agg(ur.role_id, ',' ORDER BY ur.seq)
    FROM civic.user_roles ur JOIN civic.roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), ''),
u.last_login, u.failed_login_attempts, u.locked_until`

func scanAccount(row pgx.CollectableRow) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Name, &a.Email, &a.Status, &a.CreatedAt, &a.UpdatedAt, &a.Role,
		&a.Auth.LastLogin, &a.Auth.FailedLoginAttempts, &a.Auth.LockedUntil)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.Auth.IsActive = a.Status
	a.Auth.LastLogin, a.Auth.LockedUntil = inUTC(a.Auth.LastLogin), inUTC(a.Auth.LockedUntil)
	return a, err
}

func scanUser(row pgx.CollectableRow) (User, error) {
	a, err := scanAccount(row)
	return a.User, err
}

// Account returns one account with its sign-in state.
func (q *Queries) Account(ctx context.Context, id string) (Account, error) {
	return one(ctx, q, scanAccount, identity.ErrUserNotFound,
		`SELECT `+accountColumns+` FROM civic.users u WHERE u.id = $1`, id)
}

// User returns one account.
func (q *Queries) User(ctx context.Context, id string) (User, error) {
	return one(ctx, q, scanUser, identity.ErrUserNotFound,
		`SELECT `+accountColumns+` FROM civic.users u WHERE u.id = $1`, id)
}

// Users returns accounts oldest first, skipping skip and returning at most
// limit.
func (q *Queries) Users(ctx context.Context, skip, limit int) ([]User, error) {
	return all(ctx, q, scanUser,
		`SELECT `+accountColumns+` FROM civic.users u ORDER BY u.seq OFFSET $1 LIMIT $2`, skip, limit)
}
