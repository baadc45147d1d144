package kit

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/eventstore"
)

// CommandMeta builds command metadata from a request: the realm, the actor
// and the request context the audit trail keeps.
func CommandMeta(r *http.Request, realm, actorID, command string) commands.Meta {
	return commands.Meta{
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
}

// Await waits until the realm's read models include a command's events, so
// that a client that writes and then reads sees its write. A timeout is
// logged, not returned: the write is durable and acknowledged either way.
func (d Deps) Await(ctx context.Context, realm string, res commands.Result) {
	if !res.Appended() || d.Waiter == nil {
		return
	}
	if err := d.Waiter.WaitFor(ctx, realm, res.Position); err != nil {
		d.Logger.WarnContext(ctx, "read models did not catch up before answering", "realm", realm, "position", res.Position.String(), "err", err)
	}
}
