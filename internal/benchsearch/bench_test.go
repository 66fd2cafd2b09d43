package benchsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/benchutil"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// query is one benchmarked search; path builds the i-th request so
// successive requests use different values.
type query struct {
	name string
	path func(i int) string
}

// TestSearchBenchmark is `make bench-search`.
func TestSearchBenchmark(t *testing.T) {
	if os.Getenv("MEKONG_BENCH_SEARCH") == "" {
		t.Skip("run with make bench-search")
	}
	patients := benchutil.EnvInt("MEKONG_BENCH_PATIENTS", 100000)
	zone := time.FixedZone("UTC+07:00", 7*3600)
	reg, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, zone)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.OpenPostgres(t)
	s, took, n := load(t, db, reg, seed.Config{Patients: patients, Seed: 42})
	t.Logf("loaded %d resources (%d patients) in %v: %.0f resources/s", n, patients, took.Round(time.Second), float64(n)/took.Seconds())
	if _, err := db.Writer().ExecContext(context.Background(), "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	h := handler(t, db, reg)
	common, commonN := s.codeWithCount(1 << 30)
	paging, pagingN := s.codeWithCount(12000)
	t.Logf("most common code %s (%d Observations); paging code %s (%d)", common, commonN, paging, pagingN)
	pick := func(xs []string, i int) string { return xs[i%len(xs)] }
	var vaccinePatients []string
	for ref := range s.vaccines {
		vaccinePatients = append(vaccinePatients, ref)
	}
	sort.Strings(vaccinePatients)
	queries := []query{
		{"Patient?identifier=system|value", func(i int) string {
			return "/Patient?identifier=" + url.QueryEscape(pick(s.identifiers, i))
		}},
		{"Patient?family=&birthdate=", func(i int) string {
			return "/Patient?family=" + url.QueryEscape(pick(s.families, i)) + "&birthdate=" + pick(s.birthDates, i)
		}},
		{"Observation?subject=Patient/x&code=", func(i int) string {
			return "/Observation?subject=Patient/" + pick(s.patientIDs, i) + "&code=http://loinc.org|" + common
		}},
		{"Observation?code=&date=ge...&_count=100", func(i int) string {
			return "/Observation?code=http://loinc.org|" + common + "&date=ge" + strconv.Itoa(2020+i%6) + "-01-01&_count=100"
		}},
		{"Observation?subject:Patient.identifier=", func(i int) string {
			return "/Observation?subject:Patient.identifier=" + url.QueryEscape(pick(s.identifiers, i))
		}},
		{"Immunization?patient=&vaccine-code=", func(i int) string {
			ref := pick(vaccinePatients, i)
			return "/Immunization?patient=" + ref + "&vaccine-code=" + url.QueryEscape(s.vaccines[ref][0])
		}},
		{"Observation?code=&_summary=count", func(i int) string {
			return "/Observation?code=http://loinc.org|" + common + "&_summary=count"
		}},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "Data: %d patients, %d resources, loaded in %v (%.0f resources/s, COPY from %d workers).\n\n",
		patients, n, took.Round(time.Second), float64(n)/took.Seconds(), runtime.GOMAXPROCS(0))
	report.WriteString("| query | concurrency | p50 ms | p95 ms | p99 ms | requests/s |\n|---|---|---|---|---|---|\n")
	for _, q := range queries {
		for _, c := range []int{1, 16} {
			total := 200
			if c > 1 {
				total = 800
			}
			lat, rate := run(t, h, q, c, total)
			fmt.Fprintf(&report, "| `%s` | %d | %.2f | %.2f | %.2f | %.0f |\n", q.name, c, ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), rate)
		}
	}
	first, deep, walked := pages(t, h, "/Observation?code=http://loinc.org|"+paging+"&_count=100", 100)
	fmt.Fprintf(&report, "\nPaging `Observation?code=%s&_count=100` (%d matches) through %d pages by next links: pages 1-10 p50 %.2f ms (p95 %.2f), pages 90-100 p50 %.2f ms (p95 %.2f).\n",
		paging, pagingN, walked, ms(pct(first, 50)), ms(pct(first, 95)), ms(pct(deep, 50)), ms(pct(deep, 95)))
	t.Log("\n" + report.String())

	// Plans: PostgreSQL on this data, SQLite on a smaller load of the same generator.
	var plans strings.Builder
	plans.WriteString("## PostgreSQL (" + strconv.Itoa(patients) + " patients)\n\n")
	for _, q := range queries {
		writePlan(t, &plans, db, reg, q.name, q.path(0))
	}
	writePlan(t, &plans, db, reg, "code and a selective date", queries[3].path(5))
	writePlan(t, &plans, db, reg, "deep page (page 50 of the paging query)", deepPageURL(t, h, "/Observation?code=http://loinc.org|"+paging+"&_count=100", 50))
	lite := storetest.OpenSQLite(t)
	loadSQLite(t, lite, reg, 500)
	plans.WriteString("\n## SQLite (500 patients)\n\n")
	for _, q := range queries {
		writePlan(t, &plans, lite, reg, q.name, q.path(0))
	}
	if os.Getenv("MEKONG_BENCH_DOCS") != "" {
		doc := "# Search performance and query plans\n\nWritten by `make bench-search` (internal/benchsearch) on " +
			time.Now().UTC().Format("2006-01-02") + ", a 2-core machine shared with other work: read medians, not single runs.\n\n" +
			report.String() + "\n# Query plans\n\nA page whose criteria include an exact token (`system|code`) or a `Type/id` reference is driven from that index in res_id order: other criteria are checked per row (token rows also carry their resource's date span, filtered inside the index), at most 5×(count+1)+500 index rows are read, and if the page has not filled by then the planner's set-based plan (shown as the fallback) runs. Other searches are `res_id IN (subquery on an index table)` per criterion. SQLite plans are for 500 patients.\n\n" + plans.String()
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "search-plans.md"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func handler(t *testing.T, db *sqlstore.DB, reg *search.Registry) http.Handler {
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	return server.New(server.Config{BaseURL: "http://bench/fhir"}, rest.New(db, p, reg), db, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func get(t *testing.T, h http.Handler, path string) (time.Duration, []byte) {
	req := httptest.NewRequest("GET", "http://bench/fhir"+path, nil)
	rec := httptest.NewRecorder()
	t0 := time.Now()
	h.ServeHTTP(rec, req)
	d := time.Since(t0)
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
	}
	return d, rec.Body.Bytes()
}

func run(t *testing.T, h http.Handler, q query, conc, total int) ([]time.Duration, float64) {
	for i := 0; i < 20; i++ { // warm caches
		get(t, h, q.path(i))
	}
	lat := make([]time.Duration, total)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= total {
					return
				}
				lat[k], _ = get(t, h, q.path(k+1000))
			}
		}()
	}
	wg.Wait()
	return lat, float64(total) / time.Since(start).Seconds()
}

