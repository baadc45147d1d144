package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Figure is one measured number beside its ceiling: the same work done the
// simplest way, measured in the same run.
type Figure struct {
	// Name says what was measured, e.g. "append postgres, 16 writers".
	Name string
	// Unit of Value and Ceiling, e.g. "events/s" or "ms p99".
	Unit  string
	Value float64
	// Ceiling is the best the simplest equivalent did; CeilingName says
	// what that equivalent was.
	Ceiling     float64
	CeilingName string
	// LowerIsBetter is set for latencies.
	LowerIsBetter bool
	// Aim is what the figure should reach; nil when there is none.
	Aim *Aim
}

// Ratio is the share of the ceiling the figure reaches: value ÷ ceiling
// for throughputs, ceiling ÷ value for latencies, so that 1 means "as
// good as the simplest equivalent" either way.
func (f Figure) Ratio() float64 {
	num, den := f.Value, f.Ceiling
	if f.LowerIsBetter {
		num, den = den, num
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// Aim is a target: a least ratio, or a most value (for latencies).
type Aim struct {
	MinRatio float64
	MaxValue float64
}

// describe words the aim; unit is the figure's.
func (a Aim) describe(unit string) string {
	if a.MaxValue > 0 {
		return fmt.Sprintf("< %s %s", formatValue(a.MaxValue), unit)
	}
	return fmt.Sprintf("ratio ≥ %.2f", a.MinRatio)
}

// Met reports whether f reaches the aim.
func (a Aim) Met(f Figure) bool {
	if a.MaxValue > 0 {
		return f.Value < a.MaxValue
	}
	return f.Ratio() >= a.MinRatio
}

// Report is the figures of one run, in the order they were measured.
type Report struct {
	Figures []Figure
	// Notes are remarks printed under the table: achieved rates, what a
	// ceiling was.
	Notes []string
}

// add appends figures and notes.
func (r *Report) add(figures []Figure, notes ...string) {
	r.Figures = append(r.Figures, figures...)
	r.Notes = append(r.Notes, notes...)
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tceiling\tceiling is\tratio\taim\tmet")
	for _, f := range r.Figures {
		aim, met := "", ""
		if f.Aim != nil {
			aim, met = f.Aim.describe(f.Unit), "no"
			if f.Aim.Met(f) {
				met = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%s\t%.2f\t%s\t%s\n", f.Name,
			formatValue(f.Value), f.Unit, formatValue(f.Ceiling), f.Unit, f.CeilingName, f.Ratio(), aim, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n  %s\n", strings.Join(r.Notes, "\n  "))
	}
	fmt.Fprintln(w, "\nratio: value ÷ ceiling for throughputs, ceiling ÷ value for latencies (1 = as fast as the ceiling)")
	return nil
}

// formatValue keeps three significant digits or so.
func formatValue(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// ms expresses a duration in milliseconds, the unit of every latency here.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// throughputAndLatency turns a figure's and its ceiling's samples into the
// three figures an HTTP comparison prints: requests per second, p50 and
// p99. aim applies to the throughput.
func throughputAndLatency(name, ceilingName string, got, ceiling sample, aim *Aim) []Figure {
	return []Figure{
		{Name: name + ", throughput", Unit: "req/s", Value: got.rate(), Ceiling: ceiling.rate(), CeilingName: ceilingName, Aim: aim},
		{Name: name + ", latency p50", Unit: "ms", Value: ms(got.percentile(0.50)), Ceiling: ms(ceiling.percentile(0.50)),
			CeilingName: ceilingName, LowerIsBetter: true},
		{Name: name + ", latency p99", Unit: "ms", Value: ms(got.percentile(0.99)), Ceiling: ms(ceiling.percentile(0.99)),
			CeilingName: ceilingName, LowerIsBetter: true},
	}
}
