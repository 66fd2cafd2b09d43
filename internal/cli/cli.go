// Package cli holds mekong's subcommands. Every flag can also be set by the
// environment variable named beside it (MEKONG_ADDR mirrors --addr, ...).
package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/backend"
)

// Version is set at build time with -ldflags "-X github.com/mekong-fhir/mekong/internal/cli.Version=...".
var Version = "dev"

// Run runs the command line args.
func Run(ctx context.Context, args []string) error {
	return root(os.Stdout, os.Stderr).Run(ctx, args)
}

func root(stdout, stderr io.Writer) *ucli.Command {
	return &ucli.Command{
		Name:      "mekong",
		Usage:     "FHIR R4 gateway for cross-border health records",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*ucli.Command{serveCommand(), migrateCommand(), versionCommand(), seedCommand(), importCommand(), exportCommand(), ingestCommand(), exportSourceCommand(), tokenCommand(),
			verifyCardCommand(), healthCardsCommand()},
	}
}

func dbFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "db", Value: backend.DefaultURL, Sources: ucli.EnvVars("MEKONG_DB"),
		Usage: "database: sqlite:PATH (embedded) or postgres://user@host/db"}
}

func logFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "log-format", Value: "json", Sources: ucli.EnvVars("MEKONG_LOG_FORMAT"), Usage: "json or text"},
		&ucli.StringFlag{Name: "log-level", Value: "info", Sources: ucli.EnvVars("MEKONG_LOG_LEVEL"), Usage: "debug, info, warn or error"},
	}
}

func newLogger(cmd *ucli.Command, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cmd.String("log-format"), "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func versionCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(ctx context.Context, cmd *ucli.Command) error {
			_, err := io.WriteString(cmd.Root().Writer, "mekong "+Version+" (FHIR 4.0.1)\n")
			return err
		},
	}
}

func migrateCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "migrate",
		Usage: "apply pending schema migrations to the database",
		Flags: append([]ucli.Flag{dbFlag()}, logFlags()...),
		Action: func(ctx context.Context, cmd *ucli.Command) error {
			log := newLogger(cmd, cmd.Root().ErrWriter)
			db, n, err := backend.OpenMigrated(ctx, cmd.String("db"))
			if err != nil {
				return err
			}
			defer db.Close()
			log.Info("migrations applied", slog.Int("applied", n), slog.String("db", backend.Redact(cmd.String("db"))))
			return nil
		},
	}
}
