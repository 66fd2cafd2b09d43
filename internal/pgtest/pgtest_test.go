package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	// Lets TestSkipWithoutBinaries re-run this binary with a bogus search path.
	if g := os.Getenv("PGTEST_SEARCH_GLOBS"); g != "" {
		searchGlobs = filepath.SplitList(g)
	}
	Main(m)
}

func prepareItems(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'seed')`)
	return err
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func names(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	rows, _ := conn.Query(context.Background(), "SELECT name FROM items ORDER BY id")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ",")
}

func TestClonesAreIsolated(t *testing.T) {
	began := time.Now()
	a := connect(t, NewDatabase(t, "items", prepareItems))
	t.Logf("first NewDatabase (cluster start %v + template + clone): %v", theCluster.startTook, time.Since(began))
	began = time.Now()
	urlB := NewDatabase(t, "items", prepareItems)
	t.Logf("second NewDatabase (clone only): %v", time.Since(began))
	b := connect(t, urlB)

	if got := names(t, a); got != "seed" {
		t.Errorf("a: got %q, want seed", got)
	}
	if got := names(t, b); got != "seed" {
		t.Errorf("b: got %q, want seed", got)
	}
	if _, err := a.Exec(context.Background(), "INSERT INTO items VALUES (2, 'only-a')"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, a); got != "seed,only-a" {
		t.Errorf("a after insert: got %q", got)
	}
	if got := names(t, b); got != "seed" {
		t.Errorf("b sees a's write: got %q", got)
	}
}

func TestParallel(t *testing.T) {
	prepared := 0
	prepare := func(ctx context.Context, url string) error {
		prepared++ // safe: prepare runs under the template's lock
		return prepareItems(ctx, url)
	}
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				conn := connect(t, NewDatabase(t, "parallel", prepare))
				if _, err := conn.Exec(context.Background(), "INSERT INTO items VALUES ($1, 'x')", i+10); err != nil {
					t.Fatal(err)
				}
				if got := names(t, conn); got != "seed,x" {
					t.Errorf("got %q", got)
				}
			})
		}
	})
	if prepared != 1 {
		t.Errorf("prepare ran %d times, want 1", prepared)
	}
}

func TestLeakedPrepareConnection(t *testing.T) {
	var leaked *pgx.Conn
	url := NewDatabase(t, "leaky", func(ctx context.Context, url string) error {
		var err error
		leaked, err = pgx.Connect(ctx, url) // deliberately never closed
		return err
	})
	_ = leaked
	connect(t, url)
	connect(t, NewDatabase(t, "leaky", nil))
}

func TestPrepareFailureIsSticky(t *testing.T) {
	calls := 0
	prepare := func(context.Context, string) error { calls++; return errors.New("boom") }
	for range 2 {
		c := theClusterForTest(t)
		if _, err := c.clone(context.Background(), t, "failing", prepare); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("clone: got %v, want boom", err)
		}
	}
	if calls != 1 {
		t.Errorf("prepare ran %d times, want 1", calls)
	}
}

// theClusterForTest makes sure the cluster is started.
func theClusterForTest(t *testing.T) *cluster {
	NewDatabase(t, "empty", nil)
	return theCluster
}

func TestUnavailableDecision(t *testing.T) {
	if skip, msg := unavailable(errNoPostgres, ""); !skip || !strings.Contains(msg, "SKIPPED") || !strings.Contains(msg, envURL) {
		t.Errorf("no binaries, not CI: skip=%v msg=%q", skip, msg)
	}
	if skip, msg := unavailable(errNoPostgres, "true"); skip || !strings.Contains(msg, "SKIPPED") {
		t.Errorf("no binaries, CI: skip=%v msg=%q", skip, msg)
	}
	if skip, _ := unavailable(errors.New("initdb failed"), ""); skip {
		t.Error("a broken installation must fail, not skip")
	}
	if _, err := findBinaries("", []string{"/nonexistent/*/bin"}); !errors.Is(err, errNoPostgres) {
		t.Errorf("findBinaries: %v", err)
	}
	dir := t.TempDir()
	for _, v := range []string{"9.6", "10", "16"} {
		d := filepath.Join(dir, v, "bin")
		os.MkdirAll(d, 0o755)
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if v != "16" || b != "postgres" { // 16 is incomplete and must be ignored
				os.WriteFile(filepath.Join(d, b), nil, 0o755)
			}
		}
	}
	if got, err := findBinaries("", []string{filepath.Join(dir, "*", "bin")}); err != nil || got != filepath.Join(dir, "10", "bin") {
		t.Errorf("findBinaries: got %q, %v; want the 10 dir", got, err)
	}
}

// helper returns a command re-running this test binary's TestHelper with
// the given extra environment (later entries win).
func helper(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelper$", "-test.v")
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, envURL+"=") && !strings.HasPrefix(e, "CI=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(append(cmd.Env, "PGTEST_HELPER=1"), env...)
	return cmd
}

func output(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// noPostgres hides the PostgreSQL binaries from a helper.
var noPostgres = []string{"PATH=/usr/bin:/bin", "PGTEST_SEARCH_GLOBS=/nonexistent/*/bin"}

func TestHelper(t *testing.T) {
	if os.Getenv("PGTEST_HELPER") != "1" {
		t.Skip("only run as a subprocess")
	}
	connect(t, NewDatabase(t, "helper", prepareItems))
	if os.Getenv("PGTEST_HELPER_HANG") == "1" {
		fmt.Printf("DIR %s\n", theCluster.dir)
		time.Sleep(time.Minute)
	}
}

func TestSkipWithoutBinaries(t *testing.T) {
	if _, err := findBinaries("/usr/bin:/bin", nil); err == nil {
		t.Skip("PostgreSQL is in /usr/bin; cannot simulate its absence")
	}
	out, err := output(helper(noPostgres...))
	if err != nil || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "PostgreSQL tests were SKIPPED") {
		t.Errorf("without CI: err=%v, want a skip; output:\n%s", err, out)
	}
	out, err = output(helper(append(noPostgres, "CI=true")...))
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "PostgreSQL tests were SKIPPED") {
		t.Errorf("with CI=true: err=%v, want a failure; output:\n%s", err, out)
	}
}

func TestBrokenInstallFails(t *testing.T) {
	dir, err := os.MkdirTemp("", "mkpgfake")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "99", "bin")
	os.MkdirAll(bin, 0o755)
	os.Chmod(dir, 0o755) // the postgres user must reach the scripts when we are root
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		os.WriteFile(filepath.Join(bin, b), []byte("#!/bin/sh\necho fake $0 broken; exit 1\n"), 0o755)
	}
	out, err := output(helper(noPostgres[0], "PGTEST_SEARCH_GLOBS="+filepath.Join(dir, "*", "bin")))
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "fake "+filepath.Join(bin, "initdb")+" broken") {
		t.Errorf("err=%v, want a failure quoting initdb's output; output:\n%s", err, out)
	}
}

func TestExternalURL(t *testing.T) {
	c := theClusterForTest(t)
	if c.external {
		t.Skip("already running against an external server")
	}
	out, err := output(helper(envURL + "=" + c.adminURL))
	if err != nil || !strings.Contains(out, "--- PASS: TestHelper") {
		t.Fatalf("err=%v; output:\n%s", err, out)
	}
	// Main in the subprocess must have dropped its template and databases.
	conn := connect(t, c.adminURL)
	var left []string
	rows, _ := conn.Query(context.Background(), "SELECT datname FROM pg_database WHERE datname LIKE 'mk%'")
	left, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(left) > 0 {
		t.Errorf("left behind: %v, %v", left, err)
	}
}

func BenchmarkNewDatabase(b *testing.B) {
	NewDatabase(b, "bench", prepareItems)
	b.ResetTimer()
	for b.Loop() {
		NewDatabase(b, "bench", prepareItems)
	}
}

// TestNoLeftovers kills a helper that has a cluster running, by signal
// (handled by Main) and by SIGKILL (handled by the reaper), and checks that
// the server and its directory go away.
func TestNoLeftovers(t *testing.T) {
	if theClusterForTest(t).external {
		t.Skip("no local cluster")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			cmd := helper("PGTEST_HELPER_HANG=1")
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			sc := bufio.NewScanner(stdout)
			dir := ""
			for dir == "" && sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "DIR "); ok {
					dir = d
				}
			}
			pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
			if err != nil {
				t.Fatalf("helper did not start a cluster: %v", err)
			}
			pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
			cmd.Process.Signal(sig)
			go io.Copy(io.Discard, stdout)
			cmd.Wait()
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				_, dirErr := os.Stat(dir)
				stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				alive := len(stat) > 0 && !strings.Contains(string(stat), ") Z ")
				if os.IsNotExist(dirErr) && !alive {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after %v: dir %s exists=%v, postmaster %d alive=%v", sig, dir, dirErr == nil, pid, alive)
				}
			}
		})
	}
}
