// Package civic projects the civic realm's events into the civic read
// models (readmodels/civic): accounts, role-based access and communities,
// one projector each, each owning its tables. Each projector says what an
// event writes, naming tables unqualified: the runtime writes them into the
// live schema, or into the shadow a rebuild fills.
package civic

import (
	"github.com/annals-dev/annals/projections"
	"github.com/annals-dev/annals/readmodels/civic"
)

// Projectors returns the civic projectors.
func Projectors() []projections.Projector {
	return []projections.Projector{Users(), Access(), Communities()}
}

func define(name string, version int, routes ...projections.Route) *projections.Defined {
	return projections.Define(projections.Definition{
		Name: name, Version: version, Realm: civic.Realm, Schema: civic.Schema,
	}, routes...)
}

// writes lists an event's writes.
func writes(w ...projections.Write) []projections.Write { return w }
