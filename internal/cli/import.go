package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// importProgressEvery is how often an import logs its progress when
// standard error is not a terminal.
var importProgressEvery = 5 * time.Second

// importFormats maps --format to the function loading one input file.
// Source-system formats (ingest.Formats: iom-csv, iom-json, th43, dhis2) go
// through the mappings instead, exactly as `mekong ingest` does.
var importFormats = map[string]func(ctx context.Context, env *importEnv, path string) error{
	"ndjson": importNDJSONFile,
}

func importCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "import",
		Usage:     "load NDJSON (optionally gzip) files straight into the database",
		ArgsUsage: "FILE...",
		Description: "Each line is validated like a create; new resources are written in batches (COPY on PostgreSQL),\n" +
			"existing ones get a new version only when their content differs, so importing a file again changes\n" +
			"nothing. Rejected lines are written as OperationOutcomes to FILE.errors.ndjson (or --errors) and\n" +
			"make the command exit non-zero.",
		Flags: append([]ucli.Flag{
			dbFlag(),
			&ucli.StringFlag{Name: "format", Value: "ndjson", Usage: "input format: ndjson, or a source system's: iom-csv, iom-json, th43, dhis2",
				Validator: func(f string) error {
					if _, ok := importFormats[f]; !ok && !slices.Contains(ingest.Formats, f) {
						return fmt.Errorf("--format %q is not supported; formats: %s", f, strings.Join(formatNames(), ", "))
					}
					return nil
				}},
			dhis2ConfigFlag(),
			&ucli.StringFlag{Name: "report", Usage: "source formats: write the full report as JSON to this file"},
			&ucli.StringFlag{Name: "errors", Usage: "write rejected lines of every input to this file instead of FILE.errors.ndjson"},
			&ucli.IntFlag{Name: "batch", Value: 1000, Usage: "lines per transaction"},
			integrityFlag(),
			&ucli.StringFlag{Name: "timezone", Value: "+07:00", Sources: ucli.EnvVars("MEKONG_TIMEZONE"),
				Usage: "zone for dates without a timezone when indexing, as for serve"},
		}, append(identityFlags(), logFlags()...)...),
		Action: runImport,
	}
}

func formatNames() []string {
	var out []string
	for f := range importFormats {
		out = append(out, f)
	}
	out = append(out, ingest.Formats...)
	sort.Strings(out)
	return out
}

// importEnv is what every format's loader shares.
type importEnv struct {
	im      *bulk.Importer
	log     *slog.Logger
	stderr  io.Writer
	errPath string // --errors, or "" for FILE.errors.ndjson
	errOut  *os.File
	// wrote lists the error files this run has written.
	wrote map[string]bool
	// totals over all files
	stored, rejected atomic.Int64
	counts           map[string]bulk.Counts
	began            time.Time
	prog             *importProgress
}

