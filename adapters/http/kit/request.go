package kit

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/eventstore"
)

// EnsureAdmin creates the configured superuser in a realm unless its email
// is taken (ANNALS_ADMIN_EMAIL unset: nothing to do).
func (d Deps) EnsureAdmin(ctx context.Context, realm string, users *cmdidentity.Users) error {
	if d.Admin.Email == "" {
		return nil
	}
	meta := commands.Meta{Realm: realm, Command: "EnsureSuperuser"}
	return users.EnsureSuperuser(ctx, meta, uuid.NewString(), d.Admin.Email, d.Admin.Password)
}

// CommandMeta builds command metadata from a request: the realm, the actor
// and the request context the audit trail keeps. The command counts as the
// request's for RecordRefusals.
func CommandMeta(r *http.Request, realm, actorID, command string) commands.Meta {
	meta := commands.Meta{
		Realm:     realm,
		ActorID:   actorID,
		Command:   command,
		CommandID: uuid.New(),
		Request: &eventstore.RequestInfo{
			RequestID:  middleware.GetReqID(r.Context()),
			ClientAddr: r.RemoteAddr,
			UserAgent:  r.UserAgent(),
		},
	}
	noteIssued(r.Context(), meta)
	return meta
}

// Await waits until the realm's read models include the commands' events,
// so that a client that writes and then reads sees its write. Positions are
// ordered, so waiting for the latest covers the others. A timeout is logged,
// not returned: the write is durable and acknowledged either way.
func (d Deps) Await(ctx context.Context, realm string, results ...commands.Result) {
	res := commands.Latest(results...)
	if !res.Appended() || d.Waiter == nil {
		return
	}
	if err := d.Waiter.WaitFor(ctx, realm, res.Position); err != nil {
		d.Logger.WarnContext(ctx, "read models did not catch up before answering", "realm", realm, "position", res.Position.String(), "err", err)
	}
}
