package audit

import (
	"errors"
	"time"

	"github.com/annals-dev/annals/domain/kernel"
)

// TrailKind is the stream category of audit trails: one stream per realm
// and actor ("anonymous" for callers not signed in) holding the facts the
// log needs beyond the resources' own events.
const TrailKind = "audit"

// Anonymous is the trail of commands issued by nobody signed in.
const Anonymous = "anonymous"

// TrailOf is the trail id of an actor.
func TrailOf(actorID string) string {
	if actorID == "" {
		return Anonymous
	}
	return actorID
}

// Commands of the log itself. An undo's and a redo's events carry the
// action they undo or redo as their causation.
const (
	UndoCommand = "UndoAction"
	RedoCommand = "RedoAction"
)

// CommandRefused: a command was refused. It is recorded so that the log
// shows failed commands, and a rebuild of the log shows them again.
type CommandRefused struct {
	Command string    `json:"command"`
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

func (CommandRefused) EventType() string { return "audit.CommandRefused" }

// Refused describes a refusal of command with err. Domain errors give
// their code and client message; anything else says no more than
// fallback, since its text may hold what a client must not see.
func Refused(command string, err error, fallback string, at time.Time) CommandRefused {
	e := CommandRefused{Command: command, Message: fallback, At: at}
	var de *kernel.Error
	if errors.As(err, &de) {
		e.Code, e.Message = de.Code, de.Message
	}
	return e
}

// RegisterEvents adds this package's events to a registry.
func RegisterEvents(r *kernel.Registry) { r.Register(CommandRefused{}) }
