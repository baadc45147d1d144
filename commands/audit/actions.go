// Package audit holds the commands of the action log itself: undo and
// redo, which restore resources through the domain's own Restore
// decisions, and the recording of refused commands.
package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/audit"
	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/kernel"
)

// Log is what undo and redo read of the action log.
type Log interface {
	// Action returns an action by id (audit.ErrUnknownAction if none).
	Action(ctx context.Context, realm, id string) (audit.Action, error)
	// ActionByToken returns the action an undo token names
	// (audit.ErrUnknownToken if none).
	ActionByToken(ctx context.Context, realm, token string) (audit.Action, error)
	// LatestUndoable is the id of an actor's latest action of the kind
	// undo takes back that is not undone; LatestUndone the id of the
	// action it undid last. "" when there is none.
	LatestUndoable(ctx context.Context, realm, actorID string) (string, error)
	LatestUndone(ctx context.Context, realm, actorID string) (string, error)
}

// restorer brings one stream back to its state at version target,
// provided it is at version expect (commands.ErrMoved otherwise).
type restorer func(ctx context.Context, meta commands.Meta, id string, target, expect int64) (commands.Result, error)

// Actions handles undo, redo and refusals.
type Actions struct {
	x       *commands.Executor
	log     Log
	catalog audit.Catalog
	// special restores the kinds whose restoring has effects beyond their
	// stream (accounts hold email claims); the others restore through the
	// catalog alone.
	special map[string]restorer
	now     func() time.Time
}

// New returns the handlers; users restores accounts with their emails.
func New(x *commands.Executor, users *cmdidentity.Users, log Log) *Actions {
	return &Actions{
		x: x, log: log, catalog: audit.Domain,
		special: map[string]restorer{identity.UserKind: users.Restore},
		now:     func() time.Time { return x.Now().UTC() },
	}
}

// Outcome is what an undo or redo did.
type Outcome struct {
	// LogID names the action to act on next: after an undo, the action
	// undone (which redo takes); after a redo, the redo itself.
	LogID string
	// UndoToken undoes a redo.
	UndoToken string
	// Result is the last append, which readers wait for.
	Result commands.Result
}

// Undo takes back the action an undo token names, if it is the caller's
// (meta.ActorID) latest undoable action and nothing changed its resources
// since. It appends the compensating events the domain decides, under a
// command of its own whose cause is the action undone.
func (h *Actions) Undo(ctx context.Context, meta commands.Meta, token string) (Outcome, error) {
	a, err := h.log.ActionByToken(ctx, meta.Realm, token)
	if err != nil {
		return Outcome{}, err
	}
	latest, err := h.log.LatestUndoable(ctx, meta.Realm, meta.ActorID)
	if err != nil {
		return Outcome{}, err
	}
	if err := audit.CheckUndo(a, meta.ActorID, latest); err != nil {
		return Outcome{}, err
	}
	res, err := h.apply(ctx, about(meta, audit.UndoCommand, a), audit.UndoSteps(a), audit.ErrChangedSince)
	return Outcome{LogID: a.ID, Result: res}, err
}

// Redo applies again the caller's latest undone action, if nothing changed
// its resources since the undo. The redo is an action of its own, which a
// new undo token takes back.
func (h *Actions) Redo(ctx context.Context, meta commands.Meta, logID string) (Outcome, error) {
	a, err := h.log.Action(ctx, meta.Realm, logID)
	if err != nil {
		return Outcome{}, err
	}
	latest, err := h.log.LatestUndone(ctx, meta.Realm, meta.ActorID)
	if err != nil {
		return Outcome{}, err
	}
	if err := audit.CheckRedo(a, meta.ActorID, latest); err != nil {
		return Outcome{}, err
	}
	undo, err := h.log.Action(ctx, meta.Realm, a.UndoneBy)
	if err != nil {
		return Outcome{}, fmt.Errorf("undo of %s: %w", a.ID, err)
	}
	meta = about(meta, audit.RedoCommand, a)
	res, err := h.apply(ctx, meta, audit.RedoSteps(a, undo), audit.ErrChangedSinceUndo)
	id := meta.CommandID.String()
	return Outcome{LogID: id, UndoToken: audit.Token(id), Result: res}, err
}

// about is the metadata of an undo or redo of a: its own command, caused
// by a.
func about(meta commands.Meta, command string, a audit.Action) commands.Meta {
	meta.Command = command
	meta.CausationID, _ = uuid.Parse(a.ID) // ids of the log are command ids
	return meta.Grouped()
}

// apply runs the steps once none of their streams has moved (changed
// otherwise, with nothing appended).
func (h *Actions) apply(ctx context.Context, meta commands.Meta, steps []audit.Step, changed error) (commands.Result, error) {
	for _, s := range steps {
		moved, err := h.moved(ctx, meta.Realm, s)
		if err != nil {
			return commands.Result{}, err
		}
		if moved {
			return commands.Result{}, changed
		}
	}
	var last commands.Result
	for _, s := range steps {
		res, err := h.restore(ctx, meta, s)
		if errors.Is(err, commands.ErrMoved) {
			return last, changed // a write raced the checks above
		}
		if err != nil {
			return last, err
		}
		if res.Appended() {
			last = res
		}
	}
	if !last.Appended() {
		return last, audit.ErrNothingToRestore
	}
	return last, nil
}

// moved reports whether a step's stream has events past the version the
// step expects.
func (h *Actions) moved(ctx context.Context, realm string, s audit.Step) (bool, error) {
	stream := kernel.StreamName(realm, s.Kind, s.ID)
	later, err := h.x.Store.ReadStream(ctx, stream, s.Expect+1, 1)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", stream, err)
	}
	return len(later) > 0, nil
}

func (h *Actions) restore(ctx context.Context, meta commands.Meta, s audit.Step) (commands.Result, error) {
	if r, ok := h.special[s.Kind]; ok {
		return r(ctx, meta, s.ID, s.Target, s.Expect)
	}
	k, ok := h.catalog.Kind(s.Kind)
	if !ok || !k.Restorable() {
		return commands.Result{}, audit.ErrNotUndoable
	}
	agg := kernel.Aggregate[any]{Kind: k.Name(), Evolve: k.Evolve}
	target, err := commands.LoadAt(ctx, h.x, agg, meta.Realm, s.ID, s.Target)
	if err != nil {
		return commands.Result{}, err
	}
	return commands.ExecuteAt(ctx, h.x, agg, meta, s.ID, s.Expect, func(current any) ([]kernel.Event, error) {
		return k.Restore(current, target, h.now())
	})
}

// Refused records that a command was refused with err, on the trail of its
// actor, under the command's id: the log shows it as failed, with the
// events the command appended before it was refused, if any. fallback is
// the message kept when err is not a domain error.
func (h *Actions) Refused(ctx context.Context, meta commands.Meta, err error, fallback string) (commands.Result, error) {
	refused := audit.Refused(meta.Command, err, fallback, h.now())
	return commands.Record(ctx, h.x, audit.TrailKind, meta, audit.TrailOf(meta.ActorID), refused)
}
