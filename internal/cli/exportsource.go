package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/ingest"
)

func exportSourceCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "export-source",
		Usage: "write a stored patient in a source format, as GET [base]/Patient/[id]/$export-source does",
		Description: "th43 is a ZIP of PERSON, EPI, LABFU and SPECIALPP; dhis2 a tracker payload; iom-csv and iom-json\n" +
			"an IOM export. What the format cannot hold is logged as a warning, never dropped silently.",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "format", Required: true, Usage: "th43, dhis2, iom-csv or iom-json"},
			&ucli.StringFlag{Name: "patient", Required: true, Usage: "the Patient's id"},
			dbFlag(),
			dhis2ConfigFlag(),
			&ucli.StringFlag{Name: "out", Value: "-", Usage: "file to write, - for standard output"},
			&ucli.StringFlag{Name: "hospcode", Usage: "th43: HOSPCODE for patients that did not come from a 43-file export"},
			&ucli.StringFlag{Name: "typearea", Usage: "th43: PERSON.TYPEAREA for patients that did not come from a 43-file export"},
		}, logFlags()...),
		Action: runExportSource,
	}
}

func runExportSource(ctx context.Context, cmd *ucli.Command) error {
	log := newLogger(cmd, cmd.Root().ErrWriter)
	opts, err := mappingOptions(cmd)
	if err != nil {
		return err
	}
	svc, db, err := openService(ctx, cmd)
	if err != nil {
		return fmt.Errorf("export-source: %w", err)
	}
	defer db.Close()
	out, err := ingest.Export(ctx, svc, "", cmd.String("patient"), cmd.String("format"),
		ingest.ExportOptions{Options: opts, HospCode: cmd.String("hospcode"), TypeArea: cmd.String("typearea")})
	if err != nil {
		return fmt.Errorf("export-source: %w", err)
	}
	// Omissions name resources by identifier, which is patient data: they
	// are the command's report on stderr, not log records.
	for _, o := range out.Omissions {
		fmt.Fprintf(cmd.Root().ErrWriter, "not exported: %s: %s\n", o.Resource, o.Reason)
	}
	log.Info("export-source done", slog.String("format", cmd.String("format")), slog.Int("bytes", len(out.Body)), slog.Int("omissions", len(out.Omissions)))
	if path := cmd.String("out"); path != "-" {
		return os.WriteFile(path, out.Body, 0o644)
	}
	_, err = cmd.Root().Writer.Write(out.Body)
	return err
}
