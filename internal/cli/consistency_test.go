package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v3"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Issue 14 item 14: the commands behave alike. Every flag named db has
// serve's default and reads MEKONG_DB; --version works; usage mistakes are
// one line, not the whole help.

func walk(cmd *ucli.Command, f func(*ucli.Command)) {
	f(cmd)
	for _, c := range cmd.Commands {
		walk(c, f)
	}
}

func TestEveryDBFlagHasServesDefaultAndEnv(t *testing.T) {
	n := 0
	walk(root(nil, nil), func(c *ucli.Command) {
		for _, fl := range c.Flags {
			sf, ok := fl.(*ucli.StringFlag)
			if !ok || sf.Name != "db" {
				continue
			}
			n++
			if sf.Value != backend.DefaultURL || sf.Required || !strings.Contains(sf.Sources.String(), "MEKONG_DB") {
				t.Errorf("mekong %s --db: default %q, required %v, sources %s; want %q, optional, MEKONG_DB",
					c.Name, sf.Value, sf.Required, sf.Sources, backend.DefaultURL)
			}
		}
	})
	if n < 6 { // serve, migrate, seed, import, export, ingest, export-source
		t.Errorf("only %d commands have --db", n)
	}
}

// export reads MEKONG_DB like serve, import and ingest.
func TestExportReadsMEKONG_DB(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "m.db")
	in := filepath.Join(dir, "in.ndjson")
	os.WriteFile(in, []byte(`{"resourceType":"Patient","id":"p1","gender":"female"}`+"\n"), 0o644)
	if _, err := runMekong(t, &bytes.Buffer{}, "import", "--db", db, in); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MEKONG_DB", db)
	out := filepath.Join(dir, "out")
	if logs, err := runMekong(t, &bytes.Buffer{}, "export", "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	b, err := os.ReadFile(filepath.Join(out, "Patient-1.ndjson"))
	if err != nil || !bytes.Contains(b, []byte(`"id":"p1"`)) {
		t.Fatalf("export from MEKONG_DB wrote %q, %v", b, err)
	}
}

func TestUsageMistakeIsOneLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := root(&stdout, &stderr).Run(context.Background(), []string{"mekong", "export"})
	if err == nil || !strings.Contains(err.Error(), `"out"`) || !strings.Contains(err.Error(), "mekong export --help") {
		t.Fatalf("err = %v; want the missing --out and where the help is", err)
	}
	if stdout.Len()+stderr.Len() > 0 {
		t.Errorf("a usage mistake printed more than the error:\nstdout %q\nstderr %q", stdout.String(), stderr.String())
	}
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"mekong", "--version"}, {"mekong", "version"}} {
		var stdout bytes.Buffer
		if err := root(&stdout, &bytes.Buffer{}).Run(context.Background(), args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if got, want := stdout.String(), "mekong "+Version+" (FHIR 4.0.1)\n"; got != want {
			t.Errorf("%v printed %q, want %q", args, got, want)
		}
	}
}

// Logs written to a file or a pipe are JSON for collectors; text only when
// asked (or on a terminal, which a test cannot be).
func TestLogFormatDefaultsToJSONOffATerminal(t *testing.T) {
	logs, err := runMekong(t, &bytes.Buffer{}, "seed", "--patients", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(logs, `{"time":`) {
		t.Errorf("logs to a buffer are not JSON: %q", logs)
	}
	// Issue 14 item 14: durations read as durations, not nanoseconds.
	if !regexp.MustCompile(`"elapsed":"[0-9.]+(ns|µs|ms|s)"`).MatchString(logs) {
		t.Errorf("JSON logs do not give the elapsed time as a duration: %q", logs)
	}
	logs, _ = runMekong(t, &bytes.Buffer{}, "seed", "--patients", "1", "--log-format", "text")
	if !strings.HasPrefix(logs, "time=") || !strings.Contains(logs, "elapsed=") || strings.Contains(logs, "elapsed=0 ") {
		t.Errorf("text logs: %q", logs)
	}
}

// A busy port (the API's or --metrics-addr) fails serve before --dev
// prints a token for a server that never ran.
func TestServeDevOnBusyPortPrintsNoToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", busy}, "address already in use"},
		{[]string{"--addr", "127.0.0.1:0", "--metrics-addr", busy}, "--metrics-addr"},
	} {
		dir := t.TempDir()
		var stdout bytes.Buffer
		_, err = runMekong(t, &stdout, append([]string{"serve", "--dev", "--data-dir", dir, "--db", "sqlite:" + filepath.Join(dir, "m.db")}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %s", tc.args, err, tc.want)
		}
		if strings.Contains(stdout.String(), "TOKEN") {
			t.Errorf("%v: a token was printed for a server that could not bind:\n%s", tc.args, stdout.String())
		}
	}
}

// Seeded IOM case numbers carry the system the IOM mapping writes, so a
// seeded migrant and the same migrant in an IOM export are one Patient.
func TestSeedIOMSystemIsTheIOMMappings(t *testing.T) {
	walk(root(nil, nil), func(c *ucli.Command) {
		for _, fl := range c.Flags {
			if sf, ok := fl.(*ucli.StringFlag); ok && sf.Name == "iom-system" && sf.Value != mapping.IOMCaseNumber {
				t.Errorf("mekong %s --iom-system defaults to %q; the IOM mapping writes %q", c.Name, sf.Value, mapping.IOMCaseNumber)
			}
		}
	})
}

// Flags describe what the command does: export-source indexes nothing, so
// it offers no --timezone "when indexing".
func TestExportSourceHasNoIndexingFlags(t *testing.T) {
	walk(root(nil, nil), func(c *ucli.Command) {
		if c.Name != "export-source" {
			return
		}
		for _, fl := range c.Flags {
			for _, name := range fl.Names() {
				if name == "timezone" {
					t.Errorf("export-source offers --timezone")
				}
			}
		}
	})
}

// An unknown command fails in one line naming it and the nearest command,
// like an unknown flag; mekong alone still prints the help.
func TestUnknownCommandIsOneLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := root(&stdout, &stderr).Run(context.Background(), []string{"mekong", "serv"})
	if err == nil || !strings.Contains(err.Error(), `unknown command "serv"`) || !strings.Contains(err.Error(), `did you mean "serve"?`) || !strings.Contains(err.Error(), "mekong --help") {
		t.Fatalf("err = %v", err)
	}
	if stdout.Len()+stderr.Len() > 0 {
		t.Errorf("printed more than the error:\nstdout %q\nstderr %q", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if err := root(&stdout, &stderr).Run(context.Background(), []string{"mekong"}); err != nil || !strings.Contains(stdout.String(), "COMMANDS:") {
		t.Errorf("mekong alone: %v %q", err, stdout.String())
	}
}