// pages follows next links; it returns the latencies of pages 1-10 and
// 90-100, and how many pages it walked.
func pages(t *testing.T, h http.Handler, path string, n int) (first, deep []time.Duration, walked int) {
	for k := 0; k < n && path != ""; k++ {
		walked++
		d, body := get(t, h, path)
		if k < 10 {
			first = append(first, d)
		}
		if k >= 89 {
			deep = append(deep, d)
		}
		path = nextLink(body)
	}
	return first, deep, walked
}

func nextLink(body []byte) string {
	var b struct {
		Link []struct{ Relation, URL string }
	}
	json.Unmarshal(body, &b)
	for _, l := range b.Link {
		if l.Relation == "next" {
			return strings.TrimPrefix(l.URL, "http://bench/fhir")
		}
	}
	return ""
}

func deepPageURL(t *testing.T, h http.Handler, path string, page int) string {
	for k := 1; k < page; k++ {
		_, body := get(t, h, path)
		path = nextLink(body)
	}
	return path
}

func writePlan(t *testing.T, w *strings.Builder, db *sqlstore.DB, reg *search.Registry, name, path string) {
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	typ := strings.Trim(u.Path, "/")
	q, err := reg.Parse([]string{typ}, u.Query(), search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.Explain(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	fmt.Fprintf(w, "### %s\n\n`%s`\n\n```\n%s```\n\n", name, path, plan)
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
