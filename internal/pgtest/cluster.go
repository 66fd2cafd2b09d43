package pgtest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// searchGlobs lists where distribution packages put the server binaries
// (Debian/Ubuntu, then PGDG RPMs); a variable so tests can point it elsewhere.
var searchGlobs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"}

// errNoPostgres marks the one failure that skips tests instead of failing them.
var errNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH or under " +
	strings.Join(searchGlobs, ", ") + ", and " + envURL + " is not set")

// findBinaries returns the directory holding initdb, pg_ctl and postgres:
// the first PATH entry that has all three, else the highest version under globs.
func findBinaries(pathEnv string, globs []string) (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir != "" && has(dir) {
			return dir, nil
		}
	}
	var dirs []string
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		for _, d := range m {
			if has(d) {
				dirs = append(dirs, d)
			}
		}
	}
	if len(dirs) == 0 {
		return "", errNoPostgres
	}
	return slices.MaxFunc(dirs, func(a, b string) int { return slices.Compare(version(a), version(b)) }), nil
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)*`)

// version extracts the last number in a path like /usr/lib/postgresql/15/bin
// so that 10 sorts after 9.6.
func version(dir string) []int {
	m := versionRE.FindAllString(dir, -1)
	if len(m) == 0 {
		return nil
	}
	var v []int
	for _, p := range strings.Split(m[len(m)-1], ".") {
		n, _ := strconv.Atoi(p)
		v = append(v, n)
	}
	return v
}

func start() (*cluster, error) {
	if u := os.Getenv(envURL); u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "postgres" && pu.Scheme != "postgresql") {
			return nil, fmt.Errorf("pgtest.start: %s must be a postgres:// URL", envURL)
		}
		return &cluster{adminURL: u, external: true}, nil
	}
	began := time.Now()
	binDir, err := findBinaries(os.Getenv("PATH"), searchGlobs)
	if err != nil {
		return nil, err
	}
	c := &cluster{binDir: binDir}
	var uid, gid int
	if os.Geteuid() == 0 {
		if c.runAs, uid, gid, err = unprivilegedUser(); err != nil {
			return nil, fmt.Errorf("pgtest.start: %w", err)
		}
	}
	// Short name: the socket path <dir>/.s.PGSQL.5432 must fit in ~100 bytes.
	base := os.TempDir()
	if len(base) > 60 {
		base = "/tmp"
	}
	if c.dir, err = os.MkdirTemp(base, "mkpg"); err != nil {
		return nil, fmt.Errorf("pgtest.start: %w", err)
	}
	c.dataDir = filepath.Join(c.dir, "data")
	if err := c.initAndStart(uid, gid); err != nil {
		c.stop()
		return nil, fmt.Errorf("pgtest.start: %w", err)
	}
	c.adminURL = c.dbURL("postgres")
	c.startTook = time.Since(began)
	return c, nil
}

func (c *cluster) initAndStart(uid, gid int) error {
	if c.runAs != "" {
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return err
		}
	}
	if err := c.startReaper(); err != nil {
		return fmt.Errorf("starting reaper: %w", err)
	}
	locale := "C"
	if out, err := exec.Command("locale", "-a").Output(); err == nil && regexp.MustCompile(`(?im)^c\.utf-?8$`).Match(out) {
		locale = "C.UTF-8" // lower()/upper() and regex classes then work beyond ASCII
	}
	if out, err := c.run("initdb", "-D", c.dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale="+locale, "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// port is explicit so a PGPORT in the environment cannot change the socket name.
	// pg_ctl hands opts to /bin/sh, hence the quotes.
	opts := "-k '" + c.dir + "' -c port=5432 -c listen_addresses='' -c max_connections=300 -c shared_buffers=128MB"
	if os.Getenv(envDurable) != "1" {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	} else {
		// Benchmarks: durable, and sized as the README advises for a server
		// that takes bulk loads.
		opts += " -c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=15min"
	}
	logFile := filepath.Join(c.dir, "postgres.log")
	if out, err := c.run("pg_ctl", "start", "-w", "-t", "120", "-D", c.dataDir, "-l", logFile, "-o", opts); err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pg_ctl start: %w\n%s\nserver log:\n%s", err, out, log)
	}
	return nil
}

// unprivilegedUser returns the postgres system user, creating one if needed.
func unprivilegedUser() (name string, uid, gid int, err error) {
	for attempt := 0; attempt < 10; attempt++ {
		for _, n := range []string{"postgres", "mekongpg"} {
			if u, err := user.Lookup(n); err == nil {
				uid, _ = strconv.Atoi(u.Uid)
				gid, _ = strconv.Atoi(u.Gid)
				return n, uid, gid, nil
			}
		}
		// Parallel test binaries may race here; a failure is retried by looking up again.
		_ = exec.Command(sbin("useradd"), "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "mekongpg").Run()
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
	return "", 0, 0, errors.New("running as root, but there is no postgres user and useradd mekongpg failed")
}

// sbin finds an administration tool even when PATH lacks the sbin
// directories, as it often does for root in containers.
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); exists(p) {
			return p
		}
	}
	return name
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (c *cluster) command(bin string, args ...string) *exec.Cmd {
	argv := append([]string{filepath.Join(c.binDir, bin)}, args...)
	if c.runAs != "" {
		argv = append([]string{sbin("runuser"), "-u", c.runAs, "--"}, argv...)
	}
	return exec.Command(argv[0], argv[1:]...)
}

func (c *cluster) run(bin string, args ...string) ([]byte, error) {
	cmd := c.command(bin, args...)
	cmd.Dir = c.dir // the caller's cwd may be unreadable for the postgres user
	cmd.WaitDelay = 10 * time.Second
	return cmd.CombinedOutput()
}

// startReaper starts a shell that waits for our end of its stdin to close,
// which the kernel does however this process dies (test timeout panic,
// SIGKILL, os.Exit without Main), and then stops the cluster and removes its
// directory. It gets its own process group so a terminal ^C does not kill it.
func (c *cluster) startReaper() error {
	stop := c.command("pg_ctl", "stop", "-D", c.dataDir, "-m", "immediate")
	cmd := exec.Command("sh", append([]string{"-c", `read x; d=$1; shift; "$@" >/dev/null 2>&1; rm -rf "$d"`, "sh", c.dir}, stop.Args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.reaper, c.reaperIn = cmd, w
	return nil
}

// stop stops a local cluster and removes its directory; it is idempotent.
func (c *cluster) stop() {
	if exists(filepath.Join(c.dataDir, "postmaster.pid")) {
		if out, err := c.run("pg_ctl", "stop", "-D", c.dataDir, "-m", "immediate", "-w"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest.stop: pg_ctl stop: %v\n%s\n", err, out)
		}
	}
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest.stop: %v\n", err)
		}
	}
	if c.reaper != nil {
		_ = c.reaper.Process.Kill()
		_ = c.reaper.Wait()
		c.reaper = nil
	}
}
