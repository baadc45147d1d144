package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// requestIDHeader carries the request id in and out.
const requestIDHeader = "X-Request-Id"

// requestID keeps a caller's request id when it is sane, or makes one, and
// puts it where chi's middleware.GetReqID finds it and in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
	})
}

// saneRequestID accepts short printable ids, which are safe to log.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// accessLog logs one line per request once it is answered.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			began := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", chi.RouteContext(r.Context()).RoutePattern()),
				slog.Int("status", statusOf(ww)),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", time.Since(began)),
				slog.String("remote", r.RemoteAddr),
			)
		})
	}
}

// statusOf is the status a handler answered; writing a body without a
// header means 200.
func statusOf(ww middleware.WrapResponseWriter) int {
	if ww.Status() == 0 {
		return http.StatusOK
	}
	return ww.Status()
}

// dialectKey holds, in a request's context, the slot the dialect's mount
// fills in, so that the latency middleware outside the router learns which
// dialect answered.
type dialectKey struct{}

// serverLabel is the dialect label of the server's own endpoints and of
// unmatched paths.
const serverLabel = "annals"

func labelDialect(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slot, ok := r.Context().Value(dialectKey{}).(*string); ok {
			*slot = name
		}
		h.ServeHTTP(w, r)
	})
}

// knownMethods bounds the method label's values.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// measure records latency by dialect, method, route pattern (never the raw
// path, which would make a series per id) and status.
func measure(latency *prometheus.HistogramVec) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			began := time.Now()
			dialect := serverLabel
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), dialectKey{}, &dialect)))
			method := r.Method
			if !knownMethods[method] {
				method = "OTHER"
			}
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			latency.WithLabelValues(dialect, method, route, strconv.Itoa(statusOf(ww))).Observe(time.Since(began).Seconds())
		})
	}
}

// recoverPanics turns a handler's panic into a logged 500 instead of a
// dropped connection.
func recoverPanics(logger *slog.Logger, fail func(http.ResponseWriter, int, string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(rec) // the handler asked to abort the connection
				}
				logger.ErrorContext(r.Context(), "http handler panicked",
					"request_id", middleware.GetReqID(r.Context()), "panic", rec, "stack", string(debug.Stack()))
				if ww.Status() == 0 {
					fail(ww, http.StatusInternalServerError, "Internal Server Error")
				}
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// limitBody answers 413 to bodies over max bytes. Bodies are read up front,
// so a dialect never sees a truncated body and the client always gets 413,
// whether or not it declared a length.
func limitBody(max int64, fail func(http.ResponseWriter, int, string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				tooLarge(w, fail)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				fail(w, http.StatusBadRequest, "Could not read the request body")
				return
			}
			if int64(len(body)) > max {
				tooLarge(w, fail)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

func tooLarge(w http.ResponseWriter, fail func(http.ResponseWriter, int, string)) {
	// The rest of the body is not read: close rather than reuse the
	// connection.
	w.Header().Set("Connection", "close")
	fail(w, http.StatusRequestEntityTooLarge, "Request body too large")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
