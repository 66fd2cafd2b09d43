// Package cli holds mekong's subcommands. Every flag can also be set by the
// environment variable named beside it (MEKONG_ADDR mirrors --addr, ...).
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/mekong-fhir/mekong/internal/backend"
)

// Version is set at build time with -ldflags "-X github.com/mekong-fhir/mekong/internal/cli.Version=...".
var Version = "dev"

// Run runs the command line args.
func Run(ctx context.Context, args []string) error {
	return root(os.Stdout, os.Stderr).Run(ctx, args)
}

func root(stdout, stderr io.Writer) *ucli.Command {
	cmd := &ucli.Command{
		Name:      "mekong",
		Usage:     "FHIR R4 gateway for cross-border health records",
		Version:   Version + " (FHIR 4.0.1)",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*ucli.Command{serveCommand(), migrateCommand(), versionCommand(), seedCommand(), importCommand(), exportCommand(), ingestCommand(), exportSourceCommand(), tokenCommand(),
			verifyCardCommand(), healthCardsCommand(), auditCommand()},
	}
	onUsageError(cmd)
	// An unknown command is a usage mistake like an unknown flag: one line
	// naming it (with the nearest command) and a failing exit status. The
	// library's default said "No help topic for 'x'".
	cmd.Action = func(_ context.Context, c *ucli.Command) error {
		if !c.Args().Present() {
			return ucli.ShowRootCommandHelp(c)
		}
		msg := fmt.Sprintf("unknown command %q", c.Args().First())
		if s := ucli.SuggestCommand(c.Commands, c.Args().First()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return fmt.Errorf("%s (see mekong --help)", msg)
	}
	// --version prints what `mekong version` does.
	ucli.VersionPrinter = func(c *ucli.Command) { printVersion(c.Root().Writer) }
	return cmd
}

func printVersion(w io.Writer) error {
	_, err := io.WriteString(w, "mekong "+Version+" (FHIR 4.0.1)\n")
	return err
}

// onUsageError makes a usage mistake (a missing required flag, a bad
// value) one line naming it and where the help is, on every command,
// instead of the error followed by the whole help text.
func onUsageError(cmd *ucli.Command) {
	cmd.OnUsageError = func(_ context.Context, c *ucli.Command, err error, _ bool) error {
		return fmt.Errorf("%s: %w (see %s --help)", c.Name, err, c.FullName())
	}
	for _, sub := range cmd.Commands {
		onUsageError(sub)
	}
}

// dbFlag is every command's --db: the same default and MEKONG_DB as serve,
// so a command run beside the server works on the server's database.
func dbFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "db", Value: backend.DefaultURL, Sources: ucli.EnvVars("MEKONG_DB"),
		Usage: "database: sqlite:PATH (embedded) or postgres://user@host/db"}
}

func logFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "log-format", Sources: ucli.EnvVars("MEKONG_LOG_FORMAT"),
			Usage: "json or text (default: text on a terminal, json otherwise)",
			Validator: func(f string) error {
				if f != "json" && f != "text" {
					return fmt.Errorf("--log-format %q: json or text", f)
				}
				return nil
			}},
		&ucli.StringFlag{Name: "log-level", Value: "info", Sources: ucli.EnvVars("MEKONG_LOG_LEVEL"), Usage: "debug, info, warn or error"},
	}
}

// newLogger logs as --log-format says, or readable text when w is a
// terminal (durations as 1.2s) and JSON otherwise, for log collectors.
func newLogger(cmd *ucli.Command, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := strings.ToLower(cmd.String("log-format"))
	if format == "" && isTerminal(w) {
		format = "text"
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	// JSON would write a duration as nanoseconds; a reader (or a collector's
	// query) gets "1.2s" as the text handler writes it.
	opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal tells a terminal from a file, a pipe or a log collector.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func versionCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(ctx context.Context, cmd *ucli.Command) error {
			return printVersion(cmd.Root().Writer)
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
