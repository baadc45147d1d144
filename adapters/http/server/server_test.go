package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/http/server"
	"github.com/annals-dev/annals/projections"
)

// fakeDialect answers with what it saw of the request.
type fakeDialect struct{ name string }

var _ kit.Dialect = fakeDialect{}

func (d fakeDialect) Name() string                        { return d.name }
func (d fakeDialect) Projectors() []projections.Projector { return nil }
func (d fakeDialect) Migrate(context.Context) error       { return nil }
func (d fakeDialect) Bootstrap(context.Context) error     { return nil }

func (d fakeDialect) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/api/v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(seen{
			Dialect: d.name, Path: r.URL.Path, ID: chi.URLParam(r, "id"), RequestID: middleware.GetReqID(r.Context()),
		})
	})
	r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(seen{Dialect: d.name, Bytes: len(b)})
	})
	r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("on purpose") })
	return r
}

type seen struct {
	Dialect   string `json:"dialect"`
	Path      string `json:"path"`
	ID        string `json:"id"`
	RequestID string `json:"request_id"`
	Bytes     int    `json:"bytes"`
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	url  string
	logs *syncBuffer
}

func serve(t *testing.T, cfg server.Config) harness {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	h, err := server.New(cfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return harness{url: srv.URL, logs: logs}
}

func do(t *testing.T, method, url string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, nil, nil)
}

func decodeSeen(t *testing.T, b []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return s
}

func TestMountsEachDialectUnderItsName(t *testing.T) {
	h := serve(t, server.Config{Dialects: []kit.Dialect{fakeDialect{"alpha"}, fakeDialect{"beta"}}})
	for _, name := range []string{"alpha", "beta"} {
		resp, b := get(t, h.url+"/"+name+"/api/v1/items/7")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
		if got := decodeSeen(t, b); got.Dialect != name || got.Path != "/api/v1/items/7" || got.ID != "7" {
			t.Fatalf("%s saw %+v: prefix not stripped or wrong dialect", name, got)
		}
	}
	if resp, _ := get(t, h.url+"/api/v1/items/7"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unprefixed path: status %d, want 404", resp.StatusCode)
	}
}

func TestSingleDialectAtRoot(t *testing.T) {
	h := serve(t, server.Config{Dialects: []kit.Dialect{fakeDialect{"alpha"}}, AtRoot: true})
	resp, b := get(t, h.url+"/api/v1/items/9")
	if resp.StatusCode != http.StatusOK || decodeSeen(t, b).Path != "/api/v1/items/9" {
		t.Fatalf("root: status %d, body %s", resp.StatusCode, b)
	}
	if resp, _ := get(t, h.url+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz next to a root dialect: status %d", resp.StatusCode)
	}
}

