package kit

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/annals-dev/annals/adapters/auth"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// Principal is the authenticated caller.
type Principal struct {
	User      identity.User
	SessionID string
}

// Authentication failures, as FastAPI's OAuth2PasswordBearer words them.
var (
	ErrNotAuthenticated   = kernel.Unauthenticated("not_authenticated", "Not authenticated")
	ErrInvalidCredentials = kernel.Unauthenticated("invalid_token", "Could not validate credentials")
)

// Authenticator turns a bearer access token into a Principal. The user is
// loaded from its stream, so a deactivated or deleted user is refused at
// once, whatever the token's lifetime.
type Authenticator struct {
	Realm  string
	Tokens *auth.Tokens
	Users  *cmdidentity.Users
	// Session, if set, refuses tokens of ended sessions (logout).
	Session func(ctx context.Context, userID, sessionID string) error
}

// Authenticate checks the request's bearer token.
func (a Authenticator) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return Principal{}, ErrNotAuthenticated
	}
	claims, err := a.Tokens.Verify(strings.TrimSpace(token), a.Realm, auth.Access)
	if err != nil {
		return Principal{}, ErrInvalidCredentials
	}
	u, _, err := a.Users.Get(r.Context(), a.Realm, claims.Subject)
	if errors.Is(err, kernel.ErrNotFound) {
		return Principal{}, ErrInvalidCredentials
	}
	if err != nil {
		return Principal{}, err
	}
	if !u.Active {
		return Principal{}, identity.ErrInactiveUser
	}
	if a.Session != nil {
		if err := a.Session(r.Context(), u.ID, claims.SessionID); err != nil {
			return Principal{}, err
		}
	}
	return Principal{User: u, SessionID: claims.SessionID}, nil
}

type principalKey struct{}

// Middleware authenticates every request it wraps, answering failures with
// writeErr (each dialect words them its own way).
func (a Authenticator) Middleware(writeErr func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			if err != nil {
				writeErr(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// PrincipalFrom returns the caller put in the context by Middleware.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
