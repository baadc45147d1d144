package esdb

import (
	"errors"
	"testing"
)

func TestActualVersion(t *testing.T) {
	cases := []struct {
		msg  string
		want int64
	}{
		{"wrong expected version: expecting '3' but got '7'", 7},
		{"wrong expected version: expecting 'no_stream' but got '0'", 0},
		{"wrong expected version: expecting '0' but got 'no_stream'", -1},
		{"wrong expected version", -1},
	}
	for _, c := range cases {
		if got := actualVersion(errors.New(c.msg)); got != c.want {
			t.Errorf("actualVersion(%q) = %d, want %d", c.msg, got, c.want)
		}
	}
}