func runImport(ctx context.Context, cmd *ucli.Command) error {
	if slices.Contains(ingest.Formats, cmd.String("format")) {
		return runIngest(ctx, cmd)
	}
	log := newLogger(cmd, cmd.Root().ErrWriter)
	files := cmd.Args().Slice()
	if len(files) == 0 {
		return errors.New("import: name at least one NDJSON file")
	}
	loc, err := ParseZone(cmd.String("timezone"))
	if err != nil {
		return fmt.Errorf("import: --timezone: %w", err)
	}
	db, _, err := backend.OpenMigrated(ctx, cmd.String("db"))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer db.Close()
	parser, err := resource.NewParser()
	if err != nil {
		return err
	}
	reg, err := search.NewRegistry(ResourceTypes, loc)
	if err != nil {
		return err
	}
	svc := rest.New(db, parser, reg)
	svc.ReferentialIntegrity = cmd.Bool("referential-integrity")
	if err := setupIdentity(cmd, svc); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	env := &importEnv{
		im:      &bulk.Importer{Svc: svc, Store: db, BatchSize: cmd.Int("batch")},
		log:     log,
		stderr:  cmd.Root().ErrWriter,
		errPath: cmd.String("errors"),
		counts:  map[string]bulk.Counts{},
		began:   time.Now(),
	}
	defer func() {
		if env.errOut != nil {
			env.errOut.Close()
		}
	}()
	load := importFormats[cmd.String("format")]
	countCtx, stopCounting := context.WithCancel(ctx)
	defer stopCounting()
	env.prog = newImportProgress(countCtx, files, env.began)
	err = linking(ctx, svc, log, func() error {
		for i, f := range files {
			env.prog.startFile(i, time.Now())
			if err := load(ctx, env, f); err != nil {
				return fmt.Errorf("import: %s: %w", f, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// References are checked once every file is in: a file's order (or the
	// files' order) cannot be relied on.
	dangling, err := env.im.Dangling(ctx, env.began)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if len(dangling) > 0 {
		if err := env.appendErrors(files[len(files)-1], dangling); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		env.rejected.Add(int64(len(dangling)))
	}
	c := env.total()
	elapsed := time.Since(env.began)
	log.Info("import done", slog.Int("files", len(files)), slog.Int64("resources", env.stored.Load()),
		slog.Int64("created", c.Created), slog.Int64("updated", c.Updated), slog.Int64("unchanged", c.Unchanged),
		slog.Int64("rejected", env.rejected.Load()), slog.Duration("elapsed", elapsed.Round(time.Millisecond)),
		slog.Float64("per_second", float64(env.stored.Load())/max(elapsed.Seconds(), 1e-9)))
	if n := env.rejected.Load(); n > 0 {
		return fmt.Errorf("import: %s rejected or referring to nothing; their OperationOutcomes are in %s", plural(n, "line"), env.errorsWhere(files))
	}
	return nil
}

func (env *importEnv) total() bulk.Counts {
	var t bulk.Counts
	for _, c := range env.counts {
		t.Created += c.Created
		t.Updated += c.Updated
		t.Unchanged += c.Unchanged
	}
	return t
}

func (env *importEnv) errorsWhere(files []string) string {
	if env.errPath != "" {
		return env.errPath
	}
	if len(files) == 1 {
		return errorsFileFor(files[0])
	}
	// Several inputs: name the error files this run wrote, so the user need
	// not guess which input had the rejects.
	var wrote []string
	for p := range env.wrote {
		wrote = append(wrote, p)
	}
	if len(wrote) == 0 {
		return "FILE.errors.ndjson beside each input"
	}
	sort.Strings(wrote)
	return strings.Join(wrote, ", ")
}

// errorsFileFor names the error file beside an input: a.ndjson.gz -> a.errors.ndjson.
func errorsFileFor(path string) string {
	p := strings.TrimSuffix(path, ".gz")
	p = strings.TrimSuffix(p, ".ndjson")
	return p + ".errors.ndjson"
}

func importNDJSONFile(ctx context.Context, env *importEnv, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	report := env.prog.reporter(env.stderr, env.log, isTerminal(env.stderr))
	defer report.stop()

	var errOut *os.File // opened at the first rejected line, so clean imports leave no file
	if env.errPath == "" {
		defer func() {
			if errOut != nil {
				errOut.Close()
			}
		}()
	}
	return env.im.Import(ctx, path, f, 0, func(b bulk.Batch) error {
		var lines int64
		for typ, c := range b.Counts {
			o := env.counts[typ]
			o.Created += c.Created
			o.Updated += c.Updated
			o.Unchanged += c.Unchanged
			env.counts[typ] = o
			env.stored.Add(c.Total())
			lines += c.Total()
		}
		if len(b.Errors) > 0 {
			if errOut == nil {
				var err error
				if errOut, err = env.errorFile(path); err != nil {
					return err
				}
			}
			for _, e := range b.Errors {
				if _, err := errOut.Write(append(e, '\n')); err != nil {
					return err
				}
			}
			env.rejected.Add(int64(len(b.Errors)))
		}
		env.prog.add(lines+int64(len(b.Errors)), int64(len(b.Errors)))
		report.update()
		return nil
	})
}

func (env *importEnv) errorFile(input string) (*os.File, error) {
	if env.errPath == "" {
		if env.wrote == nil {
			env.wrote = map[string]bool{}
		}
		env.wrote[errorsFileFor(input)] = true
		return os.Create(errorsFileFor(input))
	}
	if env.errOut == nil {
		f, err := os.Create(env.errPath)
		if err != nil {
			return nil, err
		}
		env.errOut = f
	}
	return env.errOut, nil
}

// appendErrors adds lines to the error file of input (or --errors),
// after what the input's own rejects wrote there.
func (env *importEnv) appendErrors(input string, lines [][]byte) error {
	f := env.errOut
	if f == nil {
		path := env.errPath
		if path == "" {
			path = errorsFileFor(input)
		}
		mode := os.O_TRUNC // a file left by an earlier run
		if env.wrote[path] {
			mode = os.O_APPEND
		}
		var err error
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|mode, 0o644); err != nil {
			return err
		}
		defer f.Close()
		if env.wrote == nil {
			env.wrote = map[string]bool{}
		}
		env.wrote[path] = true
	}
	for _, l := range lines {
		if _, err := f.Write(append(l, '\n')); err != nil {
			return err
		}
	}
	return nil
}
