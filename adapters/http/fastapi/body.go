package fastapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Opt is a decoded field: Set when the key was present, Null when it was
// present as JSON null, V the value otherwise.
type Opt[T any] struct {
	Set  bool
	Null bool
	V    T
}

// Has reports whether the field carries a non-null value.
func (o Opt[T]) Has() bool { return o.Set && !o.Null }

// Ptr returns the value's address, or nil when absent or null.
func (o Opt[T]) Ptr() *T {
	if !o.Has() {
		return nil
	}
	v := o.V
	return &v
}

// Rules constrain one field, like pydantic's Field(...).
type Rules struct {
	Required bool // absent → "missing"
	Nullable bool // null allowed
	Min, Max int  // string length in characters or list length; 0 = no bound
}

// Body is a parsed JSON object body; accessors record validation errors.
type Body struct {
	fields    map[string]json.RawMessage
	whole     any
	errs      Errors
	malformed bool
}

// ReadBody parses the request body as a JSON object. Malformed JSON and
// non-objects give the validation errors FastAPI gives; an oversized body
// (see http.MaxBytesReader) is returned as an error.
func ReadBody(r *http.Request) (*Body, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	b := &Body{fields: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(raw)) == 0 {
		b.errs.Add(ErrorItem{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil})
		b.malformed = true
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&b.whole); err != nil || dec.More() {
		// FastAPI reports where decoding stopped.
		pos := int(dec.InputOffset())
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			pos = int(se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			pos = len(raw)
		}
		b.errs.Add(ErrorItem{Type: "json_invalid", Loc: []any{"body", pos}, Msg: "JSON decode error",
			Input: map[string]any{}, Ctx: map[string]any{"error": "Expecting value"}})
		b.malformed = true
		return b, nil
	}
	obj, ok := b.whole.(map[string]any)
	if !ok {
		b.errs.Add(ErrorItem{Type: "model_attributes_type", Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Input: b.whole})
		b.malformed = true
		return b, nil
	}
	for k := range obj {
		b.fields[k] = nil
	}
	if err := json.Unmarshal(raw, &b.fields); err != nil {
		return nil, fmt.Errorf("split body: %w", err)
	}
	b.whole = obj
	return b, nil
}

// Errors returns what the accessors found wrong; empty means valid.
func (b *Body) Errors() Errors { return b.errs }

// Malformed reports whether the body itself (not a field) was unusable, in
// which case field accessors have nothing to check.
func (b *Body) Malformed() bool { return b.malformed }

// Raw returns a field's JSON as sent, for fields whose type is a union
// (a string or an object, say) that the typed accessors do not cover.
func (b *Body) Raw(name string) (json.RawMessage, bool) {
	raw, ok := b.fields[name]
	return raw, ok
}

// value returns the decoded JSON of a field and handles presence/null rules.
func (b *Body) value(name string, r Rules, nullType string) (v any, o Opt[struct{}], ok bool) {
	raw, present := b.fields[name]
	if !present {
		if r.Required && !b.Malformed() {
			b.errs.Add(ErrorItem{Type: "missing", Loc: []any{"body", name}, Msg: "Field required", Input: b.whole})
		}
		return nil, o, false
	}
	o.Set = true
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&v)
	if v == nil {
		o.Null = true
		if !r.Nullable {
			b.errs.Add(typeError(name, nullType, nil))
		}
		return nil, o, false
	}
	return v, o, true
}

// Str reads a string field.
func (b *Body) Str(name string, r Rules) Opt[string] {
	v, o, ok := b.value(name, r, "string_type")
	out := Opt[string]{Set: o.Set, Null: o.Null}
	if !ok {
		return out
	}
	s, isStr := v.(string)
	if !isStr {
		b.errs.Add(typeError(name, "string_type", v))
		return out
	}
	if n := utf8.RuneCountInString(s); r.Min > 0 && n < r.Min {
		b.errs.Add(ErrorItem{Type: "string_too_short", Loc: []any{"body", name}, Input: s,
			Msg: fmt.Sprintf("String should have at least %d %s", r.Min, plural(r.Min, "character")), Ctx: map[string]any{"min_length": r.Min}})
		return out
	} else if r.Max > 0 && n > r.Max {
		b.errs.Add(ErrorItem{Type: "string_too_long", Loc: []any{"body", name}, Input: s,
			Msg: fmt.Sprintf("String should have at most %d %s", r.Max, plural(r.Max, "character")), Ctx: map[string]any{"max_length": r.Max}})
		return out
	}
	out.V = s
	return out
}

// Email reads a string field that must be an email address (EmailStr).
func (b *Body) Email(name string, r Rules) Opt[string] {
	before := len(b.errs)
	s := b.Str(name, r)
	if !s.Has() || len(b.errs) > before {
		return s
	}
	if reason := emailProblem(s.V); reason != "" {
		b.errs.Add(ErrorItem{Type: "value_error", Loc: []any{"body", name}, Input: s.V,
			Msg: "value is not a valid email address: " + reason, Ctx: map[string]any{"reason": reason}})
		return Opt[string]{Set: true}
	}
	return s
}

// Int reads an integer field; numeric strings are accepted as pydantic's lax
// mode does.
func (b *Body) Int(name string, r Rules) Opt[int] {
	v, o, ok := b.value(name, r, "int_type")
	out := Opt[int]{Set: o.Set, Null: o.Null}
	if !ok {
		return out
	}
	n, item := toInt(v)
	if item != nil {
		item.Loc = []any{"body", name}
		b.errs.Add(*item)
		return out
	}
	out.V = n
	return out
}

