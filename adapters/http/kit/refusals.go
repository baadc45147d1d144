package kit

import (
	"context"
	"net/http"

	"github.com/annals-dev/annals/commands"
)

// RecordRefusal records that a command was refused with err; fallback is
// the message to keep when err is not a domain error.
type RecordRefusal func(ctx context.Context, meta commands.Meta, err error, fallback string) (commands.Result, error)

// issued is what a request's handler did: the command it issued last
// (noted by CommandMeta) and the error it was answered with (noted by
// Failed).
type issued struct {
	meta *commands.Meta
	err  error
}

type issuedKey struct{}

// RecordRefusals is middleware that records the refusal of every command a
// dialect's handlers issue: when a request that issued a command (built its
// metadata with CommandMeta) is answered with a client error, record runs
// before the answer is written, and the answer waits for the read models to
// include it. Handlers do nothing for it; a dialect's error writer calls
// Failed so that the record says why.
func (d Deps) RecordRefusals(realm string, record RecordRefusal) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			is := &issued{}
			r = r.WithContext(context.WithValue(r.Context(), issuedKey{}, is))
			next.ServeHTTP(&refusalWriter{ResponseWriter: w, ctx: r.Context(), deps: d, realm: realm, record: record, issued: is}, r)
		})
	}
}

// Failed notes the error a request is answered with, for RecordRefusals.
func Failed(r *http.Request, err error) {
	if is, ok := r.Context().Value(issuedKey{}).(*issued); ok {
		is.err = err
	}
}

// noteIssued notes the command a request issues, for RecordRefusals.
func noteIssued(ctx context.Context, meta commands.Meta) {
	if is, ok := ctx.Value(issuedKey{}).(*issued); ok {
		is.meta = &meta
	}
}

// refusalWriter records a refusal as the status of a client error is
// written.
type refusalWriter struct {
	http.ResponseWriter
	ctx      context.Context
	deps     Deps
	realm    string
	record   RecordRefusal
	issued   *issued
	recorded bool
}

func (w *refusalWriter) WriteHeader(status int) {
	if !w.recorded && w.issued.meta != nil && status >= 400 && status < 500 {
		w.recorded = true
		res, err := w.record(w.ctx, *w.issued.meta, w.issued.err, http.StatusText(status))
		if err != nil {
			// The refusal is answered anyway; only its record is lost.
			w.deps.Logger.ErrorContext(w.ctx, "refused command not recorded", "command", w.issued.meta.Command, "err", err)
		} else {
			w.deps.Await(w.ctx, w.realm, res)
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
