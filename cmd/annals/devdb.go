package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/annals-dev/annals/adapters/postgres"
)

// devdb prints a usable database URL (up) or stops the private cluster
// (down). Only the URL goes to stdout, so that scripts can capture it.
func devdb(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "down") {
		return fmt.Errorf("%w: devdb takes up or down", errUsage)
	}
	d, err := devServer(os.Getenv("ANNALS_DATABASE_URL"), slog.New(slog.NewTextHandler(stderr, nil)), stderr)
	if err != nil {
		return err
	}
	if args[0] == "down" {
		return d.Down(ctx)
	}
	u, err := d.Up(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, u)
	return err
}

func devServer(configured string, logger *slog.Logger, progress io.Writer) (*postgres.DevServer, error) {
	return postgres.NewDevServer(postgres.DevServerConfig{URL: configured, Logger: logger, Progress: progress})
}
