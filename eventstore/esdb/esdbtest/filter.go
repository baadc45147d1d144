package esdbtest

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// defaultSearchWindow is the server's window when a filter names none.
const defaultSearchWindow = 32

// filter is a server-side $all filter on event types or stream names, by
// regular expression or by prefixes. Filtered subscriptions also report a
// checkpoint every interval records they look at.
type filter struct {
	byEventType bool
	regex       *regexp.Regexp
	prefixes    []string
	interval    int
}

// newFilter reads a request's filter; nil means no filter.
func newFilter(o *api.ReadReq_Options_FilterOptions) (*filter, error) {
	if o == nil {
		return nil, nil
	}
	f := &filter{byEventType: true}
	expr := o.GetEventType()
	if expr == nil {
		f.byEventType = false
		expr = o.GetStreamIdentifier()
	}
	if expr == nil || (expr.GetRegex() == "" && len(expr.GetPrefix()) == 0) {
		return nil, errors.New("filter needs a regex or prefixes on event type or stream")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, fmt.Errorf("filter regex: %w", err)
		}
		f.regex = re
	} else {
		f.prefixes = expr.GetPrefix()
	}
	window := int(o.GetMax())
	if window == 0 {
		window = defaultSearchWindow
	}
	f.interval = window * max(int(o.GetCheckpointIntervalMultiplier()), 1)
	return f, nil
}

// match reports whether r passes the filter; a nil filter passes everything.
func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	v := r.stream
	if f.byEventType {
		v = r.eventType
	}
	if f.regex != nil {
		return f.regex.MatchString(v)
	}
	return slices.ContainsFunc(f.prefixes, func(p string) bool { return strings.HasPrefix(v, p) })
}
