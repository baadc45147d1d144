package kernel_test

import (
	"testing"

	"github.com/annals-dev/annals/domain/kernel"
)

func TestParseStreamNameReadsStreamName(t *testing.T) {
	realm, kind, id, ok := kernel.ParseStreamName(kernel.StreamName("civic", "user", "6f1c-42-ab"))
	if !ok || realm != "civic" || kind != "user" || id != "6f1c-42-ab" {
		t.Fatalf("parsed %q %q %q %v", realm, kind, id, ok)
	}
	for _, bad := range []string{"", "civic", "civic:user", ":user-1", "civic:-1", "civic:user-"} {
		if _, _, _, ok := kernel.ParseStreamName(bad); ok {
			t.Errorf("%q parsed as a stream name", bad)
		}
	}
}
