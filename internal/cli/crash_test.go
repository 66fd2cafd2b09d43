package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// TestMain runs `mekong` itself when a test starts this binary as a child
// server (MEKONG_TEST_CHILD_ARGS), so a test can kill a real server with
// SIGKILL; otherwise it runs the tests with a throwaway PostgreSQL.
func TestMain(m *testing.M) {
	if args := os.Getenv("MEKONG_TEST_CHILD_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		err := Run(ctx, append([]string{"mekong"}, argv...))
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "mekong:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	pgtest.Main(m)
}

// child is a `mekong serve` in its own process.
type child struct {
	cmd  *exec.Cmd
	base string
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	argv, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0", "--auth", "none", "--log-format", "json"}, args...))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "MEKONG_TEST_CHILD_ARGS="+string(argv))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			var rec struct{ Msg, URL string }
			if !sent && json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "mekong serving" {
				urls <- rec.URL
				sent = true
			}
		}
		if !sent {
			close(urls)
		}
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatal("the child server exited before serving")
		}
		return &child{cmd: cmd, base: u}
	case <-time.After(60 * time.Second):
		t.Fatal("the child server did not start")
	}
	return nil
}

// Durability under crash (issue 15): a load of reads, searches and writes
// records the request id of every 2xx it receives; the server is killed
// with SIGKILL mid-run and started again; every one of those ids is in the
// audit log, whose chains still verify. The audit record is committed
// before the response leaves, so no acknowledged access can be lost.
// MEKONG_CRASH_LOAD (default 1.5s) lengthens the load before the kill.
func TestCrashLosesNoAcknowledgedAudit(t *testing.T) {
	load := 1500 * time.Millisecond
	if v := os.Getenv("MEKONG_CRASH_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		load = d
	}
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func(t *testing.T) string { return pgtest.NewDatabase(t, "mekong_crash", storetest.MigratePostgres) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			crashRun(t, stores[name](t), load)
		})
	}
}

func crashRun(t *testing.T, dbURL string, load time.Duration) {
	ctx := context.Background()
	srv := startChild(t, "--db", dbURL)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	do := func(method, path, body, reqID string) (int, error) {
		req, _ := http.NewRequest(method, srv.base+path, strings.NewReader(body))
		req.Header.Set("X-Request-ID", reqID)
		if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	if st, err := do("PUT", "/Patient/crash", `{"resourceType":"Patient","id":"crash"}`, "seed"); err != nil || st != 201 {
		t.Fatalf("seed: %d %v", st, err)
	}
	obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/crash"}}`

	var (
		mu    sync.Mutex
		acked []string
		dead  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; !dead.Load(); n++ {
				id := fmt.Sprintf("crash-%d-%d", w, n)
				var st int
				var err error
				switch n % 4 {
				case 0, 1:
					st, err = do("GET", "/Patient/crash", "", id)
				case 2:
					st, err = do("GET", "/Observation?subject=Patient/crash&_count=5", "", id)
				default:
					st, err = do("POST", "/Observation", obs, id)
				}
				if err != nil {
					return // the server is gone
				}
				if st >= 200 && st < 300 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(load)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	dead.Store(true)
	_ = srv.cmd.Wait()
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d acknowledged requests before the kill: the load did not run", len(acked))
	}

	// Started again, the server serves the log; every acknowledged id is in it.
	srv = startChild(t, "--db", dbURL)
	if st, err := do("GET", "/AuditEvent?entity:identifier="+acked[len(acked)-1], "", "after"); err != nil || st != 200 {
		t.Fatalf("after restart: %d %v", st, err)
	}
	db, err := backend.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Writer().QueryContext(ctx, `SELECT DISTINCT request_id FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		logged[id] = true
	}
	rows.Close()
	var missing []string
	for _, id := range acked {
		if !logged[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged requests have no audit record after the crash, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
	v, err := db.VerifyAudit(ctx)
	if err != nil || len(v.Broken) > 0 {
		t.Fatalf("chains after the crash: %v %v", v, err)
	}
	t.Logf("%d acknowledged requests before SIGKILL, all in the log (%d rows, %d chains, all verified)", len(acked), v.Rows, v.Chains)
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
}
