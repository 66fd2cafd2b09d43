package benchidentity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/benchutil"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func skipUnlessBench(t *testing.T) {
	if os.Getenv("MEKONG_BENCH_IDENTITY") == "" {
		t.Skip("run with make bench-match (MEKONG_BENCH_IDENTITY=1)")
	}
}

// loadavg is the machine's load (1, 5, 15 min), printed beside each figure:
// the machine is shared.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

var registry = func() *search.Registry {
	r, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600))
	if err != nil {
		panic(err)
	}
	return r
}()

var parser = func() *resource.Parser {
	p, err := resource.NewParser()
	if err != nil {
		panic(err)
	}
	return p
}()

// loadPatients writes the generator's Patients (not their results: $match
// reads Patients and their keys only) with COPY from every core, indexed as
// a write indexes them: search rows plus the matcher's blocking keys. The
// generated data is valid R4 by construction, so validation is skipped as
// in bench-search. It returns a sample of the stored Patients.
func loadPatients(t *testing.T, db *sqlstore.DB, m *match.Matcher, n int) ([][]byte, time.Duration) {
	t.Helper()
	ctx := context.Background()
	type item struct {
		id   string
		body []byte
	}
	items := make(chan item, 4096)
	errc := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	at := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []postgres.NewResource
			flush := func() {
				if len(batch) > 0 {
					if err := postgres.CopyNew(ctx, db, batch); err != nil {
						errc <- err
					}
					batch = batch[:0]
				}
			}
			for it := range items {
				doc, err := search.Decode(it.body)
				if err == nil {
					var ix *search.Index
					if ix, err = registry.Extract("Patient", doc); err == nil {
						rec, _ := match.ParsePatient(it.id, it.body)
						for _, k := range m.Keys(rec) {
							ix.Tokens = append(ix.Tokens, search.TokenRow{Param: store.MatchKeyParam, Code: k})
						}
						batch = append(batch, postgres.NewResource{Type: "Patient", ID: it.id, LastUpdated: at, Content: it.body, Index: ix,
							Unqueued: true}) // the benchmark measures $match, not the linker
					}
				}
				if err != nil {
					errc <- err
				}
				if len(batch) == 2000 {
					flush()
				}
			}
			flush()
		}()
	}
	var sample [][]byte
	every, seen := max(1, n/3000), 0 // a sample spread over the whole run
	start := time.Now()
	err := seed.Generate(seed.Config{Patients: n, Seed: 42}, func(typ, id string, body []byte) error {
		if typ != "Patient" {
			return nil
		}
		cp := bytes.Clone(body)
		if seen%every == 0 {
			sample = append(sample, cp)
		}
		seen++
		items <- item{id: id, body: cp}
		return nil
	})
	close(items)
	wg.Wait()
	close(errc)
	if err != nil {
		t.Fatal(err)
	}
	for err := range errc {
		t.Fatal(err)
	}
	return sample, time.Since(start)
}

