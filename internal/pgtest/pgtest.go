// Package pgtest gives tests fast, isolated PostgreSQL databases: one
// throwaway cluster per test binary (or the server named by
// MEKONG_TEST_DATABASE_URL) and one database per test, cloned from a
// template that is prepared once.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	envURL     = "MEKONG_TEST_DATABASE_URL"
	envDurable = "MEKONG_TEST_PG_DURABLE"
)

var (
	clusterOnce sync.Once
	theCluster  *cluster
	clusterErr  error // remembered so every test skips or fails the same way
	stopOnce    sync.Once

	mainCalled atomic.Bool
	skipped    atomic.Int64
	counter    atomic.Int64 // makes database names unique within the process
)

type cluster struct {
	adminURL string // database we issue CREATE/DROP DATABASE from
	external bool   // adminURL came from MEKONG_TEST_DATABASE_URL

	dir, dataDir, binDir string
	runAs                string // unprivileged user when we are root, since initdb refuses root
	reaper               *exec.Cmd
	reaperIn             io.WriteCloser // kept open (and referenced) so the reaper blocks until we die
	startTook            time.Duration

	mu        sync.Mutex
	templates map[string]*template
}

type template struct {
	mu       sync.Mutex // serializes clones: PostgreSQL rejects concurrent use of a template
	name     string     // database name, set once prepared
	strategy string     // CREATE DATABASE clause; FILE_COPY is the faster one for small templates
	err      error      // sticky prepare failure
}

// Available reports whether PostgreSQL is available for tests (a URL is
// configured or binaries were found); it does not start anything.
func Available() bool {
	if os.Getenv(envURL) != "" {
		return true
	}
	_, err := findBinaries(os.Getenv("PATH"), searchGlobs)
	return err == nil
}

// Main runs the tests and then stops the cluster started for them, if any.
func Main(m *testing.M) {
	mainCalled.Store(true)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigc
		shutdown()
		// Die of the same signal so the caller sees the usual exit status.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		time.Sleep(time.Second)
		os.Exit(1)
	}()
	code := m.Run()
	shutdown()
	if n := skipped.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "\n*** pgtest: %d PostgreSQL test(s) were SKIPPED: %v ***\n\n", n, clusterErr)
	}
	os.Exit(code)
}

// NewDatabase returns a connection URL for a new database that is dropped when t ends.
// The database is cloned from a template named template; the first call for a given
// template name creates it and runs prepare(ctx, templateURL) on it once per test binary
// (prepare may be nil). Calls for the same template run their clones serially with respect to each other but tests may call it in parallel.
func NewDatabase(t testing.TB, template string, prepare func(ctx context.Context, url string) error) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest.NewDatabase: add `func TestMain(m *testing.M) { pgtest.Main(m) }` to this package so the cluster is stopped after the tests")
	}
	clusterOnce.Do(func() { theCluster, clusterErr = start() })
	if clusterErr != nil {
		skip, msg := unavailable(clusterErr, os.Getenv("CI"))
		if skip {
			skipped.Add(1)
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	c := theCluster
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name, err := c.clone(ctx, t, template, prepare)
	if err != nil {
		t.Fatalf("pgtest.NewDatabase: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest.NewDatabase: dropping %s: %v", name, err)
		}
	})
	return c.dbURL(name)
}

// unavailable decides between skipping and failing: only missing binaries
// skip, and not on CI, where a silently skipped suite would hide regressions.
func unavailable(err error, ci string) (skip bool, msg string) {
	if !errors.Is(err, errNoPostgres) {
		return false, fmt.Sprintf("pgtest: cannot start PostgreSQL for tests: %v", err)
	}
	msg = fmt.Sprintf("PostgreSQL tests were SKIPPED: %v. To run them, install the PostgreSQL server "+
		"(e.g. apt-get install postgresql) or set %s to a postgres:// URL of a database whose user may CREATE DATABASE.", err, envURL)
	if isCI, _ := strconv.ParseBool(ci); isCI {
		return false, msg + " (CI=true, so this is a failure.)"
	}
	return true, msg
}

