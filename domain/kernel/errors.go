package kernel

import "errors"

// Kinds of domain failure. Each dialect maps them to its status codes and
// error bodies at the HTTP edge; the domain never speaks HTTP.
var (
	// ErrNotFound: the addressed resource does not exist (or is deleted).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor may not do this to this resource.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: credentials are missing, wrong or no longer valid.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrRule: a business rule refuses the command (email taken, owner
	// cannot be removed, ...).
	ErrRule = errors.New("rule violated")
	// ErrConflict: the resource changed concurrently more often than the
	// handler retries, or already exists.
	ErrConflict = errors.New("conflict")
	// ErrUnknownEventType: stored data names an event type nobody registered.
	ErrUnknownEventType = errors.New("unknown event type")
)

// Error is a domain failure of one kind with a stable code and a message
// meant for API clients.
type Error struct {
	Kind    error
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) etc. hold for an *Error of that kind.
func (e *Error) Is(target error) bool { return e.Kind == target }

// NotFound builds an ErrNotFound failure.
func NotFound(code, msg string) error { return &Error{Kind: ErrNotFound, Code: code, Message: msg} }

// Forbidden builds an ErrForbidden failure.
func Forbidden(code, msg string) error { return &Error{Kind: ErrForbidden, Code: code, Message: msg} }

// Unauthenticated builds an ErrUnauthenticated failure.
func Unauthenticated(code, msg string) error {
	return &Error{Kind: ErrUnauthenticated, Code: code, Message: msg}
}

// Rule builds an ErrRule failure.
func Rule(code, msg string) error { return &Error{Kind: ErrRule, Code: code, Message: msg} }

// Conflict builds an ErrConflict failure.
func Conflict(code, msg string) error { return &Error{Kind: ErrConflict, Code: code, Message: msg} }
