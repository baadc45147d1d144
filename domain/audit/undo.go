package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/annals-dev/annals/domain/kernel"
)

// State is where an action stands.
type State string

// States of actions.
const (
	Done   State = "done"
	Undone State = "undone"
	// Redone: an undone action that a redo applied again. The redo is an
	// action of its own, which undo then takes back.
	Redone State = "redone"
	Failed State = "failed"
)

// Nature tells a command of a dialect from an undo or redo of one.
type Nature string

// Natures of actions.
const (
	Command Nature = "command"
	Undo    Nature = "undo"
	Redo    Nature = "redo"
)

// NatureOf tells an action's nature from its command name.
func NatureOf(command string) Nature {
	switch command {
	case UndoCommand:
		return Undo
	case RedoCommand:
		return Redo
	default:
		return Command
	}
}

// Action is an entry of the log as far as undo and redo are concerned.
type Action struct {
	ID      string
	ActorID string
	Nature  Nature
	State   State
	// Sensitive: the action touched secrets (passwords, sessions, reset
	// tokens); it is logged but never undone.
	Sensitive bool
	// Restorable: every stream it changed is of a kind undo can restore.
	Restorable bool
	// UndoneBy is the undo that took it back, if any.
	UndoneBy string
	// Parts are the streams it changed, in the order it first appended to
	// them.
	Parts []Part
}

// Part is one stream an action changed: from version Before (-1: the
// stream did not exist) to After.
type Part struct {
	Kind, ID   string
	Restorable bool
	Before     int64
	After      int64
}

// Step brings one stream back to its state at version Target, provided it
// is still at version Expect.
type Step struct {
	Kind, ID string
	Target   int64
	Expect   int64
}

// Undoable reports whether an action is of the kind undo takes back
// (whether this caller may, now, is CheckUndo's).
func (a Action) Undoable() bool {
	return a.Nature != Undo && a.Restorable && !a.Sensitive && a.State != Failed
}

// Token is the undo token of an undoable action. It is derived from the
// action's id, so a rebuilt log hands out the same tokens; it grants
// nothing by itself, since only the action's author may undo it.
func Token(actionID string) string {
	sum := sha256.Sum256([]byte("annals undo " + actionID))
	return hex.EncodeToString(sum[:16])
}

// CheckUndo tells whether caller may undo a, given the id of its latest
// undoable action.
func CheckUndo(a Action, caller, latest string) error {
	switch {
	case a.ActorID != caller:
		return ErrNotYours
	case a.Sensitive:
		return ErrSensitive
	case !a.Undoable():
		return ErrNotUndoable
	case a.State != Done:
		return ErrAlreadyUndone
	case a.ID != latest:
		return ErrNotLatest
	}
	return nil
}

// CheckRedo tells whether caller may redo a, given the id of its latest
// undone action.
func CheckRedo(a Action, caller, latest string) error {
	switch {
	case a.ActorID != caller:
		return ErrNotYours
	case a.Sensitive:
		return ErrSensitive
	case a.State != Undone:
		return ErrNotUndone
	case a.ID != latest:
		return ErrNotLatestUndone
	}
	return nil
}

// UndoSteps bring every stream a changed back to before it, in the order
// a changed them, each only if nothing changed it since.
func UndoSteps(a Action) []Step {
	var steps []Step
	for _, p := range a.Parts {
		if p.Restorable {
			steps = append(steps, Step{Kind: p.Kind, ID: p.ID, Target: p.Before, Expect: p.After})
		}
	}
	return steps
}

// RedoSteps bring every stream a changed forward to after it again, each
// only if nothing changed it since undo took it back.
func RedoSteps(a, undo Action) []Step {
	var steps []Step
	for _, p := range a.Parts {
		if !p.Restorable {
			continue
		}
		expect := p.After
		if i := slices.IndexFunc(undo.Parts, func(u Part) bool { return u.Kind == p.Kind && u.ID == p.ID }); i >= 0 {
			expect = undo.Parts[i].After
		}
		steps = append(steps, Step{Kind: p.Kind, ID: p.ID, Target: p.After, Expect: expect})
	}
	return steps
}

// Refusals of undo and redo, all answered as bad requests.
var (
	ErrUnknownToken     = kernel.Rule("undo_token_invalid", "Invalid or unavailable undo token")
	ErrUnknownAction    = kernel.Rule("action_not_found", "Action log entry not found")
	ErrNotYours         = kernel.Rule("action_not_yours", "This action was taken by another user; only its author can undo or redo it")
	ErrSensitive        = kernel.Rule("action_sensitive", "Security-sensitive actions (passwords, sign-ins, tokens) cannot be undone or redone")
	ErrNotUndoable      = kernel.Rule("action_not_undoable", "This action cannot be undone")
	ErrAlreadyUndone    = kernel.Rule("action_already_undone", "This action has already been undone")
	ErrNotLatest        = kernel.Rule("action_not_latest", "Only your latest undoable action can be undone")
	ErrChangedSince     = kernel.Rule("action_changed_since", "The resource has changed since this action, so it can no longer be undone")
	ErrNotUndone        = kernel.Rule("action_not_undone", "Only an undone action can be redone")
	ErrNotLatestUndone  = kernel.Rule("action_not_latest_undone", "Only your latest undone action can be redone")
	ErrChangedSinceUndo = kernel.Rule("action_changed_since_undo", "The resource has changed since the undo, so the action can no longer be redone")
	ErrNothingToRestore = kernel.Rule("action_nothing_to_restore", "There is nothing left to undo or redo for this action")
)
