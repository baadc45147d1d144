package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/annals-dev/annals/projections"
)

// progressLineInterval spaces the progress lines written where no bar can
// be drawn (a log file, a pipe).
const progressLineInterval = 5 * time.Second

// progressView shows a rebuild's progress: a bar with rate and ETA on a
// terminal, a line every few seconds otherwise. It counts the events of
// this run, so that the rate and the ETA of a resumed rebuild are right.
type progressView struct {
	w      io.Writer
	schema string
	bar    *progressbar.ProgressBar // nil when not on a terminal
	began  time.Time
	last   time.Time
	seen   projections.RebuildProgress
}

func newProgressView(w io.Writer, schema string) *progressView {
	v := &progressView{w: w, schema: schema, began: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		v.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("rebuild "+schema),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	}
	return v
}

func (v *progressView) update(p projections.RebuildProgress) {
	v.seen = p
	done := p.Events - p.Resumed
	if v.bar != nil {
		if total := p.Total() - p.Resumed; total > 0 {
			v.bar.ChangeMax64(total)
		}
		_ = v.bar.Set64(done) // drawing to a terminal; nothing to do if it fails
		return
	}
	if p.Swapped || time.Since(v.last) >= progressLineInterval {
		v.last = time.Now()
		fmt.Fprintf(v.w, "rebuild %s: %d of about %d events (%.0f%%), %.0f events/s%s\n", v.schema,
			p.Events, p.Total(), 100*p.Fraction(), v.rate(done), v.eta(p, done))
	}
}

// rate is this run's events per second.
func (v *progressView) rate(done int64) float64 {
	elapsed := time.Since(v.began).Seconds()
	if elapsed <= 0 {
		return 0
	}
	return float64(done) / elapsed
}

func (v *progressView) eta(p projections.RebuildProgress, done int64) string {
	left, rate := p.Total()-p.Events, v.rate(done)
	if p.Swapped || left <= 0 || rate <= 0 {
		return ""
	}
	return fmt.Sprintf(", about %s left", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
}

// end closes the view with the rebuild's outcome.
func (v *progressView) end(err error) {
	if v.bar != nil {
		if err == nil {
			_ = v.bar.Finish()
		}
		fmt.Fprintln(v.w)
	}
	done := v.seen.Events - v.seen.Resumed
	switch {
	case errors.Is(err, projections.ErrRebuildRunning):
		// Nothing was done; the caller says why.
	case err != nil:
		fmt.Fprintf(v.w, "rebuild %s stopped after %d events; run it again to resume: %v\n", v.schema, done, err)
	default:
		fmt.Fprintf(v.w, "rebuild %s: swapped in after %d events in %s (%.0f events/s), %d parked\n", v.schema,
			done, time.Since(v.began).Round(time.Millisecond), v.rate(done), v.seen.Parked)
	}
}