// Bool reads a boolean field (lax: "true"/"false"/0/1 as pydantic accepts).
func (b *Body) Bool(name string, r Rules) Opt[bool] {
	v, o, ok := b.value(name, r, "bool_type")
	out := Opt[bool]{Set: o.Set, Null: o.Null}
	if !ok {
		return out
	}
	switch x := v.(type) {
	case bool:
		out.V = x
	case string:
		switch strings.ToLower(x) {
		case "true", "1", "yes", "on", "t", "y":
			out.V = true
		case "false", "0", "no", "off", "f", "n":
		default:
			b.errs.Add(ErrorItem{Type: "bool_parsing", Loc: []any{"body", name}, Msg: "Input should be a valid boolean, unable to interpret input", Input: x})
		}
	case json.Number:
		switch x.String() {
		case "1":
			out.V = true
		case "0":
		default:
			b.errs.Add(ErrorItem{Type: "bool_parsing", Loc: []any{"body", name}, Msg: "Input should be a valid boolean, unable to interpret input", Input: x})
		}
	default:
		b.errs.Add(typeError(name, "bool_type", v))
	}
	return out
}

// UUID reads a UUID field.
func (b *Body) UUID(name string, r Rules) Opt[uuid.UUID] {
	v, o, ok := b.value(name, r, "uuid_type")
	out := Opt[uuid.UUID]{Set: o.Set, Null: o.Null}
	if !ok {
		return out
	}
	s, isStr := v.(string)
	if !isStr {
		b.errs.Add(typeError(name, "uuid_type", v))
		return out
	}
	id, item := parseUUID(s)
	if item != nil {
		item.Loc = []any{"body", name}
		b.errs.Add(*item)
		return out
	}
	out.V = id
	return out
}

// StrList reads a list of strings; Min/Max bound the number of items.
func (b *Body) StrList(name string, r Rules) Opt[[]string] {
	v, o, ok := b.value(name, r, "list_type")
	out := Opt[[]string]{Set: o.Set, Null: o.Null}
	if !ok {
		return out
	}
	items, isList := v.([]any)
	if !isList {
		b.errs.Add(typeError(name, "list_type", v))
		return out
	}
	if r.Min > 0 && len(items) < r.Min {
		b.errs.Add(ErrorItem{Type: "too_short", Loc: []any{"body", name}, Input: items,
			Msg: fmt.Sprintf("List should have at least %d %s after validation, not %d", r.Min, plural(r.Min, "item"), len(items)),
			Ctx: map[string]any{"field_type": "List", "min_length": r.Min, "actual_length": len(items)}})
		return out
	}
	list := make([]string, 0, len(items))
	bad := false
	for i, it := range items {
		s, isStr := it.(string)
		if !isStr {
			b.errs.Add(ErrorItem{Type: "string_type", Loc: []any{"body", name, i}, Msg: "Input should be a valid string", Input: it})
			bad = true
			continue
		}
		list = append(list, s)
	}
	if !bad {
		out.V = list
	}
	return out
}

// Fail records a validation error found by a dialect's own check.
func (b *Body) Fail(name, typ, msg string, input any, ctx map[string]any) {
	b.errs.Add(ErrorItem{Type: typ, Loc: []any{"body", name}, Msg: msg, Input: input, Ctx: ctx})
}

var typeMessages = map[string]string{
	"string_type": "Input should be a valid string",
	"int_type":    "Input should be a valid integer",
	"bool_type":   "Input should be a valid boolean",
	"uuid_type":   "UUID input should be a string, bytes or UUID object",
	"list_type":   "Input should be a valid list",
}

func typeError(name, typ string, input any) ErrorItem {
	return ErrorItem{Type: typ, Loc: []any{"body", name}, Msg: typeMessages[typ], Input: input}
}

func toInt(v any) (int, *ErrorItem) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return int(n), nil
		}
		f, err := x.Float64()
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), nil
		}
		if err == nil {
			return 0, &ErrorItem{Type: "int_from_float", Msg: "Input should be a valid integer, got a number with a fractional part", Input: x}
		}
		return 0, &ErrorItem{Type: "int_parsing", Msg: "Input should be a valid integer, unable to parse string as an integer", Input: x}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, &ErrorItem{Type: "int_parsing", Msg: "Input should be a valid integer, unable to parse string as an integer", Input: x}
		}
		return n, nil
	default:
		return 0, &ErrorItem{Type: "int_type", Msg: "Input should be a valid integer", Input: v}
	}
}

func parseUUID(s string) (uuid.UUID, *ErrorItem) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, &ErrorItem{Type: "uuid_parsing", Input: s,
			Msg: "Input should be a valid UUID, " + strings.TrimPrefix(err.Error(), "invalid UUID "), Ctx: map[string]any{"error": err.Error()}}
	}
	return id, nil
}

// emailProblem returns why s is not an email address ("" if it is one),
// worded like the email-validator library pydantic uses.
func emailProblem(s string) string {
	at := strings.Count(s, "@")
	switch {
	case at == 0:
		return "An email address must have an @-sign."
	case at > 1:
		return "The email address is not valid. It must have exactly one @-sign."
	}
	local, domain, _ := strings.Cut(s, "@")
	switch {
	case local == "":
		return "There must be something before the @-sign."
	case domain == "":
		return "There must be something after the @-sign."
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, "."):
		return "The part after the @-sign is not valid. It should have a period."
	case len(s) > 254:
		return "The email address is too long."
	case strings.ContainsAny(s, " \t\r\n"):
		return "The email address contains invalid characters."
	}
	if _, err := mail.ParseAddress(s); err != nil {
		return "The email address contains invalid characters before the @-sign."
	}
	return ""
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
