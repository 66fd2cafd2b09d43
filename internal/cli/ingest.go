package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/dhis2"
)

// ingestLogEvery is how often ingest logs its progress when stderr is not a terminal.
var ingestLogEvery = 3 * time.Second

func dhis2ConfigFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "dhis2-config", Sources: ucli.EnvVars("MEKONG_DHIS2_CONFIG"),
		Usage: "DHIS2 tracker mapping configuration (JSON, see mappings/README.md); default: the shipped example configuration"}
}

// defaultTimezone is serve's --timezone default.
const defaultTimezone = "+07:00"

func timezoneFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "timezone", Value: defaultTimezone, Sources: ucli.EnvVars("MEKONG_TIMEZONE"),
		Usage: "zone for dates without a timezone when indexing, as for serve"}
}

// mappingOptions reads --dhis2-config.
func mappingOptions(cmd *ucli.Command) (ingest.Options, error) {
	path := cmd.String("dhis2-config")
	if path == "" {
		return ingest.Options{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ingest.Options{}, fmt.Errorf("--dhis2-config: %w", err)
	}
	cfg, err := dhis2.LoadConfig(data)
	if err != nil {
		return ingest.Options{}, fmt.Errorf("--dhis2-config %s: %w", path, err)
	}
	return ingest.Options{DHIS2: &cfg}, nil
}

// openService opens (and migrates) the database and builds the REST service
// the server would use on it, so command-line writes are validated and
// indexed exactly like API writes.
func openService(ctx context.Context, cmd *ucli.Command) (*rest.Service, io.Closer, error) {
	// export-source indexes nothing and has no --timezone; its searches
	// take serve's default zone.
	tz := cmd.String("timezone")
	if tz == "" {
		tz = defaultTimezone
	}
	loc, err := ParseZone(tz)
	if err != nil {
		return nil, nil, fmt.Errorf("--timezone: %w", err)
	}
	db, _, err := backend.OpenMigrated(ctx, cmd.String("db"))
	if err != nil {
		return nil, nil, err
	}
	parser, err := resource.NewParser()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	reg, err := search.NewRegistry(ResourceTypes, loc)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return rest.New(db, parser, reg), db, nil
}

func ingestCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "ingest",
		Usage:     "store IOM, Thai 43-file or DHIS2 exports in the database, as POST [base]/$ingest does",
		ArgsUsage: "PATH...",
		Description: "Each person becomes one transaction: patients are matched on identifiers, so ingesting the same\n" +
			"files again changes nothing. th43 reads directories, .zip archives or the files themselves.\n" +
			"Rejected rows (file, row, field, reason) go to stderr, or as JSON to --report; the exit status\n" +
			"is 1 when a row was rejected or a person's transaction failed. Valid rows are stored either way.",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "format", Required: true, Usage: "iom-csv, iom-json, th43 or dhis2"},
			dbFlag(),
			dhis2ConfigFlag(),
			timezoneFlag(),
			&ucli.StringFlag{Name: "report", Usage: "write the full report as JSON to this file"},
		}, append(identityFlags(), logFlags()...)...),
		Action: runIngest,
	}
}

func runIngest(ctx context.Context, cmd *ucli.Command) error {
	log := newLogger(cmd, cmd.Root().ErrWriter)
	opts, err := mappingOptions(cmd)
	if err != nil {
		return err
	}
	format := cmd.String("format")
	inputs, err := ingest.ReadPaths(format, cmd.Args().Slice())
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	res, err := ingest.Decode(format, inputs, opts)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	svc, db, err := openService(ctx, cmd)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer db.Close()
	if err := setupIdentity(cmd, svc); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	began := time.Now()
	progress, done := ingestProgress(cmd.Root().ErrWriter, log, len(res.Persons))
	var rep *ingest.Report
	err = linking(ctx, svc, log, func() error {
		var err error
		rep, err = ingest.Ingest(ctx, svc, "", format, res, progress)
		done()
		return err
	})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	log.Info("ingest done", slog.String("format", format), slog.Int("persons", rep.Persons), slog.Int("stored", rep.Stored),
		slog.Int("created", rep.Created), slog.Int("updated", rep.Updated), slog.Int("unchanged", rep.Unchanged),
		slog.Int("rejected", len(rep.Rejects)), slog.Int("failed", len(rep.Failed)), slog.Duration("elapsed", time.Since(began).Round(time.Millisecond)))
	if path := cmd.String("report"); path != "" {
		raw, err := fhirjson.Marshal(rep)
		if err != nil {
			return err
		}
		var ind bytes.Buffer
		_ = json.Indent(&ind, raw, "", "  ")
		b := ind.Bytes()
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("ingest: --report: %w", err)
		}
	} else if err := rep.WriteText(cmd.Root().ErrWriter); err != nil {
		return err
	}
	if rep.Problems() {
		return fmt.Errorf("ingest: %s rejected, %s not stored (valid rows were stored)",
			plural(int64(len(rep.Rejects)), "row"), plural(int64(len(rep.Failed)), "person"))
	}
	return nil
}

// ingestProgress draws a progress bar on a terminal and logs a line every
// few seconds otherwise (a log file or CI has no use for a bar).
func ingestProgress(w io.Writer, log *slog.Logger, total int) (progress func(done, total int), stop func()) {
	if isTerminal(w) {
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("ingest"),
			progressbar.OptionShowCount(), progressbar.OptionSetItsString("persons"), progressbar.OptionShowIts(),
			progressbar.OptionClearOnFinish())
		return func(done, _ int) { _ = bar.Set(done) }, func() { _ = bar.Finish() }
	}
	last := time.Now()
	return func(done, total int) {
		if time.Since(last) >= ingestLogEvery || done == total {
			last = time.Now()
			log.Info("ingest progress", slog.Int("persons", done), slog.Int("of_persons", total))
		}
	}, func() {}
}
