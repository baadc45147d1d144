package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/annals-dev/annals/adapters/config"
	"github.com/annals-dev/annals/projections"
)

// projectionsCommand is `annals projections list|status|rebuild|retry`.
// It runs no projector: it reads and changes what the projectors of every
// process store. The command line is checked before anything is opened.
func projectionsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: projections needs list, status, rebuild or retry", errUsage)
	}
	parse, ok := map[string]func([]string, io.Writer, io.Writer) (withApp, error){
		"list":    parseList,
		"status":  parseStatus,
		"rebuild": parseRebuild,
		"retry":   parseRetry,
	}[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown projections command %q", errUsage, args[0])
	}
	run, err := parse(args[1:], stdout, stderr)
	if err != nil {
		return err
	}
	return runWithApp(ctx, stderr, func(ctx context.Context, a *app) error {
		if err := a.runtime.Migrate(ctx); err != nil {
			return err
		}
		return run(ctx, a)
	})
}

// withApp is a parsed command, run on the app.
type withApp func(ctx context.Context, a *app) error

// runWithApp opens the app of every dialect, without roles, for run.
func runWithApp(ctx context.Context, stderr io.Writer, run withApp) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	a, err := open(ctx, cfg, options{build: dialects}, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	return run(ctx, a)
}

func parseList(args []string, stdout, _ io.Writer) (withApp, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("%w: projections list takes no arguments", errUsage)
	}
	return func(ctx context.Context, a *app) error {
		statuses, err := a.runtime.Status(ctx)
		if err != nil {
			return err
		}
		return printStatuses(stdout, statuses)
	}, nil
}

// parseStatus: the named projectors, or those of the named schemas (all
// without names), as a table or JSON lines.
func parseStatus(args []string, stdout, stderr io.Writer) (withApp, error) {
	flags := flag.NewFlagSet("projections status", flag.ContinueOnError)
	flags.SetOutput(stderr)
	asJSON := flags.Bool("json", false, "one JSON object per projector")
	if err := flags.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	names := flags.Args()
	return func(ctx context.Context, a *app) error {
		statuses, err := a.runtime.Status(ctx)
		if err != nil {
			return err
		}
		if len(names) > 0 {
			statuses = slices.DeleteFunc(statuses, func(s projections.Status) bool {
				return !slices.Contains(names, s.Name) && !slices.Contains(names, s.Schema)
			})
			if len(statuses) == 0 {
				return fmt.Errorf("no projector or schema named %v", names)
			}
		}
		if !*asJSON {
			return printStatuses(stdout, statuses)
		}
		enc := json.NewEncoder(stdout)
		for _, s := range statuses {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// printStatuses writes one line per projector.
func printStatuses(w io.Writer, statuses []projections.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECTOR\tVERSION\tSCHEMA\tSTATE\tCHECKPOINT\tHEAD\tLAG EVENTS\tLAG SECONDS\tPARKED\tREBUILD")
	for _, s := range statuses {
		lag := strconv.Itoa(s.LagEvents)
		if s.LagCapped {
			lag = "≥" + lag
		}
		rebuild := "-"
		if rb := s.Rebuild; rb != nil {
			rebuild = fmt.Sprintf("v%d %.0f%% (%d events, at %s)", rb.Version, 100*rb.Fraction, rb.Events, rb.Position)
		}
		fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%s\t%s\t%s\t%.1f\t%d\t%s\n", s.Name, s.Version, orDash(s.Schema), s.State,
			s.Checkpoint, s.Head, lag, s.LagSeconds, s.Parked, rebuild)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseRebuild: rebuild the named schemas (or the schemas of the named
// projectors), or all of them, one after the other.
func parseRebuild(args []string, _, stderr io.Writer) (withApp, error) {
	flags := flag.NewFlagSet("projections rebuild", flag.ContinueOnError)
	flags.SetOutput(stderr)
	all := flags.Bool("all", false, "rebuild every read-model schema")
	wait := flags.Bool("wait", false, "wait for a rebuild running elsewhere to end instead of failing")
	if err := flags.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	names := flags.Args()
	switch {
	case *all && len(names) > 0:
		return nil, fmt.Errorf("%w: give names or --all, not both", errUsage)
	case !*all && len(names) == 0:
		return nil, fmt.Errorf("%w: projections rebuild needs a schema or projector name, or --all", errUsage)
	}
	return func(ctx context.Context, a *app) error {
		if *all {
			names = a.runtime.Schemas()
		}
		for _, name := range names {
			show := newProgressView(stderr, name)
			err := a.runtime.Rebuild(ctx, name, projections.RebuildOptions{Progress: show.update, Wait: *wait})
			show.end(err)
			if errors.Is(err, projections.ErrRebuildRunning) {
				return fmt.Errorf("%w (add --wait to wait for it)", err)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// parseRetry: apply the parked events of a projector (or of a schema's
// projectors) again.
func parseRetry(args []string, stdout, _ io.Writer) (withApp, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%w: projections retry needs one projector or schema name", errUsage)
	}
	name := args[0]
	return func(ctx context.Context, a *app) error {
		res, err := a.runtime.Retry(ctx, name)
		fmt.Fprintf(stdout, "%s: %d applied, %d still failing\n", name, res.Applied, res.Failed)
		if err != nil {
			return err
		}
		if res.Failed > 0 {
			return fmt.Errorf("%d parked events of %s failed again and stay parked", res.Failed, name)
		}
		return nil
	}, nil
}
