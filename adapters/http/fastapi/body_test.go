package fastapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/annals-dev/annals/adapters/http/fastapi"
)

func parse(t *testing.T, body string) *fastapi.Body {
	t.Helper()
	b, err := fastapi.ReadBody(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func types(errs fastapi.Errors) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Type + "@" + strings.Trim(jsonOf(e.Loc), "[]")
	}
	return out
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBodyValidation(t *testing.T) {
	cases := []struct {
		name, body string
		check      func(b *fastapi.Body)
		want       []string
	}{
		{"valid", `{"email":"a@b.co","password":"12345678","age":"7","admin":true}`, func(b *fastapi.Body) {
			if v := b.Email("email", fastapi.Rules{Required: true}); v.V != "a@b.co" {
				t.Errorf("email = %q", v.V)
			}
			if v := b.Int("age", fastapi.Rules{}); v.V != 7 {
				t.Errorf("lax int = %d", v.V)
			}
			if v := b.Bool("admin", fastapi.Rules{}); !v.V {
				t.Error("bool lost")
			}
			b.Str("password", fastapi.Rules{Required: true, Min: 8, Max: 40})
		}, nil},
		{"missing and wrong types", `{"password":5,"age":1.5,"admin":"maybe"}`, func(b *fastapi.Body) {
			b.Email("email", fastapi.Rules{Required: true})
			b.Str("password", fastapi.Rules{Required: true})
			b.Int("age", fastapi.Rules{})
			b.Bool("admin", fastapi.Rules{})
		}, []string{`missing@"body","email"`, `string_type@"body","password"`, `int_from_float@"body","age"`, `bool_parsing@"body","admin"`}},
		{"lengths", `{"p":"short","n":"` + strings.Repeat("x", 41) + `"}`, func(b *fastapi.Body) {
			b.Str("p", fastapi.Rules{Min: 8})
			b.Str("n", fastapi.Rules{Max: 40})
		}, []string{`string_too_short@"body","p"`, `string_too_long@"body","n"`}},
		{"null where not nullable", `{"a":null,"b":null}`, func(b *fastapi.Body) {
			if v := b.Str("a", fastapi.Rules{Nullable: true}); !v.Set || !v.Null || v.Ptr() != nil {
				t.Errorf("nullable null = %+v", v)
			}
			b.Str("b", fastapi.Rules{})
		}, []string{`string_type@"body","b"`}},
		{"bad email", `{"email":"no-at-sign"}`, func(b *fastapi.Body) { b.Email("email", fastapi.Rules{}) }, []string{`value_error@"body","email"`}},
		{"malformed json", `{"email":`, func(b *fastapi.Body) { b.Email("email", fastapi.Rules{Required: true}) }, []string{`json_invalid@"body",9`}},
		{"not an object", `[1,2]`, func(b *fastapi.Body) { b.Str("x", fastapi.Rules{Required: true}) }, []string{`model_attributes_type@"body"`}},
		{"lists", `{"ids":[],"names":["a",2]}`, func(b *fastapi.Body) {
			b.StrList("ids", fastapi.Rules{Min: 1})
			b.StrList("names", fastapi.Rules{})
		}, []string{`too_short@"body","ids"`, `string_type@"body","names",1`}},
		{"uuid", `{"id":"nope"}`, func(b *fastapi.Body) { b.UUID("id", fastapi.Rules{}) }, []string{`uuid_parsing@"body","id"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := parse(t, c.body)
			c.check(b)
			got := types(b.Errors())
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("errors = %v, want %v (%s)", got, c.want, jsonOf(b.Errors()))
			}
		})
	}
}

func TestParams(t *testing.T) {
	r := chi.NewRouter()
	var got []string
	r.Get("/x/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := fastapi.NewParams(r)
		p.PathUUID("id")
		skip := p.Int("skip", 0, fastapi.Bounds{Ge: 0, HasGe: true})
		limit := p.Int("limit", 100, fastapi.Bounds{Ge: 1, HasGe: true, Le: 100, HasLe: true})
		if skip != 0 || limit != 100 {
			t.Errorf("defaults not kept on error: skip=%d limit=%d", skip, limit)
		}
		got = types(p.Errors())
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x/123?skip=abc&limit=500", nil))
	want := []string{`uuid_parsing@"path","id"`, `int_parsing@"query","skip"`, `less_than_equal@"query","limit"`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("errors = %v, want %v", got, want)
	}
}

func TestWriteValidationShape(t *testing.T) {
	rec := httptest.NewRecorder()
	b := parse(t, `{}`)
	b.Str("name", fastapi.Rules{Required: true})
	fastapi.WriteValidation(rec, b.Errors())
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", rec.Code)
	}
	var out struct {
		Detail []map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Detail) != 1 {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	d := out.Detail[0]
	if d["type"] != "missing" || d["msg"] != "Field required" || jsonOf(d["loc"]) != `["body","name"]` || jsonOf(d["input"]) != `{}` ||
		d["url"] != "https://errors.pydantic.dev/2.3/v/missing" {
		t.Fatalf("detail %v", d)
	}
}
