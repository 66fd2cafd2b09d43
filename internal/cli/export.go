package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/store"
)

func exportCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "export",
		Usage:       "write NDJSON files of the database's resources, as $export does, straight from the database",
		Description: "Writes TYPE-N.ndjson files of stored bytes (deleted resources are left out) into --out.",
		Flags: append([]ucli.Flag{
			dbFlag(),
			&ucli.StringFlag{Name: "type", Usage: "comma-separated resource types (default: all served)"},
			&ucli.StringFlag{Name: "since", Usage: "only resources changed at or after this instant (2026-03-01T00:00:00+07:00)"},
			&ucli.BoolFlag{Name: "patient-compartment", Usage: "Patients and the resources in their compartments, as Patient/$export"},
			&ucli.StringFlag{Name: "out", Required: true, Usage: "directory to write the files into (created if missing)"},
			&ucli.IntFlag{Name: "per-file", Value: 100_000, Usage: "most resources in one file"},
		}, logFlags()...),
		Action: runExport,
	}
}

func runExport(ctx context.Context, cmd *ucli.Command) error {
	log := newLogger(cmd, cmd.Root().ErrWriter)
	spec := bulk.ExportSpec{Types: ResourceTypes, Patient: cmd.Bool("patient-compartment")}
	if t := cmd.String("type"); t != "" {
		spec.Types = nil
		for _, typ := range strings.Split(t, ",") {
			typ = strings.TrimSpace(typ)
			if !contains(ResourceTypes, typ) {
				return fmt.Errorf("export: --type %q is not a served type (%s)", typ, strings.Join(ResourceTypes, ", "))
			}
			spec.Types = append(spec.Types, typ)
		}
	}
	if s := cmd.String("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("export: --since %q is not an instant such as 2026-03-01T00:00:00+07:00", s)
		}
		spec.Since = t
	}
	out := cmd.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	db, _, err := backend.OpenMigrated(ctx, cmd.String("db"))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer db.Close()
	began := time.Now()
	perType := map[string]int{}
	var written int64
	ex := &bulk.Exporter{Store: db, PerFile: cmd.Int("per-file")}
	err = ex.Export(ctx, spec, bulk.ExportState{}, func(f store.File, st bulk.ExportState) error {
		perType[f.Type]++
		name := filepath.Join(out, f.Type+"-"+strconv.Itoa(perType[f.Type])+".ndjson")
		if err := writeFileAtomic(name, f.Content); err != nil {
			return err
		}
		written = st.Written
		log.Info("export file", slog.String("file", name), slog.String("type", f.Type), slog.Int64("count", f.Count))
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	log.Info("export done", slog.String("db", backend.Redact(cmd.String("db"))), slog.String("out", out), slog.Int64("resources", written), slog.Duration("elapsed", time.Since(began).Round(time.Millisecond)))
	return nil
}

// writeFileAtomic writes under a temporary name and renames, so an
// interrupted export never leaves a truncated file that looks complete.
func writeFileAtomic(name string, b []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
