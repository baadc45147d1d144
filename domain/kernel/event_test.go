package kernel_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/annals-dev/annals/domain/kernel"
)

type renamed struct {
	Name string `json:"name"`
}

func (renamed) EventType() string { return "test.Renamed.v2" }

func TestRegistryRoundTripsEvents(t *testing.T) {
	r := kernel.NewRegistry()
	r.Register(renamed{})
	typ, data, err := r.Encode(renamed{Name: "Ann"})
	if err != nil || typ != "test.Renamed.v2" {
		t.Fatalf("encode: %q %v", typ, err)
	}
	got, err := r.Decode(typ, data)
	if err != nil || got != (renamed{Name: "Ann"}) {
		t.Fatalf("decode: %#v %v", got, err)
	}
}

func TestRegistryUpcastsOldShapes(t *testing.T) {
	r := kernel.NewRegistry()
	r.Register(renamed{})
	// v1 stored {"title": ...}; v2 calls it name.
	r.RegisterUpcaster("test.Renamed", func(data json.RawMessage) (string, json.RawMessage, error) {
		var v1 struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return "", nil, err
		}
		b, err := json.Marshal(renamed{Name: v1.Title})
		return "test.Renamed.v2", b, err
	})
	got, err := r.Decode("test.Renamed", []byte(`{"title":"Old"}`))
	if err != nil || got != (renamed{Name: "Old"}) {
		t.Fatalf("upcast: %#v %v", got, err)
	}
	if !r.Known("test.Renamed") {
		t.Fatal("an upcasted type is not reported known")
	}
}

func TestRegistryRefusesUnknownTypesAndLoops(t *testing.T) {
	r := kernel.NewRegistry()
	if _, err := r.Decode("nobody.Registered", []byte(`{}`)); !errors.Is(err, kernel.ErrUnknownEventType) {
		t.Fatalf("unknown type: %v", err)
	}
	r.RegisterUpcaster("a", func(d json.RawMessage) (string, json.RawMessage, error) { return "b", d, nil })
	r.RegisterUpcaster("b", func(d json.RawMessage) (string, json.RawMessage, error) { return "a", d, nil })
	if _, err := r.Decode("a", []byte(`{}`)); err == nil {
		t.Fatal("an upcaster cycle did not fail")
	}
}

func TestRegisteringOneNameForTwoTypesPanics(t *testing.T) {
	type other struct{ renamed }
	r := kernel.NewRegistry()
	r.Register(renamed{})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	r.Register(other{})
}
