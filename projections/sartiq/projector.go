// Package sartiq projects the sartiq realm's user and organization events
// into the `sartiq` read-model schema. Each projector says what an event
// writes, naming tables unqualified: the runtime writes them into the live
// schema, or into the shadow a rebuild fills.
package sartiq

import (
	"github.com/google/uuid"

	"github.com/annals-dev/annals/projections"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// Projectors returns the projectors of every sartiq read model.
func Projectors() []projections.Projector {
	return []projections.Projector{Users(), Organizations()}
}

// define makes a sartiq projector. The runtime applies an event at most
// once (its checkpoint guard); the writes are harmless if one were applied
// again anyway.
func define(name string, version int, routes ...projections.Route) *projections.Defined {
	return projections.Define(projections.Definition{
		Name: name, Version: version, Realm: readmodel.Realm, Schema: readmodel.Schema,
	}, routes...)
}

// uuidOf passes an id to a uuid column as its 16 bytes, which a rebuild's
// COPY sends as they are (a string, or a uuid.UUID, which pgx takes as a
// driver.Valuer, are first tried as binary and then parsed by the driver);
// an id that does not parse goes as given, for the database to refuse.
func uuidOf(id string) any {
	if u, err := uuid.Parse(id); err == nil {
		return [16]byte(u)
	}
	return id
}
