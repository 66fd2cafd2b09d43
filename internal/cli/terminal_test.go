package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what is written to tty is read
// from ptm, and term.IsTerminal(tty) is true, as for a user's shell.
func openPTY(t *testing.T) (ptm, tty *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(ptm.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { tty.Close(); ptm.Close() })
	return ptm, tty
}

// Issue 14 item 14: "CLI logs are JSON on a terminal, with durations in
// nanoseconds". On a terminal (a real pseudo-terminal here) the logs are
// text with durations such as 12ms, without --log-format.
func TestLogsOnATerminalAreText(t *testing.T) {
	unsetenv(t, "MEKONG_LOG_FORMAT")
	ptm, tty := openPTY(t)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(ptm)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if err := root(io.Discard, tty).Run(context.Background(), []string{"mekong", "seed", "--patients", "1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "time=") || strings.HasPrefix(line, "{") || !strings.Contains(line, "elapsed=") {
			t.Errorf("log line on a terminal: %q", line)
		}
		if i := strings.Index(line, "elapsed="); i >= 0 {
			v := strings.Fields(line[i+len("elapsed="):])[0]
			if _, err := time.ParseDuration(v); err != nil {
				t.Errorf("elapsed=%s is not a readable duration", v)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing logged to the terminal")
	}
}
