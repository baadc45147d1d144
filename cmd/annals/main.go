// Command annals runs the Annals backend: serve the dialects, migrate the
// schemas, operate the projections, inspect the event log, or find and
// start a PostgreSQL for development.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/annals-dev/annals/cmd/annals/bench"
)

const usage = `usage: annals <command> [arguments]

commands:
  serve [--dialect NAME] [--role ROLES]
                          serve every dialect under /<name>, or one at the root;
                          ROLES is api, projector, relay or all (the default),
                          or several, comma separated, to split Annals over
                          processes
  migrate                 bring every schema up to date, then exit
  projections list        every projector: version, schema, state, checkpoint,
                          head of the log, lag, parked events, rebuild
  projections status [--json] [NAME...]
                          the same for the named projectors or schemas
  projections rebuild [--wait] NAME... | --all
                          rebuild read-model schemas (or the schemas of the
                          named projectors) blue-green: from the start of the
                          log into a shadow schema, then swapped in; resumes
                          an interrupted rebuild
  projections retry NAME  apply again the events a projector (or a schema's
                          projectors) parked after failing on them
  events tail [--stream S] [--type T] [--from POS|start] [-n N]
                          print the log's events as JSON lines, following it
  events show STREAM      print a stream's events as JSON lines
  devdb up                print the URL of a usable PostgreSQL, starting a
                          private throwaway cluster if none answers
  devdb down              stop and remove the cluster "devdb up" started
  bench [GROUP...]        measure figures beside their ceilings in a throwaway
                          database (annals bench -h)

Configuration comes from ANNALS_* environment variables.
`

// errUsage marks a command line that could not be understood.
var errUsage = errors.New("invalid usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first signal a second one kills the process at once.
	context.AfterFunc(ctx, stop)

	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "annals: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "annals: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "migrate":
		return migrate(ctx, rest, stderr)
	case "devdb":
		return devdb(ctx, rest, stdout, stderr)
	case "projections":
		return projectionsCommand(ctx, rest, stdout, stderr)
	case "events":
		return eventsCommand(ctx, rest, stdout, stderr)
	case "bench":
		err := bench.Command(ctx, rest, stdout, stderr)
		if errors.Is(err, bench.ErrUsage) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}
