package dialecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Raw is a body sent exactly as given, e.g. malformed JSON.
type Raw string

// Request is one call to the dialect. Body is sent as JSON (a Raw as it
// is); Form, when set, is sent url-encoded instead.
type Request struct {
	Method string
	Path   string
	// Token is sent as a bearer token unless empty.
	Token string
	Body  any
	Form  url.Values
}

func (r Request) String() string { return r.Method + " " + r.Path }

// Response is the dialect's answer.
type Response struct {
	Request Request
	Status  int
	Header  http.Header
	Body    []byte
}

// Send makes a request. It is safe from any goroutine: it reports
// failures instead of failing a test.
func (e *Env) Send(ctx context.Context, req Request) (Response, error) {
	body, contentType, err := encode(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w", req, err)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, e.URL+req.Path, body)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w", req, err)
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w", req, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s: read answer: %w", req, err)
	}
	return Response{Request: req, Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

func encode(req Request) (io.Reader, string, error) {
	switch {
	case req.Form != nil:
		return strings.NewReader(req.Form.Encode()), "application/x-www-form-urlencoded", nil
	case req.Body == nil:
		return http.NoBody, "", nil
	}
	if raw, ok := req.Body.(Raw); ok {
		return strings.NewReader(string(raw)), "application/json", nil
	}
	b, err := json.Marshal(req.Body)
	if err != nil {
		return nil, "", fmt.Errorf("encode body: %w", err)
	}
	return bytes.NewReader(b), "application/json", nil
}

// Do makes a request from the test's goroutine, failing the test if the
// server cannot be reached.
func (e *Env) Do(t testing.TB, req Request) Response {
	t.Helper()
	res, err := e.Send(t.Context(), req)
	if err != nil {
		t.Fatalf("dialecttest: %v", err)
	}
	return res
}

// JSON sends body (nil: none) as JSON with an optional bearer token.
func (e *Env) JSON(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	return e.Do(t, Request{Method: method, Path: path, Token: token, Body: body})
}

// Form posts an url-encoded form with an optional bearer token.
func (e *Env) Form(t testing.TB, path, token string, form url.Values) Response {
	t.Helper()
	return e.Do(t, Request{Method: http.MethodPost, Path: path, Token: token, Form: form})
}

// Expect fails the test unless the answer has the status; it shows the
// body, which says why.
func (r Response) Expect(t testing.TB, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body: %s", r.Request, r.Status, status, r.Body)
	}
	return r
}

// Decode parses the JSON body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: decode %T from %s: %v", r.Request, v, r.Body, err)
	}
}

// Object parses the JSON body as an object.
func (r Response) Object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	return m
}
