package benchingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/benchutil"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/sqlite"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	parser   *resource.Parser
	registry *search.Registry
	runs     atomic.Int64 // makes each run's generated data distinct
)

// backends are the two stores with production durability: PostgreSQL with
// fsync on (make bench-ingest sets MEKONG_TEST_PG_DURABLE=1) and SQLite
// with synchronous=FULL, the default a deployment gets.
var backends = []struct {
	name string
	open func(b *testing.B) *sqlstore.DB
}{
	{"postgres", func(b *testing.B) *sqlstore.DB { return storetest.OpenPostgres(b) }},
	{"sqlite", openDurableSQLite},
}

func openDurableSQLite(b *testing.B) *sqlstore.DB {
	ctx := context.Background()
	db, err := sqlite.OpenWith(ctx, filepath.Join(b.TempDir(), "mekong.db"), sqlite.Options{Synchronous: "FULL"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func setup(b *testing.B) {
	if os.Getenv("MEKONG_BENCH_INGEST") != "1" {
		b.Skip("run with make bench-ingest (MEKONG_BENCH_INGEST=1)")
	}
	if parser == nil {
		var err error
		if parser, err = resource.NewParser(); err != nil {
			b.Fatal(err)
		}
		if registry, err = search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600)); err != nil {
			b.Fatal(err)
		}
	}
}

// handler serves requests in-process: the benchmark measures Mekong and its
// database, not the loopback.
func handler(db *sqlstore.DB) http.Handler {
	return server.New(server.Config{}, rest.New(db, parser, registry), db, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

func send(h http.Handler, method, path string, body []byte, want int) error {
	req := httptest.NewRequest(method, "http://bench/fhir"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		return fmt.Errorf("%s %s: %d %.500s", method, path, rec.Code, rec.Body.Bytes())
	}
	return nil
}

// report gives the throughput and the process's peak resident memory (the
// gateway's; PostgreSQL's server processes are not counted).
func report(b *testing.B, resources int, took time.Duration) {
	b.ReportMetric(float64(resources)/took.Seconds(), "resources/s")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB") // Maxrss is in KiB on Linux
	}
}

// BenchmarkTransactionBundles is scenario (b): 100-entry transaction
// Bundles (whole patients, urn:uuid references) from 8 concurrent clients;
// one op is one Bundle.
// https://hl7.org/fhir/R4/http.html#transaction
func BenchmarkTransactionBundles(b *testing.B) {
	setup(b)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			bundles, total := seedBundles(b, b.N, runs.Add(1))
			h := handler(be.open(b))
			b.ResetTimer()
			start := time.Now()
			benchutil.Clients(b, 8, len(bundles), func(i int) error { return send(h, "POST", "", bundles[i], http.StatusOK) })
			took := time.Since(start)
			b.StopTimer()
			report(b, total, took)
		})
	}
}

// BenchmarkSinglePosts is scenario (c): one create per request from 32
// concurrent clients; one op is one POST.
// https://hl7.org/fhir/R4/http.html#create
func BenchmarkSinglePosts(b *testing.B) {
	setup(b)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			posts := seedPosts(b, b.N, runs.Add(1))
			h := handler(be.open(b))
			b.ResetTimer()
			start := time.Now()
			benchutil.Clients(b, 32, len(posts), func(i int) error {
				return send(h, "POST", "/"+posts[i].typ, posts[i].body, http.StatusCreated)
			})
			took := time.Since(start)
			b.StopTimer()
			report(b, len(posts), took)
		})
	}
}

// BenchmarkSynthea is scenario (d): every Synthea Bundle (100 patients,
// 14,642 resources) as a transaction, from 8 concurrent clients; one op
// loads them all into a fresh database.
// https://hl7.org/fhir/R4/http.html#transaction
func BenchmarkSynthea(b *testing.B) {
	setup(b)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			bundles, total := syntheaBundles(b)
			var took time.Duration
			for range b.N {
				b.StopTimer()
				h := handler(be.open(b))
				b.StartTimer()
				start := time.Now()
				benchutil.Clients(b, 8, len(bundles), func(i int) error { return send(h, "POST", "", bundles[i], http.StatusOK) })
				took += time.Since(start)
			}
			report(b, total*b.N, took)
		})
	}
}
