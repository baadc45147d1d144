package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/commands"
	cmdorganization "github.com/annals-dev/annals/commands/organization"
	"github.com/annals-dev/annals/domain/organization"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// lagAim is the most the lag's p99 may be, in milliseconds.
var lagAim = &Aim{MaxValue: 50}

// ceilingLag names the lag's floor.
const ceilingLag = "raw INSERT tx latency"

// lag measures how long after a command's append its organization shows in
// the read model, under a steady rate of commands issued whether or not
// earlier ones are projected yet. Its floor is the latency of one INSERT
// transaction of such a row at the same rate: the least any projector
// needs to make a row visible.
func (s *session) lag(ctx context.Context) (Report, error) {
	d, err := s.dialect(ctx)
	if err != nil {
		return Report{}, err
	}
	owner := uuid.NewString()
	meta := commands.Meta{Realm: readmodel.Realm, ActorID: owner, Command: "CreateOrganization"}
	command := func(ctx context.Context, _ int) (time.Duration, error) {
		id := uuid.NewString()
		res, err := d.orgs.Create(ctx, meta, organization.Actor{ID: owner}, cmdorganization.Create{
			OrganizationID: id, Profile: organization.Profile{Name: "Lagging", AvatarImage: "https://img.example/lag.png", ReworkAvailable: 2},
		})
		if err != nil {
			return 0, err
		}
		appended := time.Now()
		if err := d.runtime.WaitFor(ctx, readmodel.Realm, res.Position); err != nil {
			return 0, err
		}
		return time.Since(appended), nil
	}
	insert := timed(func(ctx context.Context, _ int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO ceiling.organizations
			(id, name, avatar_image_url, rework_available, owner_id, created_at, updated_at)
			VALUES ($1, 'Lagging', 'https://img.example/lag.png', 2, $2, now(), now())`, uuid.New(), owner)
		return err
	})
	atRate := func(name string, o op) contender {
		return contender{name: name, run: func(ctx context.Context, b bound) (sample, error) {
			return openLoop(ctx, s.cfg.Rate, s.cfg.Rate, b, o)
		}}
	}
	s.progress("projection lag at %d commands/s: %d × %s per side", s.cfg.Rate, s.cfg.Rounds, s.cfg.Duration)
	samples, err := compare(ctx, s.cfg, atRate(ceilingLag, insert), atRate("lag", command))
	if err != nil {
		return Report{}, err
	}
	floor, lag := samples[0], samples[1]
	name := fmt.Sprintf("projection lag at %d commands/s", s.cfg.Rate)
	return Report{
		Figures: []Figure{
			{Name: name + ", p50", Unit: "ms", Value: ms(lag.percentile(0.50)), Ceiling: ms(floor.percentile(0.50)),
				CeilingName: ceilingLag, LowerIsBetter: true},
			{Name: name + ", p99", Unit: "ms", Value: ms(lag.percentile(0.99)), Ceiling: ms(floor.percentile(0.99)),
				CeilingName: ceilingLag, LowerIsBetter: true, Aim: lagAim},
		},
		Notes: []string{fmt.Sprintf(
			"lag: from a create-organization command's append to its read model row being committed; %d commands (2 events each) at %.0f/s achieved of %d/s asked",
			lag.ops, lag.rate(), s.cfg.Rate)},
	}, nil
}
