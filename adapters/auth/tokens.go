// Package auth issues and verifies JWTs and hashes passwords.
package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Token kinds: an access token authorizes requests; a refresh token only
// buys a new pair (dialects with a refresh flow).
const (
	Access  = "access"
	Refresh = "refresh"
)

// ErrInvalidToken wraps every reason a token is refused (bad signature,
// expired, other realm, wrong kind, malformed).
var ErrInvalidToken = errors.New("invalid token")

// Claims are the registered claims plus what Annals needs. The audience is
// the realm, so a token of one dialect is refused by another.
type Claims struct {
	jwt.RegisteredClaims
	Kind      string `json:"typ"`
	SessionID string `json:"sid,omitempty"`
}

// Tokens signs HS256 tokens with one secret.
type Tokens struct {
	secret     []byte
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	Now        func() time.Time
}

// NewTokens returns a signer; the secret must be at least 32 bytes.
func NewTokens(secret string, accessTTL, refreshTTL time.Duration) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("jwt secret must be at least 32 bytes, got %d", len(secret))
	}
	return &Tokens{secret: []byte(secret), AccessTTL: accessTTL, RefreshTTL: refreshTTL, Now: time.Now}, nil
}

// Issued is a signed token and when it expires.
type Issued struct {
	Token     string
	ID        string
	ExpiresAt time.Time
}

// Issue signs a token of a kind for a user of a realm. sessionID ties access
// and refresh tokens to a revocable session ("" where a dialect has none).
func (t *Tokens) Issue(realm, userID, kind, sessionID string) (Issued, error) {
	ttl := t.AccessTTL
	if kind == Refresh {
		ttl = t.RefreshTTL
	}
	now := t.Now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        uuid.NewString(),
			Subject:   userID,
			Audience:  jwt.ClaimStrings{realm},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Kind:      kind,
		SessionID: sessionID,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return Issued{}, fmt.Errorf("sign %s token: %w", kind, err)
	}
	return Issued{Token: s, ID: claims.ID, ExpiresAt: claims.ExpiresAt.Time}, nil
}

// Verify checks signature, algorithm, expiry, realm and kind.
func (t *Tokens) Verify(token, realm, kind string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(realm),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.Now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Kind != kind {
		return Claims{}, fmt.Errorf("%w: %s token where %s expected", ErrInvalidToken, c.Kind, kind)
	}
	if c.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return c, nil
}
