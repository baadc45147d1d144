// Package projectionsapi serves where the projections stand — versions,
// checkpoints, lag, parked events, rebuilds — at /_annals/projections under
// a dialect's prefix, to the superusers of its realm, with the dialect's
// own authentication and error format. Every dialect has it by mounting it.
package projectionsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/projections"
)

// Path is where the status is served, under the dialect's prefix.
const Path = "/_annals/projections"

// Source tells where the projectors stand; the projection runtime does.
type Source interface {
	Status(ctx context.Context) ([]projections.Status, error)
}

var _ Source = (*projections.Runtime)(nil)

// errNotSuperuser is what every dialect answers a caller who is not a
// superuser.
var errNotSuperuser = kernel.Forbidden("not_enough_privileges", "The user doesn't have enough privileges")

// Answer is the body of GET /_annals/projections: the projectors of the
// realm, and those of every realm.
type Answer struct {
	Projectors []projections.Status `json:"projectors"`
}

// Mount serves GET /_annals/projections on r, authenticated by auth and
// failing with fail (the dialect's error writer). The runtime that makes
// the dialect's writes wait for their read models is the one that knows
// where they stand; a dialect whose waiter does not tell gets no route.
func Mount(r chi.Router, deps kit.Deps, auth kit.Authenticator, fail func(http.ResponseWriter, *http.Request, error)) {
	source, ok := deps.Waiter.(Source)
	if !ok {
		return
	}
	r.With(auth.Middleware(fail)).Get(Path, func(w http.ResponseWriter, r *http.Request) {
		if !kit.PrincipalFrom(r.Context()).User.Superuser {
			fail(w, r, errNotSuperuser)
			return
		}
		statuses, err := source.Status(r.Context())
		if err != nil {
			fail(w, r, err)
			return
		}
		statuses = slices.DeleteFunc(statuses, func(s projections.Status) bool {
			return s.Realm != "" && s.Realm != auth.Realm
		})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Answer{Projectors: statuses}) // the client is gone if this fails
	})
}
