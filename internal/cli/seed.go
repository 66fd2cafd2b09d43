package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/seed"
)

// seedProgressEvery is how often a running seed logs its progress.
var seedProgressEvery = 3 * time.Second

func seedCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "seed",
		Usage: "generate deterministic, realistic migrant records as NDJSON or into the database",
		Description: "Writes Patients with their Observations and Immunizations, grouped per patient, one resource per line.\n" +
			"With --to-db each resource is PUT with its fixed id into the database --db names (the same default\n" +
			"and MEKONG_DB as serve): a re-run with the same seed creates no new resources, only a new, identical\n" +
			"version of each. Only --to-db writes to a database, so MEKONG_DB in the environment cannot turn a\n" +
			"file export into a database write.",
		Flags: append([]ucli.Flag{
			&ucli.IntFlag{Name: "patients", Required: true, Usage: "number of patients (about 14 resources each)",
				Validator: func(n int) error {
					if n < 1 || n > seed.MaxPatients {
						return fmt.Errorf("--patients must be between 1 and %d", seed.MaxPatients)
					}
					return nil
				}},
			&ucli.Int64Flag{Name: "seed", Value: 1, Usage: "the same seed gives byte-identical records"},
			&ucli.StringFlag{Name: "out", Value: "-", Usage: "NDJSON file to write (gzip if it ends in .gz), - for standard output"},
			&ucli.BoolFlag{Name: "to-db", Usage: "PUT the records into the database --db names instead of writing NDJSON"},
			dbFlag(),
			&ucli.IntFlag{Name: "workers", Value: max(4, 2*runtime.GOMAXPROCS(0)), Usage: "concurrent writers with --to-db",
				Validator: func(n int) error {
					if n < 1 {
						return errors.New("--workers must be at least 1")
					}
					return nil
				}},
			// Same flag and variable as serve: the search index of what seed
			// writes must read date-only values in the zone the server uses.
			&ucli.StringFlag{Name: "timezone", Value: "+07:00", Sources: ucli.EnvVars("MEKONG_TIMEZONE"),
				Usage: "with --to-db: zone for dates without a timezone when indexing, as for serve"},
			&ucli.StringFlag{Name: "iom-system", Value: seed.DefaultIOMSystem, Sources: ucli.EnvVars("MEKONG_IOM_SYSTEM"),
				Usage: "Identifier.system of IOM case numbers"},
		}, logFlags()...),
		Action: runSeed,
	}
}

func runSeed(ctx context.Context, cmd *ucli.Command) error {
	log := newLogger(cmd, cmd.Root().ErrWriter)
	if cmd.Bool("to-db") && cmd.IsSet("out") {
		return errors.New("seed: give --out or --to-db, not both")
	}
	cfg := seed.Config{Patients: cmd.Int("patients"), Seed: cmd.Int64("seed"), IOMSystem: cmd.String("iom-system")}
	prog := &progress{log: log, total: cfg.Patients, began: time.Now()}
	stop := prog.every(seedProgressEvery)
	var err error
	dest := cmd.String("out")
	if cmd.Bool("to-db") {
		dest = backend.Redact(cmd.String("db"))
		loc, zerr := ParseZone(cmd.String("timezone"))
		if zerr != nil {
			return fmt.Errorf("seed: --timezone: %w", zerr)
		}
		err = seedDB(ctx, cmd.String("db"), cmd.Int("workers"), loc, cfg, prog)
	} else {
		err = seedFile(ctx, dest, cmd.Root().Writer, cfg, prog)
	}
	stop()
	if err != nil {
		return err
	}
	prog.report("seed done", slog.String("to", dest), slog.Int64("seed", cfg.Seed))
	return nil
}

