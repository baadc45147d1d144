// Package fastapi speaks the conventions of FastAPI backends at the HTTP
// edge: pydantic-v2 validation errors (422 {"detail": [...]}) for bodies,
// query and path parameters, and {"detail": "..."} for everything else.
// The sartiq and civic dialects are both FastAPI services, so they share it.
package fastapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/domain/kernel"
)

// ErrorItem is one pydantic validation error.
type ErrorItem struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
	URL   string         `json:"url,omitempty"`
}

// pydanticDocs is where pydantic v2 documents each error type; FastAPI
// passes the link through in every validation error.
const pydanticDocs = "https://errors.pydantic.dev/2.3/v/"

// Errors collects validation errors in the order found.
type Errors []ErrorItem

// Add appends one error.
func (e *Errors) Add(item ErrorItem) { *e = append(*e, item) }

// WriteJSON writes v as JSON with a status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteValidation answers 422 with the errors.
func WriteValidation(w http.ResponseWriter, errs Errors) {
	for i := range errs {
		if errs[i].URL == "" {
			errs[i].URL = pydanticDocs + errs[i].Type
		}
	}
	WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": errs})
}

// WriteDetail answers {"detail": msg}, FastAPI's HTTPException body.
func WriteDetail(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	WriteJSON(w, status, map[string]string{"detail": msg})
}

// Transport words the server's own refusals the FastAPI way; a FastAPI
// dialect embeds it to implement kit.ErrorWriter.
type Transport struct{}

// WriteError answers {"detail": message}.
func (Transport) WriteError(w http.ResponseWriter, status int, message string) {
	WriteDetail(w, status, message)
}

// Messages lets a dialect word a domain error its own way, by error code.
type Messages map[string]string

// StatusOf maps a domain error kind to the status FastAPI services use.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, kernel.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, kernel.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, kernel.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, kernel.ErrRule):
		return http.StatusBadRequest
	case errors.Is(err, kernel.ErrConflict):
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// WriteError answers a command or query failure: domain errors with their
// status and message (reworded by msgs when its code is listed), anything
// else as a logged 500 that reveals nothing. The error is noted for the
// record of a refused command (kit.RecordRefusals).
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, msgs Messages, err error) {
	kit.Failed(r, err)
	var de *kernel.Error
	if errors.As(err, &de) {
		msg := de.Message
		if m, ok := msgs[de.Code]; ok {
			msg = m
		}
		WriteDetail(w, StatusOf(err), msg)
		return
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		WriteDetail(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return
	}
	logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	WriteDetail(w, http.StatusInternalServerError, "Internal Server Error")
}
