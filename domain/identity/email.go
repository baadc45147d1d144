package identity

import (
	"strings"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// EmailKind is the stream category of email claims. One stream per
// normalized email address holds who uses it; appending to it with the
// expected version is what makes "one account per email" hold under
// concurrent sign-ups, on any event store backend.
const EmailKind = "email"

// EmailKey normalizes an email for uniqueness: emails are unique
// case-insensitively.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// EmailClaim is the state of one email's claim stream.
type EmailClaim struct {
	Holder    string // user id, "" when free
	ClaimedAt time.Time
}

// ClaimGrace is how long a claim is honoured even though its holder does not
// (yet) use the email: registration claims first and creates the account
// right after, so a young unused claim belongs to a sign-up in progress.
const ClaimGrace = time.Minute

// EmailClaimed: a user took the email.
type EmailClaimed struct {
	Email  string    `json:"email"`
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
}

// EmailReleased: the holder no longer uses the email.
type EmailReleased struct {
	Email  string `json:"email"`
	UserID string `json:"user_id"`
}

func (EmailClaimed) EventType() string  { return "identity.EmailClaimed" }
func (EmailReleased) EventType() string { return "identity.EmailReleased" }

// EmailClaims folds claim events.
var EmailClaims = kernel.Aggregate[EmailClaim]{Kind: EmailKind, Evolve: func(c EmailClaim, e kernel.Event) EmailClaim {
	switch e := e.(type) {
	case EmailClaimed:
		c.Holder, c.ClaimedAt = e.UserID, e.At
	case EmailReleased:
		if c.Holder == e.UserID {
			c.Holder = ""
		}
	}
	return c
}}

// Claim decides whether userID may take the email. holderUsesEmail tells
// whether the current holder's account exists with this email; a claim whose
// holder does not use it and that is older than ClaimGrace was left behind
// (a crash between claim and account) and is taken over.
func Claim(c EmailClaim, email, userID string, holderUsesEmail bool, now time.Time) ([]kernel.Event, error) {
	switch {
	case c.Holder == userID:
		return nil, nil
	case c.Holder == "", !holderUsesEmail && now.Sub(c.ClaimedAt) > ClaimGrace:
		return []kernel.Event{EmailClaimed{Email: EmailKey(email), UserID: userID, At: now}}, nil
	default:
		return nil, ErrEmailTaken
	}
}

// Release gives the email up if userID holds it.
func Release(c EmailClaim, email, userID string) ([]kernel.Event, error) {
	if c.Holder != userID {
		return nil, nil
	}
	return []kernel.Event{EmailReleased{Email: EmailKey(email), UserID: userID}}, nil
}
