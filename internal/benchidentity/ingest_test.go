package benchidentity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/benchutil"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/seed"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// The ingest half of `make bench-match`: the same data written with
// identity linking on and off, on fresh durable PostgreSQL databases
// (MEKONG_TEST_PG_DURABLE=1), in alternating runs, medians reported.
//
//   - on: blocking keys written with every Patient, every Patient write
//     queued, the linker running beside the writers (RunLinker, as serve
//     runs it); the clock stops when the last write is answered AND the
//     queue is empty, so the linking is paid in full.
//   - off: the store before identity: no keys, no queue, no linker.
//
// A quarter of the generated migrants are seen twice (a second record from
// another system with the same name, sex and birth date but its own
// number), so the linker links and queues for review as it would at the
// border, not only looks.

var errEnough = errors.New("enough")

// migrants returns about n resources of generated migrants as whole
// persons (a Patient and its results), a quarter of them followed later by
// a second record of the same person.
func migrants(t *testing.T, n int, seedNo int64) [][][]byte {
	t.Helper()
	var persons [][][]byte // each: Patient first, then its results
	var dupes [][][]byte
	count, k := 0, 0
	err := seed.Generate(seed.Config{Patients: seed.MaxPatients, Seed: seedNo}, func(typ, id string, body []byte) error {
		if typ == "Patient" {
			if count >= n {
				return errEnough
			}
			persons = append(persons, nil)
			if k%4 == 0 {
				dupes = append(dupes, [][]byte{secondRecord(t, body, k)})
			}
			k++
		}
		count++
		persons[len(persons)-1] = append(persons[len(persons)-1], bytes.Clone(body))
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	// The second records arrive later, spread over the second half.
	out := make([][][]byte, 0, len(persons)+len(dupes))
	half := len(persons) / 2
	out = append(out, persons[:half]...)
	for i, p := range persons[half:] {
		out = append(out, p)
		if i < len(dupes) {
			out = append(out, dupes[i])
		}
	}
	return out
}

// secondRecord is the same person as another system holds them: the names,
// sex and birth date, a hospital number instead of the passport.
func secondRecord(t *testing.T, patient []byte, k int) []byte {
	var p map[string]any
	if err := json.Unmarshal(patient, &p); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"resourceType": "Patient", "id": fmt.Sprintf("hn-%d", k), "name": p["name"], "gender": p["gender"],
		"birthDate":  p["birthDate"],
		"identifier": []any{map[string]any{"system": "https://terms.sil-th.org/id/hn/10742", "value": fmt.Sprintf("HN%07d", k)}}}
	b, _ := json.Marshal(out)
	return b
}

// bundles packs whole persons into transaction Bundles of at most 100
// entries, each person's records referring to it by urn:uuid.
func bundles(t *testing.T, persons [][][]byte) ([][]byte, int) {
	t.Helper()
	type entry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	}
	var out [][]byte
	var cur []entry
	total := 0
	closeBundle := func() {
		b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": cur})
		out = append(out, b)
		total += len(cur)
		cur = nil
	}
	for _, person := range persons {
		if len(cur)+len(person) > 100 {
			closeBundle()
		}
		var head struct{ ResourceType, ID string }
		_ = json.Unmarshal(person[0], &head)
		urn := "urn:uuid:" + uuidOf(head.ID)
		for _, r := range person {
			var h struct{ ResourceType, ID string }
			_ = json.Unmarshal(r, &h)
			body := bytes.Replace(r, []byte(`"id":"`+h.ID+`",`), nil, 1)
			body = bytes.ReplaceAll(body, []byte(`"reference":"Patient/`+head.ID+`"`), []byte(`"reference":"`+urn+`"`))
			e := entry{FullURL: "urn:uuid:" + uuidOf(h.ID), Resource: body}
			e.Request.Method, e.Request.URL = "POST", h.ResourceType
			cur = append(cur, e)
		}
	}
	if len(cur) > 0 {
		closeBundle()
	}
	return out, total
}

