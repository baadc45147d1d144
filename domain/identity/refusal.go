package identity

import "github.com/annals-dev/annals/domain/kernel"

// Refusing is an event that records a refused attempt. Some refusals are
// facts worth keeping: a wrong password counts toward lockout, a reused
// refresh token ends its session. Such a decision succeeds (its events are
// stored) and the command still fails with the event's Refusal.
type Refusing interface {
	kernel.Event
	Refusal() error
}

// Refusal returns the failure a decision's events stand for, nil when none
// of them refuses.
func Refusal(events []kernel.Event) error {
	for _, e := range events {
		if r, ok := e.(Refusing); ok {
			if err := r.Refusal(); err != nil {
				return err
			}
		}
	}
	return nil
}
