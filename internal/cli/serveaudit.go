package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// auditFlags are serve's audit log and benchmarking flags.
func auditFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.DurationFlag{Name: "audit-heads-every", Value: 10 * time.Minute, Sources: ucli.EnvVars("MEKONG_AUDIT_HEADS_EVERY"),
			Usage: "how often to log the audit log's chain heads (\"audit chain heads\"), which `mekong audit verify --heads` is compared with"},
		// Benchmarks only (make bench-audit): what auditing costs is
		// measured against the same server without it. Hidden, and loud.
		&ucli.BoolFlag{Name: "bench-no-audit", Hidden: true, Usage: "do not audit reads and searches (benchmarks only)"},
		&ucli.StringFlag{Name: "cpu-profile", Hidden: true, Usage: "write a CPU profile of the whole run to this file (benchmarks)"},
	}
}

// logAuditHeads logs the heads of this process's audit chains every
// interval and once more when ctx ends: kept apart from the database (log
// shipping), they show a chain's tail cut off or rewritten with fresh
// hashes, which the chain alone cannot.
func logAuditHeads(ctx context.Context, log *slog.Logger, db *sqlstore.DB, every time.Duration) {
	emit := func() {
		for _, h := range db.AuditHeads() {
			log.Info("audit chain heads", slog.String("chain", strconv.FormatUint(uint64(h.Chain), 36)),
				slog.Int64("row", h.Seq), slog.String("hash", fmt.Sprintf("%x", h.Hash)))
		}
	}
	if every <= 0 {
		<-ctx.Done()
		emit()
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			emit()
			return
		case <-t.C:
			emit()
		}
	}
}

// startCPUProfile starts a CPU profile into path ("" none); the returned
// function stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
