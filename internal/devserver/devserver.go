// Package devserver starts mekong the way `make run` does, for tests that
// use the server as a developer would: the README walkthrough and the FHIR
// client libraries. It builds the binary with `make build`, reads the serve
// command line from the Makefile's run recipe (make -n run), and starts it in
// a scratch directory (its own ./data) on a free port, so what the tests
// exercise is what `make run` serves.
package devserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running `make run` server.
type Server struct {
	Root  string // the repository
	Dir   string // working directory: ./bin/mekong, ./data, and links to the repository's files
	Addr  string // host:port it listens on
	Base  string // http://Addr/fhir
	Token string // the development token it printed

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// Env is the environment for commands run beside the server: the caller's,
// without MEKONG_* settings that would point them elsewhere, plus
// MEKONG_ADDR naming the server's address.
func (s *Server) Env() []string {
	return append(cleanEnv(), "MEKONG_ADDR="+s.Addr)
}

// Logs returns what the server has logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Start builds and starts the server; it is stopped (SIGTERM) when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := linkRepo(root, dir); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	start := time.Now()
	if out, err := makeCmd(root, "-s", "build", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	t.Logf("make build: %s", time.Since(start).Round(time.Millisecond))
	args, err := runArgs(root, bin)
	if err != nil {
		t.Fatal(err)
	}

	s := &Server{Root: root, Dir: dir, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	// Port 0: the kernel picks a free port and the banner names it, so
	// parallel test binaries never race for one.
	cmd.Env = append(cleanEnv(), "MEKONG_ADDR=127.0.0.1:0")
	cmd.Stderr = s.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(args, " "), err)
	}
	s.cmd = cmd
	banner := make(chan error, 1)
	go func() {
		banner <- s.readBanner(stdout)
		io.Copy(s.logs, stdout)
	}()
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })

	select {
	case err := <-banner:
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, s.Logs())
		}
	case <-s.done:
		t.Fatalf("%s exited before printing its token:\n%s", strings.Join(args, " "), s.Logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s printed no token within 60s:\n%s", strings.Join(args, " "), s.Logs())
	}
	// MEKONG_ADDR asked for a free port; the default one means make run's
	// command or serve ignored it (issue 14 item 15).
	if strings.HasSuffix(s.Addr, ":8080") {
		t.Fatalf("%s listens on %s, not where MEKONG_ADDR=127.0.0.1:0 asked", strings.Join(args, " "), s.Addr)
	}
	if err := s.waitReady(60 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, s.Logs())
	}
	t.Logf("%s serving %s (started in %s)", strings.Join(args[1:], " "), s.Base, time.Since(start).Round(time.Millisecond))
	return s
}

var (
	tokenLine = regexp.MustCompile(`^export TOKEN=(\S+)$`)
	curlLine  = regexp.MustCompile(`http://([^/\s]+)/fhir/Patient`)
)

// readBanner reads the --dev banner: the token, then the curl line naming
// the address.
func (s *Server) readBanner(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		s.logs.WriteString(line + "\n")
		if m := tokenLine.FindStringSubmatch(line); m != nil {
			s.Token = m[1]
		}
		if m := curlLine.FindStringSubmatch(line); m != nil && s.Token != "" {
			s.Addr = m[1]
			s.Base = "http://" + s.Addr + "/fhir"
			return nil
		}
	}
	return errors.New("the output ended without the development token banner (export TOKEN=..., then a curl line)")
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get("http://" + s.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return errors.New("the server exited before it was ready")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /readyz did not answer 200 within %s (last error %v)", limit, err)
		}
	}
}

func (s *Server) stop(t testing.TB) {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("the server did not stop within 15s of SIGTERM")
	}
	if t.Failed() {
		t.Logf("server output (last 8 KiB):\n%s", tail(s.Logs(), 8<<10))
	}
}

// runArgs reads the serve command of `make run` from the Makefile, with the
// binary built into bin and no --addr (MEKONG_ADDR then applies).
func runArgs(root, bin string) ([]string, error) {
	out, err := makeCmd(root, "-s", "-n", "run", "BIN="+bin, "ADDR=").Output()
	if err != nil {
		return nil, fmt.Errorf("make -n run: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if strings.ContainsAny(last, "'\"$`;&|<>") {
		return nil, fmt.Errorf("make -n run: the serve command %q is not one plain command line", last)
	}
	args := strings.Fields(last)
	if len(args) < 2 || args[0] != filepath.Join(bin, "mekong") || args[1] != "serve" {
		return nil, fmt.Errorf("make -n run: the last command %q does not run %s/mekong serve", last, bin)
	}
	return args, nil
}

func makeCmd(root string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(context.Background(), "make", append([]string{"-C", root, "--no-print-directory"}, args...)...)
	// A make that runs `go test` passes its flags down; the inner make
	// must not think it is part of that job.
	env := []string{}
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "ADDR=")
	return cmd
}

// cleanEnv drops the caller's MEKONG_* settings (a developer's MEKONG_DB
// must not send the test's writes to their database) and make's ADDR.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MEKONG_") || strings.HasPrefix(kv, "ADDR=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// RepoRoot is the directory holding go.mod, found upwards from the working
// directory (a test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devserver: no go.mod above the working directory")
		}
		dir = parent
	}
}

// linkRepo links the repository's top-level files into dir (examples/,
// mappings/, docs/, ...), so commands find them by the paths the README
// uses while what they write (./data, outputs) stays in dir.
func linkRepo(root, dir string) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "bin" || name == "data" {
			continue
		}
		if err := os.Symlink(filepath.Join(root, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe for the server's two output streams.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
