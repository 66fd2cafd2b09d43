package bulk_test

// Import throughput of the bulk engine
// (https://hl7.org/fhir/uv/bulkdata/export.html NDJSON), on both stores.
// Run with MEKONG_BENCH_INGEST=1 (and MEKONG_BENCH_IMPORT_N, default
// 100000): go test ./internal/bulk -run '^$' -bench BenchmarkImport/postgres -benchtime 1x
// The input is generated into a temporary file and read from it, as
// `mekong import` reads its files, so the reported peak RSS is the
// importer's and not the input's; run one store per process for it.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func BenchmarkImport(b *testing.B) {
	if os.Getenv("MEKONG_BENCH_INGEST") != "1" {
		b.Skip("set MEKONG_BENCH_INGEST=1 to run the import benchmark")
	}
	n := 100_000
	if s := os.Getenv("MEKONG_BENCH_IMPORT_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("MEKONG_BENCH_IMPORT_N=%q is not a positive number", s)
		}
		n = v
	}
	input := filepath.Join(b.TempDir(), "bench.ndjson")
	f, err := os.Create(input)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := generateTo(w, n); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				db := be.Open(b)
				im := &bulk.Importer{Svc: rest.New(db, parser, registry), Store: db}
				b.StartTimer()
				in, err := os.Open(input)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				var stored int64
				err = im.Import(context.Background(), "bench.ndjson", in, 0, func(bt bulk.Batch) error {
					for _, c := range bt.Counts {
						stored += c.Created
					}
					if len(bt.Errors) > 0 {
						b.Fatalf("generated data rejected: %s", bt.Errors[0])
					}
					return nil
				})
				total += time.Since(t0)
				in.Close()
				if err != nil {
					b.Fatal(err)
				}
				if stored != int64(n) {
					b.Fatalf("created %d resources, want %d", stored, n)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "resources/s")
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB") // KiB on Linux; the whole process
			}
		})
	}
}

// generateTo writes n resources of seeded migrant data as NDJSON to w.
func generateTo(w io.Writer, n int) error {
	count := 0
	stop := bytes.ErrTooLarge // any sentinel: Generate returns the emit error
	err := seed.Generate(seed.Config{Patients: n/10 + 1, Seed: 1}, func(_, _ string, js []byte) error {
		if count == n {
			return stop
		}
		if _, err := w.Write(js); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return err
		}
		count++
		return nil
	})
	if err != nil && err != stop {
		return err
	}
	if count != n {
		return fmt.Errorf("generated %d resources, want %d", count, n)
	}
	return nil
}