// uuidOf makes a stable uuid-shaped string of an id (urn:uuid fullUrls).
func uuidOf(id string) string {
	var h [16]byte
	for i := range len(id) {
		h[i%16] = h[i%16]*31 + id[i]
	}
	h[15] ^= byte(len(id))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

type mode struct {
	name string
	on   bool
}

var modes = []mode{{"off", false}, {"on", true}}

// service opens a fresh durable PostgreSQL with identity on or off.
func service(t *testing.T, on bool) (*sqlstore.DB, *rest.Service) {
	db := storetest.OpenPostgres(t)
	db.SetIdentityQueue(on)
	svc := rest.New(db, parser, registry)
	if !on {
		svc.SetIdentity(nil, rest.IdentityOptions{})
	}
	return db, svc
}

// linkerDone waits until the identity queue is empty.
func linkerDone(t *testing.T, svc *rest.Service) {
	for {
		n, err := svc.LinkBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIngestThroughput: transaction Bundles from 8 clients, then a bulk
// import, each with identity on and off (MEKONG_BENCH_INGEST_N resources,
// default 20,000, MEKONG_BENCH_RUNS runs of each mode, default 3).
func TestIngestThroughput(t *testing.T) {
	skipUnlessBench(t)
	n := benchutil.EnvInt("MEKONG_BENCH_INGEST_N", 20000)
	runs := benchutil.EnvInt("MEKONG_BENCH_RUNS", 3)
	persons := migrants(t, n, 7)
	bs, total := bundles(t, persons)
	var lines [][]byte
	for _, p := range persons {
		lines = append(lines, p...)
	}
	t.Logf("%d resources (%d records of persons, a quarter of them seen twice) in %d Bundles", total, len(persons), len(bs))

	results := map[string]map[string][]float64{"bundles": {}, "import": {}}
	// CPU seconds (this process and the PostgreSQL server) per 1,000
	// resources: a measure the other loads of a shared machine disturb far
	// less than the wall clock.
	cpu := map[string]map[string][]float64{"bundles": {}, "import": {}}
	for run := range runs {
		for _, m := range modes {
			// Bundles through the HTTP handler, 8 clients.
			db, svc := service(t, m.on)
			h := server.New(server.Config{}, svc, db, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			ctx, cancel := context.WithCancel(context.Background())
			var linker sync.WaitGroup
			if m.on {
				linker.Add(1)
				go func() { defer linker.Done(); svc.RunLinker(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil))) }()
			}
			c0 := cpuSeconds(t, db)
			start := time.Now()
			benchutil.Clients(t, 8, len(bs), func(i int) error { return post(h, bs[i]) })
			if m.on {
				linkerDone(t, svc)
			}
			took := time.Since(start)
			used := cpuSeconds(t, db) - c0
			cancel()
			linker.Wait()
			rate := float64(total) / took.Seconds()
			results["bundles"][m.name] = append(results["bundles"][m.name], rate)
			cpu["bundles"][m.name] = append(cpu["bundles"][m.name], 1000*used/float64(total))
			t.Logf("run %d bundles  identity %-3s %7.0f resources/s (%v; %.2f CPU-s per 1000 resources; load %s)", run+1, m.name, rate,
				took.Round(time.Millisecond), 1000*used/float64(total), loadavg())
			if m.on && run == 0 {
				t.Logf("  linked: %s", linkReport(t, db))
			}
			db.Close()

			// The same resources as a bulk import, linked as `mekong
			// import` links them: the linker beside the import, then the
			// rest of the queue before the command ends.
			db, svc = service(t, m.on)
			im := &bulk.Importer{Svc: svc, Store: db}
			c0 = cpuSeconds(t, db)
			start = time.Now()
			ctx, cancel = context.WithCancel(context.Background())
			if m.on {
				linker.Add(1)
				go func() { defer linker.Done(); svc.RunLinker(ctx, slog.New(slog.NewJSONHandler(io.Discard, nil))) }()
			}
			var stored atomic.Int64
			err := im.Import(context.Background(), "bench.ndjson", bytes.NewReader(bytes.Join(lines, []byte("\n"))), 0, func(b bulk.Batch) error {
				for _, c := range b.Counts {
					stored.Add(c.Created)
				}
				if len(b.Errors) > 0 {
					return fmt.Errorf("generated data rejected: %s", b.Errors[0])
				}
				return nil
			})
			cancel()
			linker.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if m.on {
				if _, err := svc.DrainLinks(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			took = time.Since(start)
			used = cpuSeconds(t, db) - c0
			rate = float64(stored.Load()) / took.Seconds()
			results["import"][m.name] = append(results["import"][m.name], rate)
			cpu["import"][m.name] = append(cpu["import"][m.name], 1000*used/float64(stored.Load()))
			t.Logf("run %d import   identity %-3s %7.0f resources/s (%v; %.2f CPU-s per 1000 resources; load %s)", run+1, m.name, rate,
				took.Round(time.Millisecond), 1000*used/float64(stored.Load()), loadavg())
			db.Close()
		}
	}
	for _, scenario := range []string{"bundles", "import"} {
		off, on := median(results[scenario]["off"]), median(results[scenario]["on"])
		coff, con := median(cpu[scenario]["off"]), median(cpu[scenario]["on"])
		t.Logf("%-8s median off %7.0f resources/s, on %7.0f resources/s: on keeps %.0f%% (target ≥ 70%%); CPU per 1000 resources "+
			"off %.2f s, on %.2f s: on keeps %.0f%% of the CPU-bound throughput", scenario, off, on, 100*on/off, coff, con, 100*coff/con)
	}
}

// linkReport counts the linked pairs and the pairs waiting for review.
func linkReport(t *testing.T, db *sqlstore.DB) string {
	var linked, review int
	if err := db.Writer().QueryRowContext(context.Background(),
		`SELECT COUNT(*) FILTER (WHERE state = 'linked'), COUNT(*) FILTER (WHERE state = 'review') FROM identity_pairs`).Scan(&linked, &review); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d pairs linked, %d waiting for review", linked, review)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func post(h http.Handler, body []byte) error {
	req := httptest.NewRequest("POST", "http://bench/fhir", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("transaction: %d %.500s", rec.Code, rec.Body.Bytes())
	}
	return nil
}

// cpuSeconds is the CPU time used so far by this process and by the
// PostgreSQL server of db (its postmaster and the backends alive now).
func cpuSeconds(t *testing.T, db *sqlstore.DB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	var dir string
	if err := db.Writer().QueryRowContext(context.Background(), "SHOW data_directory").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return total // another user's cluster (MEKONG_TEST_DATABASE_URL): this process only
	}
	postmaster := strings.SplitN(string(b), "\n", 2)[0]
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		st, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15), counted after the comm.
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		pid := strings.TrimSuffix(strings.TrimPrefix(p, "/proc/"), "/stat")
		if len(f) < 13 || (pid != postmaster && f[1] != postmaster) {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		sy, _ := strconv.ParseFloat(f[12], 64)
		total += (ut + sy) / 100 // clock ticks (USER_HZ = 100 on Linux)
	}
	return total
}
