// Package benchaudit measures what auditing every access costs, over HTTP
// against a real `mekong serve` (issue 15's targets): wrk reads by id and
// searches with and without auditing, with 32 connections and with one,
// on durable PostgreSQL and SQLite, and writes one table of medians with
// the load average each was measured under. Run it with make bench-audit.
package benchaudit

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/postgres"
	"github.com/mekong-fhir/mekong/internal/store/sqlite"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Knobs (environment): MEKONG_BIN the mekong binary (make builds it),
// MEKONG_BENCH_AUDIT=1 to run, MEKONG_BENCH_STORES (postgres,sqlite),
// MEKONG_BENCH_SCENARIOS (a comma list of the names below; all by default),
// MEKONG_BENCH_DURATION per run (10s), MEKONG_BENCH_RUNS (3),
// MEKONG_BENCH_POOLS (PostgreSQL pool sizes to compare, e.g. 8,16,32),
// MEKONG_BENCH_PROFILE=dir to keep a CPU profile of each scenario's extra run.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

const (
	patients     = 400
	obsPerPerson = 25
)

// scenario is one wrk load.
type scenario struct {
	name        string
	connections int
	script      string // wrk Lua, with IDS replaced by the id table
	noAudit     bool
}

var scenarios = []scenario{
	{name: "read-32", connections: 32, script: readScript},
	{name: "read-32-unaudited", connections: 32, script: readScript, noAudit: true},
	{name: "read-1", connections: 1, script: readScript},
	{name: "search-32", connections: 32, script: searchScript},
	{name: "create-32", connections: 32, script: createScript},
}

const readScript = `
local ids = {IDS}
request = function()
  return wrk.format("GET", "/fhir/Observation/" .. ids[math.random(#ids)])
end
`

const searchScript = `
local ids = {IDS}
request = function()
  return wrk.format("GET", "/fhir/Observation?patient=Patient/" .. ids[math.random(#ids)] .. "&_count=20")
end
`

const createScript = `
local ids = {IDS}
request = function()
  local body = '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/' .. ids[math.random(#ids)] .. '"},"valueQuantity":{"value":61.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}'
  return wrk.format("POST", "/fhir/Observation", {["Content-Type"] = "application/fhir+json"}, body)
end
`

// result is one wrk run.
type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	load1    float64
	// gatewayCPU and dbCPU are the CPU time the gateway and the database
	// server (all postgres processes) spent per request.
	gatewayCPU, dbCPU time.Duration
}