// probe kinds: what a clinic or an importing system sends to $match.
var probeKinds = []struct {
	name string
	make func(p map[string]any) map[string]any
}{
	// The record as another system holds it: every detail, its own id removed.
	{"full record", func(p map[string]any) map[string]any { return p }},
	// A clinic at the border: the name as the person says it and the birth date, no papers.
	{"name+birthDate", func(p map[string]any) map[string]any {
		return map[string]any{"resourceType": "Patient", "name": p["name"], "birthDate": p["birthDate"], "gender": p["gender"]}
	}},
	// An NGO list: capitals, family and given swapped, birth year only.
	{"swapped name+year", func(p map[string]any) map[string]any {
		var names []map[string]any
		for _, n := range p["name"].([]any) {
			n := n.(map[string]any)
			fam, _ := n["family"].(string)
			if fam == "" {
				continue
			}
			var given []any
			if g, ok := n["given"].([]any); ok && len(g) > 0 {
				given = []any{strings.ToUpper(fam)}
				fam = strings.ToUpper(fmt.Sprint(g[0]))
			}
			names = append(names, map[string]any{"family": fam, "given": given})
			break
		}
		bd, _ := p["birthDate"].(string)
		if len(bd) >= 4 {
			bd = bd[:4]
		}
		return map[string]any{"resourceType": "Patient", "name": names, "birthDate": bd}
	}},
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// TestMatchLatency is the $match half of `make bench-match`: 100,000
// generated patients (MEKONG_BENCH_PATIENTS) on PostgreSQL, three kinds of
// probes, one client then four; p50, p95 and p99 of the whole request
// through the HTTP handler (in-process).
func TestMatchLatency(t *testing.T) {
	skipUnlessBench(t)
	n := benchutil.EnvInt("MEKONG_BENCH_PATIENTS", 100000)
	perKind := benchutil.EnvInt("MEKONG_BENCH_PROBES", 300)
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.OpenPostgres(t)
	sample, took := loadPatients(t, db, m, n)
	t.Logf("loaded %d Patients with their blocking keys in %v (load %s)", n, took.Round(time.Second), loadavg())
	if _, err := db.Writer().ExecContext(context.Background(), "VACUUM ANALYZE"); err != nil {
		t.Fatal(err)
	}
	var keyRows int
	if err := db.Writer().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM search_token WHERE param = $1`, store.MatchKeyParam).Scan(&keyRows); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d blocking-key rows (%.1f per Patient)", keyRows, float64(keyRows)/float64(n))
	svc := rest.New(db, parser, registry)
	h := server.New(server.Config{BaseURL: "http://bench/fhir"}, svc, db, slog.New(slog.NewTextHandler(io.Discard, nil)))

	type probe struct {
		kind int
		body []byte
	}
	var probes []probe
	for k := range probeKinds {
		for i, j := 0, 0; i < perKind; j++ {
			var p map[string]any
			if err := json.Unmarshal(sample[(j*7+k)%len(sample)], &p); err != nil {
				t.Fatal(err)
			}
			if !hasFamilyName(p) {
				continue // the probes take family and given names apart (Myanmar names have no family name)
			}
			i++
			delete(p, "id")
			body, _ := json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []map[string]any{{"name": "resource", "resource": probeKinds[k].make(p)}}})
			probes = append(probes, probe{k, body})
		}
	}
	send := func(b []byte) (time.Duration, int, string) {
		req := httptest.NewRequest("POST", "http://bench/fhir/Patient/$match", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/fhir+json")
		rec := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(t0)
		if rec.Code != http.StatusOK {
			t.Errorf("$match: %d %.300s", rec.Code, rec.Body.Bytes())
		}
		var out struct {
			Entry []struct {
				Search struct {
					Mode      string                       `json:"mode"`
					Extension []struct{ ValueCode string } `json:"extension"`
				} `json:"search"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		best, n := "none", 0
		for _, e := range out.Entry {
			if e.Search.Mode != "match" {
				continue // a warning
			}
			if n == 0 {
				best = e.Search.Extension[0].ValueCode
			}
			n++
		}
		return d, n, best
	}
	// How much each probe costs the database and the matcher: its probe
	// keys and the candidates they bring.
	for k, pk := range probeKinds {
		keys, cands, skipped := 0, 0, 0
		cnt := 0
		for _, p := range probes {
			if p.kind != k || cnt == 50 {
				continue
			}
			cnt++
			var in struct {
				Parameter []struct {
					Resource json.RawMessage `json:"resource"`
				} `json:"parameter"`
			}
			_ = json.Unmarshal(p.body, &in)
			rec, _ := match.ParsePatient("", in.Parameter[0].Resource)
			pkeys := m.ProbeKeys(rec)
			c, err := db.MatchCandidates(context.Background(), store.CandidateQuery{Keys: pkeys, PerKey: 200, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			keys += len(pkeys)
			cands += len(c.Versions)
			skipped += c.Skipped
		}
		t.Logf("  %-18s %.1f probe keys, %.1f candidates, %.2f keys skipped as too common, per probe", pk.name,
			float64(keys)/float64(cnt), float64(cands)/float64(cnt), float64(skipped)/float64(cnt))
	}
	for i := 0; i < 50; i++ { // warm caches and the connection pool
		send(probes[i%len(probes)].body)
	}
	for _, conc := range []int{1, 4} {
		lat := make([]time.Duration, len(probes))
		returned := make([]int, len(probes))
		best := make([]string, len(probes))
		var next sync.Mutex
		idx := 0
		var wg sync.WaitGroup
		start := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					next.Lock()
					i := idx
					idx++
					next.Unlock()
					if i >= len(probes) {
						return
					}
					lat[i], returned[i], best[i] = send(probes[i].body)
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		t.Logf("$match over %d Patients, concurrency %d: %d requests in %v (%.0f/s), load %s", n, conc, len(probes), wall.Round(time.Millisecond),
			float64(len(probes))/wall.Seconds(), loadavg())
		for k, pk := range probeKinds {
			var ds []time.Duration
			grades := map[string]int{}
			sum := 0
			for i, p := range probes {
				if p.kind == k {
					ds = append(ds, lat[i])
					grades[best[i]]++
					sum += returned[i]
				}
			}
			t.Logf("  %-18s p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (%.1f matches/answer; best grade %v)", pk.name,
				ms(percentile(ds, 0.5)), ms(percentile(ds, 0.95)), ms(percentile(ds, 0.99)), ms(percentile(ds, 1)), float64(sum)/float64(len(ds)), grades)
		}
		t.Logf("  %-18s p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms  (target p95 ≤ 50 ms)", "all", ms(percentile(lat, 0.5)), ms(percentile(lat, 0.95)), ms(percentile(lat, 0.99)))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func hasFamilyName(p map[string]any) bool {
	names, _ := p["name"].([]any)
	for _, n := range names {
		if m, ok := n.(map[string]any); ok && m["family"] != nil && m["family"] != "" {
			return true
		}
	}
	return false
}
