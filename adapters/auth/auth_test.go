package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/annals-dev/annals/adapters/auth"
)

const secret = "0123456789abcdef0123456789abcdef"

func newTokens(t *testing.T, now *time.Time) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens(secret, time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tk.Now = func() time.Time { return *now }
	return tk
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tk := newTokens(t, &now)
	access, err := tk.Issue("sartiq", "u1", auth.Access, "s1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(access.Token, "sartiq", auth.Access)
	if err != nil || c.Subject != "u1" || c.SessionID != "s1" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	refused := map[string]func() error{
		"other realm": func() error { _, err := tk.Verify(access.Token, "civic", auth.Access); return err },
		"wrong kind":  func() error { _, err := tk.Verify(access.Token, "sartiq", auth.Refresh); return err },
		"tampered": func() error {
			_, err := tk.Verify(access.Token[:len(access.Token)-2]+"xx", "sartiq", auth.Access)
			return err
		},
		"other secret": func() error {
			other, _ := auth.NewTokens(strings.Repeat("z", 32), time.Minute, time.Hour)
			other.Now = tk.Now
			_, err := other.Verify(access.Token, "sartiq", auth.Access)
			return err
		},
		"alg none": func() error {
			unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u1", "aud": "sartiq", "typ": "access",
				"exp": now.Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			_, err := tk.Verify(unsigned, "sartiq", auth.Access)
			return err
		},
		"expired": func() error {
			later := now.Add(2 * time.Minute)
			_, err := newTokens(t, &later).Verify(access.Token, "sartiq", auth.Access)
			return err
		},
	}
	for name, try := range refused {
		if err := try(); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: got %v, want ErrInvalidToken", name, err)
		}
	}
	if _, err := auth.NewTokens("short", time.Minute, time.Hour); err == nil {
		t.Error("a short secret was accepted")
	}
}

func TestPasswords(t *testing.T) {
	p := auth.Passwords{Cost: 4}
	h, err := p.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
	if !p.Verify(h, "correct horse") || p.Verify(h, "wrong horse") {
		t.Fatal("verify does not tell right from wrong")
	}
}
