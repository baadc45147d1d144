package audit

import (
	"slices"
	"strings"

	"github.com/annals-dev/annals/domain/kernel"
)

// Catalog maps stream kinds to what they are to the log.
type Catalog struct {
	kinds     map[string]Kind
	internal  map[string]bool
	sensitive map[string]bool
}

// NewCatalog builds a catalog from stream descriptions, the kinds that are
// internal bookkeeping, and the events that are security-sensitive (their
// actions are logged but never undone).
func NewCatalog(kinds []Kind, internal []string, sensitive []kernel.Event) Catalog {
	c := Catalog{kinds: map[string]Kind{}, internal: map[string]bool{}, sensitive: map[string]bool{}}
	for _, k := range kinds {
		c.kinds[k.Name()] = k
	}
	for _, name := range internal {
		c.internal[name] = true
	}
	for _, e := range sensitive {
		c.sensitive[e.EventType()] = true
	}
	return c
}

// Kind returns the description of a stream kind the catalog folds.
func (c Catalog) Kind(name string) (Kind, bool) {
	k, ok := c.kinds[name]
	return k, ok
}

// Role tells what a stream kind is to the log.
func (c Catalog) Role(name string) Role {
	if k, ok := c.kinds[name]; ok {
		return k.Role()
	}
	if c.internal[name] {
		return Internal
	}
	return Other
}

// Sensitive reports whether an event type is security-sensitive.
func (c Catalog) Sensitive(eventType string) bool { return c.sensitive[eventType] }

// Streams returns the kinds whose streams make up a resource kind: its own
// first, then its facets by key. None when the kind is not a resource.
func (c Catalog) Streams(resource string) []Kind {
	own, ok := c.kinds[resource]
	if !ok || own.Role() != Resource {
		return nil
	}
	var facets []Kind
	for _, k := range c.kinds {
		if k.Role() == Facet && k.Resource() == resource {
			facets = append(facets, k)
		}
	}
	slices.SortFunc(facets, func(a, b Kind) int { return strings.Compare(a.Facet(), b.Facet()) })
	return append([]Kind{own}, facets...)
}
