package auth

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// MaxPasswordBytes is bcrypt's input limit; dialects validate against it.
const MaxPasswordBytes = 72

// Passwords hashes with bcrypt. Cost is configurable because tests create
// many users and bcrypt's default cost is deliberately slow.
type Passwords struct {
	Cost int
}

// Hash returns the bcrypt hash of a password.
func (p Passwords) Hash(plain string) (string, error) {
	cost := p.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(plain), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Verify reports whether plain matches hash.
func (p Passwords) Verify(hash, plain string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
}
