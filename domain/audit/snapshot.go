package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
)

// null is JSON's null, what a snapshot of an absent resource is.
var null = json.RawMessage("null")

// Change is one field's move between two snapshots.
type Change struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// Snapshot composes a resource's snapshot from its own stream's view and
// its facets' views (by facet key). hasOwn tells whether the own view is
// known: when it is and is null, the resource does not exist and neither
// does its snapshot; when it is not, the snapshot holds the facets alone.
func Snapshot(own json.RawMessage, hasOwn bool, facets map[string]json.RawMessage) (json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	switch {
	case hasOwn && isNull(own):
		return null, nil
	case hasOwn:
		if err := json.Unmarshal(own, &fields); err != nil {
			return nil, fmt.Errorf("snapshot: view is not an object: %w", err)
		}
	case len(facets) == 0:
		return null, nil
	}
	for key, view := range facets {
		if _, taken := fields[key]; !taken {
			fields[key] = view
		}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return b, nil
}

// Changes lists the fields that differ between two snapshots; an absent
// resource has no fields. It is nil when nothing differs.
func Changes(before, after json.RawMessage) (map[string]Change, error) {
	from, err := fields(before)
	if err != nil {
		return nil, err
	}
	to, err := fields(after)
	if err != nil {
		return nil, err
	}
	var changes map[string]Change
	for key := range union(from, to) {
		f, t := orNull(from[key]), orNull(to[key])
		if bytes.Equal(f, t) {
			continue
		}
		if changes == nil {
			changes = map[string]Change{}
		}
		changes[key] = Change{From: f, To: t}
	}
	return changes, nil
}

func fields(snapshot json.RawMessage) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if isNull(snapshot) {
		return out, nil
	}
	if err := json.Unmarshal(snapshot, &out); err != nil {
		return nil, fmt.Errorf("changes: snapshot is not an object: %w", err)
	}
	return out, nil
}

func union(a, b map[string]json.RawMessage) map[string]json.RawMessage {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || bytes.Equal(bytes.TrimSpace(v), null) }

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return null
	}
	return v
}
