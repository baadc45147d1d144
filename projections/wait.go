package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/annals-dev/annals/eventstore"
)

// WaitFor returns once every projector of realm, and every projector of all
// realms, has included pos in its read model. It gives up with
// ErrNotCaughtUp after WaitTimeout.
//
// A runtime that reads the event log in this process follows its projectors
// in memory. Otherwise the projectors run elsewhere (the runtime is Remote)
// or in many workers (it has a Feed), and WaitFor polls what they stored:
// a projector includes pos when its checkpoint is at or past pos, or when
// every event after the checkpoint up to pos is one it does not want or one
// its stream versions show applied.
func (r *Runtime) WaitFor(ctx context.Context, realm string, pos eventstore.Position) error {
	bounded, cancel := context.WithTimeout(ctx, r.cfg.WaitTimeout)
	defer cancel()
	var projections []*projection
	for _, p := range r.registered() {
		if p.Realm() == "" || p.Realm() == realm {
			projections = append(projections, p)
		}
	}
	wait := r.waitInMemory
	if r.cfg.Remote || r.cfg.Feed != nil {
		wait = r.waitStored
	}
	late, err := wait(bounded, projections, pos)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("wait for %s to reach %s: %w", late.Name(), pos, ctx.Err())
	case bounded.Err() != nil:
		return fmt.Errorf("%w: %s has not reached %s after %s", ErrNotCaughtUp, late.Name(), pos, r.cfg.WaitTimeout)
	default:
		return fmt.Errorf("projections: wait for %s to reach %s: %w", late.Name(), pos, err)
	}
}

// waitInMemory waits on the positions this process's projectors reach. On
// failure it returns the projector it was waiting for.
func (r *Runtime) waitInMemory(ctx context.Context, projections []*projection, pos eventstore.Position) (*projection, error) {
	for _, p := range projections {
		if err := p.waitFor(ctx, pos); err != nil {
			return p, err
		}
	}
	return nil, nil
}

// waitStored polls the stored progress every PollInterval. What a poll
// found included stays included (checkpoints and stream versions only move
// forward), so each poll checks only the projectors still behind, from
// where the last one stopped. On failure it returns a projector still
// behind.
func (r *Runtime) waitStored(ctx context.Context, projections []*projection, pos eventstore.Position) (*projection, error) {
	tick := time.NewTicker(r.cfg.PollInterval)
	defer tick.Stop()
	included := map[*projection]eventstore.Position{}
	for {
		behind, err := r.behind(ctx, projections, pos, included)
		if err != nil {
			return projections[0], err
		}
		if len(behind) == 0 {
			return nil, nil
		}
		projections = behind
		select {
		case <-ctx.Done():
			return projections[0], ctx.Err()
		case <-tick.C:
		}
	}
}

// behind returns the projectors whose stored progress does not include pos.
// included holds, per projector, the position up to which earlier polls
// found everything included; behind moves it on.
func (r *Runtime) behind(ctx context.Context, projections []*projection, pos eventstore.Position, included map[*projection]eventstore.Position) ([]*projection, error) {
	if len(projections) == 0 {
		return nil, nil
	}
	stored, err := readCheckpoints(ctx, r.cfg.Pool)
	if err != nil {
		return nil, err
	}
	var out []*projection
	for _, p := range projections {
		from := later(stored[keyOf(p)], included[p])
		if !from.Less(pos) {
			continue
		}
		through, reached, err := r.appliedThrough(ctx, p, from, pos)
		if err != nil {
			return nil, err
		}
		if !reached {
			included[p] = through
			out = append(out, p)
		}
	}
	return out, nil
}