// seedFile writes NDJSON. A new or regular file is written under a
// temporary name and renamed when complete, so an interrupted run never
// leaves a truncated file that looks finished. Anything else (a device such
// as /dev/null, a FIFO, a symlink) is written in place: renaming over it
// would replace it.
func seedFile(ctx context.Context, path string, stdout io.Writer, cfg seed.Config, prog *progress) (err error) {
	w := stdout
	var f *os.File
	var tmp string
	if path != "-" {
		fi, statErr := os.Lstat(path)
		switch {
		case statErr == nil && !fi.Mode().IsRegular():
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0) // devices and FIFOs ignore O_TRUNC
		case statErr == nil || errors.Is(statErr, fs.ErrNotExist):
			// Not os.CreateTemp: its 0600 would ignore the umask a plain file gets.
			tmp = filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid())+".tmp")
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		default:
			err = statErr
		}
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		defer func() {
			if err != nil {
				f.Close()
				if tmp != "" {
					os.Remove(tmp)
				}
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	out := io.Writer(bw)
	var gz *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		// Fastest level: the default one would take longer than generating;
		// repetitive FHIR JSON still shrinks about tenfold.
		gz, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		out = gz
	}
	err = seed.Generate(cfg, func(typ, id string, b []byte) error {
		if typ == "Patient" && ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := out.Write(b); err != nil {
			return fmt.Errorf("seed: write: %w", err)
		}
		if _, err := out.Write(newline); err != nil {
			return fmt.Errorf("seed: write: %w", err)
		}
		prog.add(typ)
		return nil
	})
	if err != nil {
		return err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("seed: write: %w", err)
	}
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if tmp == "" {
		return nil
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

var newline = []byte{'\n'}

type seedResource struct {
	typ, id string
	body    []byte
}

// seedDB PUTs every resource through the REST service, so it is validated
// and indexed like any client write. Each worker writes one patient's group
// at a time, Patient first, so a reference never lands before its target.
func seedDB(ctx context.Context, dbURL string, workers int, loc *time.Location, cfg seed.Config, prog *progress) error {
	db, _, err := backend.OpenMigrated(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer db.Close()
	parser, err := resource.NewParser()
	if err != nil {
		return err
	}
	reg, err := search.NewRegistry(ResourceTypes, loc)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	svc := rest.New(db, parser, reg)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	groups := make(chan []seedResource, workers*4)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for group := range groups {
				for _, r := range group {
					if ctx.Err() != nil {
						break // drain the queue so the generator is not blocked
					}
					if _, err := svc.Update(ctx, rest.Request{Type: r.typ, ID: r.id, Body: r.body}); err != nil {
						cancel(fmt.Errorf("seed: PUT %s/%s: %w", r.typ, r.id, err))
						break
					}
					prog.add(r.typ)
				}
			}
		})
	}

	var group []seedResource
	send := func() error {
		select {
		case groups <- group:
			group = nil
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	genErr := seed.Generate(cfg, func(typ, id string, b []byte) error {
		if typ == "Patient" && group != nil {
			if err := send(); err != nil {
				return err
			}
		}
		group = append(group, seedResource{typ, id, bytes.Clone(b)})
		return nil
	})
	if genErr == nil && group != nil {
		genErr = send()
	}
	close(groups)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return genErr
}

// progress counts resources written and logs the count and rate.
type progress struct {
	log       *slog.Logger
	total     int
	began     time.Time
	resources atomic.Int64
	patients  atomic.Int64
}

func (p *progress) add(typ string) {
	p.resources.Add(1)
	if typ == "Patient" {
		p.patients.Add(1)
	}
}

func (p *progress) report(msg string, attrs ...slog.Attr) {
	n, elapsed := p.resources.Load(), time.Since(p.began)
	attrs = append([]slog.Attr{
		slog.Int64("resources", n),
		slog.Int64("patients", p.patients.Load()),
		slog.Int("of_patients", p.total),
		slog.Int64("per_second", int64(float64(n)/max(elapsed.Seconds(), 1e-3))),
		slog.Duration("elapsed", elapsed.Round(time.Millisecond)),
	}, attrs...)
	p.log.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
}

// every logs progress at the interval until stop is called.
func (p *progress) every(d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.report("seed progress")
			case <-done:
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
