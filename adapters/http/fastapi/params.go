package fastapi

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

// Params reads query and path parameters, recording validation errors.
type Params struct {
	r    *http.Request
	errs Errors
}

// NewParams starts reading a request's parameters.
func NewParams(r *http.Request) *Params { return &Params{r: r} }

// Errors returns what was wrong; empty means valid.
func (p *Params) Errors() Errors { return p.errs }

// Bounds constrain an integer parameter (Ge/Le as FastAPI's Query(ge=, le=)).
type Bounds struct {
	Ge, Le       int
	HasGe, HasLe bool
}

// Int reads an integer query parameter with a default.
func (p *Params) Int(name string, def int, b Bounds) int {
	raw, ok := p.r.URL.Query()[name]
	if !ok || len(raw) == 0 {
		return def
	}
	n, item := toInt(raw[len(raw)-1])
	if item != nil {
		item.Loc = []any{"query", name}
		p.errs.Add(*item)
		return def
	}
	if b.HasGe && n < b.Ge {
		p.errs.Add(ErrorItem{Type: "greater_than_equal", Loc: []any{"query", name}, Input: raw[len(raw)-1],
			Msg: fmt.Sprintf("Input should be greater than or equal to %d", b.Ge), Ctx: map[string]any{"ge": b.Ge}})
		return def
	}
	if b.HasLe && n > b.Le {
		p.errs.Add(ErrorItem{Type: "less_than_equal", Loc: []any{"query", name}, Input: raw[len(raw)-1],
			Msg: fmt.Sprintf("Input should be less than or equal to %d", b.Le), Ctx: map[string]any{"le": b.Le}})
		return def
	}
	return n
}

// Str reads an optional string query parameter ("" when absent).
func (p *Params) Str(name string) string { return p.r.URL.Query().Get(name) }

// PathUUID reads a UUID path parameter.
func (p *Params) PathUUID(name string) uuid.UUID {
	raw := chi.URLParam(p.r, name)
	id, item := parseUUID(raw)
	if item != nil {
		item.Loc = []any{"path", name}
		p.errs.Add(*item)
	}
	return id
}