func TestReadiness(t *testing.T) {
	// Written here, read by the server's goroutines.
	var dbDown, hadDeadline atomic.Bool
	h := serve(t, server.Config{Ready: []server.Check{
		{Name: "database", Check: func(ctx context.Context) error {
			_, bounded := ctx.Deadline()
			hadDeadline.Store(bounded)
			if dbDown.Load() {
				return errors.New("connection refused")
			}
			return nil
		}},
		{Name: "projections", Check: func(context.Context) error { return nil }},
	}})
	if resp, _ := get(t, h.url+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	if resp, _ := get(t, h.url+"/readyz"); resp.StatusCode != http.StatusOK || !hadDeadline.Load() {
		t.Fatalf("readyz with passing checks: %d (bounded: %v)", resp.StatusCode, hadDeadline.Load())
	}
	dbDown.Store(true)
	resp, b := get(t, h.url+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a failing check: %d", resp.StatusCode)
	}
	var body struct {
		Failed map[string]string `json:"failed"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Failed["database"] != "connection refused" || len(body.Failed) != 1 {
		t.Fatalf("readyz body %s (%v)", b, err)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	h := serve(t, server.Config{Dialects: []kit.Dialect{fakeDialect{"alpha"}}})
	resp, b := do(t, http.MethodGet, h.url+"/alpha/api/v1/items/1", nil, http.Header{"X-Request-Id": {"req-42"}})
	if got := decodeSeen(t, b).RequestID; got != "req-42" || resp.Header.Get("X-Request-Id") != "req-42" {
		t.Fatalf("request id seen by dialect %q, answered %q; want the caller's", got, resp.Header.Get("X-Request-Id"))
	}
	for _, insane := range []string{"has space", strings.Repeat("x", 200)} {
		resp, b = do(t, http.MethodGet, h.url+"/alpha/api/v1/items/1", nil, http.Header{"X-Request-Id": {insane}})
		if got := decodeSeen(t, b).RequestID; got == "" || got == insane || resp.Header.Get("X-Request-Id") != got {
			t.Fatalf("insane request id kept or none made: %q", got)
		}
	}
	logs := h.logs.String()
	for _, want := range []string{"request_id=req-42", "status=200", "route=/alpha/api/v1/items/{id}", "path=/alpha/api/v1/items/1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s:\n%s", want, logs)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	h := serve(t, server.Config{Dialects: []kit.Dialect{fakeDialect{"alpha"}}})
	resp, _ := get(t, h.url+"/alpha/panic")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("panic: status %d, want 500", resp.StatusCode)
	}
	if !strings.Contains(h.logs.String(), "on purpose") {
		t.Fatal("the panic was not logged")
	}
	if resp, _ := get(t, h.url+"/alpha/api/v1/items/1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a panic: status %d", resp.StatusCode)
	}
}

// unsized hides a reader's length so the client sends it chunked.
type unsized struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	h := serve(t, server.Config{Dialects: []kit.Dialect{fakeDialect{"alpha"}}})
	limit := server.DefaultMaxBodyBytes
	resp, b := do(t, http.MethodPost, h.url+"/alpha/echo", bytes.NewReader(make([]byte, limit)), nil)
	if resp.StatusCode != http.StatusOK || decodeSeen(t, b).Bytes != limit {
		t.Fatalf("body at the limit: status %d, body %s", resp.StatusCode, b)
	}
	for name, body := range map[string]io.Reader{
		"declared length": bytes.NewReader(make([]byte, limit+1)),
		"chunked":         unsized{bytes.NewReader(make([]byte, limit+1))},
	} {
		if resp, _ := do(t, http.MethodPost, h.url+"/alpha/echo", body, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s over the limit: status %d, want 413", name, resp.StatusCode)
		}
	}
}

func TestLatencyMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := serve(t, server.Config{Dialects: []kit.Dialect{fakeDialect{"alpha"}}, Metrics: reg})
	get(t, h.url+"/alpha/api/v1/items/1")
	get(t, h.url+"/alpha/api/v1/items/2")
	get(t, h.url+"/nowhere/1")
	_, b := get(t, h.url+"/metrics")
	text := string(b)
	for _, want := range []string{
		`annals_http_request_duration_seconds_count{dialect="alpha",method="GET",route="/alpha/api/v1/items/{id}",status="200"} 2`,
		`annals_http_request_duration_seconds_count{dialect="annals",method="GET",route="unmatched",status="404"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, text)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	reg := prometheus.NewRegistry()
	for name, cfg := range map[string]server.Config{
		"root with two": {Metrics: reg, AtRoot: true, Dialects: []kit.Dialect{fakeDialect{"a"}, fakeDialect{"b"}}},
		"duplicate":     {Metrics: reg, Dialects: []kit.Dialect{fakeDialect{"a"}, fakeDialect{"a"}}},
		"reserved":      {Metrics: reg, Dialects: []kit.Dialect{fakeDialect{"metrics"}}},
		"not a segment": {Metrics: reg, Dialects: []kit.Dialect{fakeDialect{"a/b"}}},
		"no registry":   {},
		"unnamed check": {Metrics: reg, Ready: []server.Check{{Check: func(context.Context) error { return nil }}}},
	} {
		if _, err := server.New(cfg); err == nil {
			t.Errorf("%s: New accepted an invalid config", name)
		}
	}
}
