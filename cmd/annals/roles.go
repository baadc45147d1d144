package main

import (
	"errors"
	"fmt"
	"strings"
)

// roles are the parts of Annals one process runs. Every role serves
// /healthz, /readyz and /metrics; api also serves the dialects.
type roles struct {
	// api handles HTTP requests and commands. Its writes wait for the
	// projectors wherever they run.
	api bool
	// projector runs the projectors, fed from the log or from Kafka.
	projector bool
	// relay publishes the log to Kafka.
	relay bool
}

const roleUsage = "what this process runs: api, projector, relay, or all (the relay only when ANNALS_KAFKA_BROKERS is set); several may be given, comma separated"

// parseRoles reads the --role value. kafka tells whether brokers are
// configured: "all" includes the relay only then, and the relay alone
// needs them.
func parseRoles(value string, kafka bool) (roles, error) {
	var r roles
	for name := range strings.SplitSeq(value, ",") {
		switch strings.TrimSpace(name) {
		case "api":
			r.api = true
		case "projector":
			r.projector = true
		case "relay":
			if !kafka {
				return roles{}, errors.New("the relay role needs ANNALS_KAFKA_BROKERS")
			}
			r.relay = true
		case "all":
			r.api, r.projector, r.relay = true, true, r.relay || kafka
		default:
			return roles{}, fmt.Errorf("%w: unknown role %q (want api, projector, relay or all)", errUsage, name)
		}
	}
	return r, nil
}

// String lists the roles, for the logs.
func (r roles) String() string {
	var names []string
	for _, role := range []struct {
		on   bool
		name string
	}{{r.api, "api"}, {r.projector, "projector"}, {r.relay, "relay"}} {
		if role.on {
			names = append(names, role.name)
		}
	}
	return strings.Join(names, ",")
}