// TestAuditBenchmark is make bench-audit.
func TestAuditBenchmark(t *testing.T) {
	if os.Getenv("MEKONG_BENCH_AUDIT") == "" {
		t.Skip("run with make bench-audit")
	}
	bin := os.Getenv("MEKONG_BIN")
	if bin == "" {
		t.Fatal("MEKONG_BIN must name the mekong binary (make bench-audit builds bin/mekong)")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk is needed: apt-get install wrk")
	}
	runs, _ := strconv.Atoi(env("MEKONG_BENCH_RUNS", "3"))
	dur := env("MEKONG_BENCH_DURATION", "10s")
	wanted := map[string]bool{}
	for _, s := range strings.Split(env("MEKONG_BENCH_SCENARIOS", ""), ",") {
		if s != "" {
			wanted[s] = true
		}
	}
	var report bytes.Buffer
	fmt.Fprintf(&report, "| store | scenario | pool | req/s, median of %d (runs) | p50 | p99 | errors | load avg (1 min) per run | CPU µs/request: gateway + PostgreSQL |\n|---|---|---|---|---|---|---|---|---|\n", runs)
	for _, st := range strings.Split(env("MEKONG_BENCH_STORES", "postgres,sqlite"), ",") {
		url, dataDir := database(t, st)
		obsIDs, patientIDs := load(t, url)
		fsync := fsyncLatency(t, dataDir)
		pgPID := postmaster(dataDir)
		t.Logf("%s: fsync (write 8 KiB + fdatasync) median %v in %s", st, fsync, dataDir)
		fmt.Fprintf(&report, "| %s | fsync of 8 KiB (median of 200) | | | %v | | | %.1f | |\n", st, fsync.Round(time.Microsecond), load1())
		pools := []string{""}
		if st == "postgres" {
			pools = strings.Split(env("MEKONG_BENCH_POOLS", ""), ",")
		}
		// Every configuration's runs are interleaved (run 1 of each, then
		// run 2 of each, ...), so a burst of load from elsewhere on a shared
		// machine falls on all of them instead of on one.
		type config struct {
			sc           scenario
			pool, script string
			serveURL     string
			bin          string
			rs           []result
		}
		var configs []*config
		// MEKONG_BIN_BEFORE, a binary built from before this change, runs
		// the scenarios it can (reads and creates: its search by patient
		// reads index rows the migration dropped) beside the current one.
		before := os.Getenv("MEKONG_BIN_BEFORE")
		for _, pool := range pools {
			for _, sc := range scenarios {
				if len(wanted) > 0 && !wanted[sc.name] {
					continue
				}
				ids := obsIDs
				if sc.script != readScript {
					ids = patientIDs
				}
				c := &config{sc: sc, pool: pool, script: writeScript(t, sc.script, ids), serveURL: url, bin: bin}
				if pool != "" {
					c.serveURL += sep(url) + "pool_max_conns=" + pool
				}
				configs = append(configs, c)
				if before != "" && !sc.noAudit && sc.script != searchScript {
					b := *c
					b.bin, b.sc.name = before, sc.name+" (before)"
					configs = append(configs, &b)
				}
			}
		}
		for i := 0; i < runs; i++ {
			for _, c := range configs {
				c.rs = append(c.rs, runOnce(t, c.bin, c.serveURL, pgPID, c.sc, c.script, dur, ""))
			}
		}
		for _, c := range configs {
			if dir := os.Getenv("MEKONG_BENCH_PROFILE"); dir != "" {
				prof := filepath.Join(dir, fmt.Sprintf("%s-%s%s.pprof", st, c.sc.name, c.pool))
				runOnce(t, c.bin, c.serveURL, pgPID, c.sc, c.script, dur, prof)
				t.Logf("CPU profile: go tool pprof -top %s %s", bin, prof)
			}
			m := median(c.rs)
			t.Logf("%s %s pool=%s: %.0f req/s p50 %v p99 %v (runs: %s); CPU per request: gateway %v, PostgreSQL %v",
				st, c.sc.name, c.pool, m.rps, m.p50, m.p99, runsOf(c.rs), m.gatewayCPU, m.dbCPU)
			fmt.Fprintf(&report, "| %s | %s | %s | %.0f (%s) | %v | %v | %d | %s | %.0f + %.0f |\n", st, c.sc.name, c.pool, m.rps, runsOf(c.rs),
				m.p50.Round(10*time.Microsecond), m.p99.Round(10*time.Microsecond), m.errors, loads(c.rs),
				float64(m.gatewayCPU)/1e3, float64(m.dbCPU)/1e3)
		}
	}
	t.Logf("\n%s", report.String())
	if out := os.Getenv("MEKONG_BENCH_REPORT"); out != "" {
		if err := os.WriteFile(out, report.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sep(url string) string {
	if strings.Contains(url, "?") {
		return "&"
	}
	return "?"
}

// database makes an empty, migrated database and returns its URL and the
// directory its writes are made durable in.
func database(t *testing.T, st string) (string, string) {
	ctx := context.Background()
	switch st {
	case "sqlite":
		dir := t.TempDir()
		path := filepath.Join(dir, "bench.db")
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return "sqlite:" + path, dir
	case "postgres":
		if os.Getenv("MEKONG_TEST_PG_DURABLE") == "" {
			t.Fatal("set MEKONG_TEST_PG_DURABLE=1: the benchmark measures durable commits")
		}
		url := pgtest.NewDatabase(t, "", nil)
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var dir string
		if err := db.Writer().QueryRowContext(ctx, "SHOW data_directory").Scan(&dir); err != nil {
			t.Fatal(err)
		}
		return url, dir
	}
	t.Fatalf("unknown store %q", st)
	return "", ""
}

// load imports the benchmark's Patients and their Observations.
func load(t *testing.T, url string) (obsIDs, patientIDs []string) {
	ctx := context.Background()
	var db *sqlstore.DB
	var err error
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		db, err = sqlite.Open(ctx, p)
	} else {
		db, err = postgres.Open(ctx, url)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	parser, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600))
	if err != nil {
		t.Fatal(err)
	}
	var nd bytes.Buffer
	for p := 0; p < patients; p++ {
		pid := fmt.Sprintf("bp-%d", p)
		patientIDs = append(patientIDs, pid)
		fmt.Fprintf(&nd, `{"resourceType":"Patient","id":"%s","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N%07d"}],"name":[{"family":"Sok","given":["Dara"]}],"gender":"male","birthDate":"1990-04-01"}`+"\n", pid, p)
		for o := 0; o < obsPerPerson; o++ {
			oid := fmt.Sprintf("bo-%d-%d", p, o)
			obsIDs = append(obsIDs, oid)
			fmt.Fprintf(&nd, `{"resourceType":"Observation","id":"%s","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA [Presence] by NAA"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-0%d-1%dT09:30:00+07:00","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009","display":"Negative"}]}}`+"\n",
				oid, pid, 1+o%9, o%10)
		}
	}
	im := &bulk.Importer{Svc: rest.New(db, parser, reg), Store: db}
	t0 := time.Now()
	err = im.Import(ctx, "bench.ndjson", &nd, 0, func(b bulk.Batch) error {
		if len(b.Errors) > 0 {
			return fmt.Errorf("rejected: %v", b.Errors[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "sqlite:") {
		if _, err := db.Writer().ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("loaded %d Patients and %d Observations in %v", len(patientIDs), len(obsIDs), time.Since(t0).Round(time.Millisecond))
	return obsIDs, patientIDs
}

func writeScript(t *testing.T, script string, ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = strconv.Quote(id)
	}
	path := filepath.Join(t.TempDir(), "bench.lua")
	if err := os.WriteFile(path, []byte(strings.Replace(script, "{IDS}", "{"+strings.Join(quoted, ",")+"}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runOnce starts a server, warms it up, runs wrk and stops the server.
func runOnce(t *testing.T, bin, dbURL string, pgPID int, sc scenario, script, dur, profile string) result {
	// A free port, then /healthz: with --log-level warn (no access log
	// line per request to pay for) the server says nothing when it starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"serve", "--addr", addr, "--auth", "none", "--db", dbURL, "--log-format", "json", "--log-level", "warn"}
	if sc.noAudit {
		args = append(args, "--bench-no-audit")
	}
	if profile != "" {
		args = append(args, "--cpu-profile", profile)
	}
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", logs.String())
		}
	}
	threads := "2"
	if sc.connections == 1 {
		threads = "1"
	}
	if out, err := exec.Command("wrk", "-t", threads, "-c", strconv.Itoa(sc.connections), "-d", "2s", "-s", script, base).CombinedOutput(); err != nil {
		t.Fatalf("wrk warm-up: %v\n%s", err, out)
	}
	l0 := load1()
	gw0, db0 := cpuOf(cmd.Process.Pid), cpuOf(pgPID)
	out, err := exec.Command("wrk", "-t", threads, "-c", strconv.Itoa(sc.connections), "-d", dur, "--latency", "-s", script, base).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk: %v\n%s", err, out)
	}
	r := parseWrk(t, string(out))
	r.load1 = (l0 + load1()) / 2
	if n := r.rps * parseDur(dur).Seconds(); n > 0 {
		r.gatewayCPU = time.Duration(float64(cpuOf(cmd.Process.Pid)-gw0) / n)
		r.dbCPU = time.Duration(float64(cpuOf(pgPID)-db0) / n)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return r
}

var (
	rpsRE     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctRE     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	non2xxRE  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	sockErrRE = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(t *testing.T, out string) result {
	var r result
	m := rpsRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("wrk output without Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range pctRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]
		d := time.Duration(v * float64(unit))
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := non2xxRE.FindStringSubmatch(out); m != nil {
		r.errors, _ = strconv.Atoi(m[1])
	}
	if m := sockErrRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	return r
}

func median(rs []result) result {
	s := append([]result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].rps < s[j].rps })
	return s[len(s)/2]
}

func runsOf(rs []result) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%.0f", r.rps))
	}
	return strings.Join(out, ", ")
}

func loads(rs []result) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%.1f", r.load1))
	}
	return strings.Join(out, ", ")
}

// load1 is the one-minute load average.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

// fsyncLatency is the median time to write 8 KiB and fdatasync it in dir:
// the floor of one durable commit on this disk.
func fsyncLatency(t *testing.T, dir string) time.Duration {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		t.Logf("fsync probe: %v", err)
		return 0
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 8192)
	rand.Read(buf)
	var ds []time.Duration
	for i := 0; i < 200; i++ {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*8192); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// cpuOf is the CPU time (user+system) process pid and its children have
// used: the gateway, or a PostgreSQL postmaster and its backends (other
// clusters on the machine, such as other tests', are not counted).
func cpuOf(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	// Fields after the ")" that ends the command name: ppid is the 2nd,
	// utime the 12th, stime the 13th.
	fields := func(stat string) []string {
		i := strings.LastIndexByte(stat, ')')
		if i < 0 {
			return nil
		}
		return strings.Fields(stat[i+1:])
	}
	const hz = 100 // USER_HZ on Linux
	var total int64
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		f := fields(string(b))
		root := d.Name() == strconv.Itoa(pid)
		if len(f) < 15 || (!root && f[1] != strconv.Itoa(pid)) {
			continue
		}
		for _, i := range []int{11, 12} {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			total += n
		}
		if root {
			// cutime and cstime: the children that have exited (a
			// backend per connection closed) keep counting.
			for _, i := range []int{13, 14} {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				total += n
			}
		}
	}
	return time.Duration(total) * time.Second / hz
}

// postmaster is the process id of the PostgreSQL server of dataDir (0 for SQLite).
func postmaster(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid
}

func parseDur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 10 * time.Second
	}
	return d
}