// shutdown stops the local cluster, or drops the templates made on an
// external server. Running it through clusterOnce waits for a start in
// progress and prevents later ones; stopOnce makes a signal during Main's
// shutdown wait for it instead of racing it.
func shutdown() { stopOnce.Do(shutdownOnce) }

func shutdownOnce() {
	clusterOnce.Do(func() { clusterErr = errors.New("pgtest: already shut down") })
	c := theCluster
	if c == nil {
		return
	}
	if !c.external {
		c.stop()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tp := range c.templates {
		if tp.name == "" {
			continue
		}
		if err := c.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{tp.name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest.shutdown: dropping template %s: %v\n", tp.name, err)
		}
	}
}

func (c *cluster) dbURL(db string) string {
	if !c.external {
		// Readable slashes; %20 not +, which pgx does not decode as a space.
		host := strings.NewReplacer("%2F", "/", "+", "%20").Replace(url.QueryEscape(c.dir))
		return "postgres://postgres@/" + db + "?host=" + host + "&port=5432&sslmode=disable"
	}
	u, _ := url.Parse(c.adminURL) // validated in start
	u.Path, u.RawPath = "/"+db, ""
	return u.String()
}

// exec runs statements on a fresh admin connection, so that no connection
// lingers (a connection to a template would block cloning it).
func (c *cluster) exec(ctx context.Context, sqls ...string) error {
	conn, err := pgx.Connect(ctx, c.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range sqls {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// dbName builds a unique database name from [a-z0-9_]; on a shared server
// the process id keeps concurrent test binaries apart.
func (c *cluster) dbName(kind, template string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(template) {
		if b.Len() >= 24 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	prefix := ""
	if c.external {
		prefix = fmt.Sprintf("mk%d_", os.Getpid())
	}
	return fmt.Sprintf("%s%s%d_%s", prefix, kind, counter.Add(1), b.String())
}

func (c *cluster) clone(ctx context.Context, t testing.TB, name string, prepare func(context.Context, string) error) (string, error) {
	c.mu.Lock()
	if c.templates == nil {
		c.templates = map[string]*template{}
	}
	tp := c.templates[name]
	if tp == nil {
		tp = &template{}
		c.templates[name] = tp
	}
	c.mu.Unlock()

	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.err != nil {
		return "", fmt.Errorf("template %q failed earlier: %w", name, tp.err)
	}
	if tp.name == "" {
		if err := c.prepareTemplate(ctx, t, tp, name, prepare); err != nil {
			tp.err = err
			return "", fmt.Errorf("preparing template %q: %w", name, err)
		}
	}
	db := c.dbName("t", name)
	if err := c.exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" TEMPLATE "+pgx.Identifier{tp.name}.Sanitize()+tp.strategy); err != nil {
		return "", err
	}
	return db, nil
}

func (c *cluster) prepareTemplate(ctx context.Context, t testing.TB, tp *template, name string, prepare func(context.Context, string) error) error {
	db := c.dbName("tpl", name)
	quoted := pgx.Identifier{db}.Sanitize()
	if err := c.exec(ctx, "CREATE DATABASE "+quoted); err != nil {
		return err
	}
	tp.name = db // recorded now so shutdown drops it even if prepare fails
	if prepare != nil {
		if err := prepare(ctx, c.dbURL(db)); err != nil {
			return err
		}
	}
	// A connection prepare forgot to close would make every clone fail with
	// "source database is being accessed by other users": forbid new
	// connections and terminate leftovers.
	conn, err := pgx.Connect(ctx, c.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+quoted+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	var version, n int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return err
	}
	if version >= 150000 { // STRATEGY is new in 15, whose default WAL_LOG is slower for us
		tp.strategy = " STRATEGY FILE_COPY"
	}
	if err := conn.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", db).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		t.Logf("pgtest: prepare for template %q left %d connection(s) open; terminated them", name, n)
	}
	return nil
}
