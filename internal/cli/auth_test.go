package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/auth"
)

// devToken finds the token serve --dev printed.
func devToken(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if tok, ok := strings.CutPrefix(line, "export TOKEN="); ok {
			return tok
		}
	}
	t.Fatalf("serve --dev printed no token: %q", out)
	return ""
}

// Without an auth configuration serve refuses to start, naming the options.
func TestServeRefusesWithoutAuth(t *testing.T) {
	t.Setenv("MEKONG_ADDR", "127.0.0.1:0")
	t.Setenv("MEKONG_DB", "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	err := root(io.Discard, io.Discard).Run(context.Background(), []string{"mekong", "serve"})
	if err == nil {
		t.Fatal("serve started without authentication")
	}
	for _, want := range []string{"--auth-config", "MEKONG_AUTH_CONFIG", "--dev", "--auth none"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// --auth none starts open, logs a warning and never prints a token.
func TestServeAuthNoneWarns(t *testing.T) {
	t.Setenv("MEKONG_ADDR", "127.0.0.1:0")
	t.Setenv("MEKONG_DB", "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	t.Setenv("MEKONG_AUTH", "none")
	ctx, stop := context.WithCancel(context.Background())
	logs, stdout := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- root(stdout, logs).Run(ctx, []string{"mekong", "serve"}) }()
	base := serveURL(t, logs)
	res, err := http.Get(base + "/Patient")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	stop()
	<-done
	if res.StatusCode != http.StatusOK {
		t.Fatalf("--auth none: search got %d", res.StatusCode)
	}
	if !strings.Contains(logs.String(), "AUTHENTICATION IS OFF") || !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatalf("no warning logged: %s", logs.String())
	}
	if strings.Contains(stdout.String(), "TOKEN") {
		t.Fatalf("--auth none printed a token: %s", stdout.String())
	}
}

// mekong token mints tokens the --dev issuer accepts, with the asked-for
// scopes, patient, organization and label permissions; serve --dev reuses
// the key it created.
func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := auth.DevKey(dir); err != nil { // what serve --dev does
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := root(&out, io.Discard).Run(context.Background(), []string{"mekong", "token", "--data-dir", dir,
		"--scope", "patient/*.rs", "--patient", "p1", "--sensitive", "--org", "Organization/clinic-1"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), &auth.Config{Issuers: []auth.IssuerConfig{auth.DevIssuerConfig(dir)}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(context.Background(), "Bearer "+strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if p.Patient != "p1" || p.Organization != "Organization/clinic-1" || !p.PatientOnly("Observation", auth.Read) ||
		!p.MaySee("http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV") || p.Allows("Observation", auth.Create) {
		t.Fatalf("principal %+v", p)
	}
	if strings.Contains(out.String(), "\n\n") || strings.Count(out.String(), ".") != 2 {
		t.Fatalf("token output is not one JWT: %q", out.String())
	}
}

// Issue 14 item 12: mekong token never creates a key (the running server
// would refuse its tokens with no hint); it says where the key is expected.
func TestTokenWithoutKeyFailsNamingWhere(t *testing.T) {
	dir := t.TempDir()
	err := root(io.Discard, io.Discard).Run(context.Background(), []string{"mekong", "token", "--data-dir", dir})
	if err == nil {
		t.Fatal("token minted without a key")
	}
	for _, want := range []string{filepath.Join(dir, auth.DevKeyFile), "serve --dev", "--data-dir", "MEKONG_DATA_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("token wrote %v into the data directory", entries)
	}
}

// Run from a subdirectory of where make run started, token finds ./data
// above it, says so on stderr, and the token verifies with that key.
func TestTokenFindsTheServersKeyFromASubdirectory(t *testing.T) {
	unsetenv(t, "MEKONG_DATA_DIR")
	repo := t.TempDir()
	if _, _, err := auth.DevKey(filepath.Join(repo, "data")); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "internal", "cli")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	var out, errOut bytes.Buffer
	if err := root(&out, &errOut).Run(context.Background(), []string{"mekong", "token"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), filepath.Join(repo, "data")) {
		t.Errorf("stderr does not name the key's directory: %q", errOut.String())
	}
	if _, err := os.Stat(filepath.Join(sub, "data")); !os.IsNotExist(err) {
		t.Errorf("token created %s/data", sub)
	}
	v, err := auth.NewVerifier(context.Background(), &auth.Config{Issuers: []auth.IssuerConfig{auth.DevIssuerConfig(filepath.Join(repo, "data"))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Authenticate(context.Background(), "Bearer "+strings.TrimSpace(out.String())); err != nil {
		t.Fatalf("the server's verifier refuses the token: %v", err)
	}
}

func TestDevKeyDirs(t *testing.T) {
	got := devKeyDirs("/home/u/mekong/internal", "/home/u/mekong/bin/mekong")
	want := []string{"/home/u/mekong/internal/data", "/home/u/mekong/data", "/home/u/data", "/home/data", "/data"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("devKeyDirs = %v, want %v", got, want)
	}
	got = devKeyDirs("/tmp", "/opt/mekong/bin/mekong")
	if got[len(got)-1] != "/opt/mekong/data" {
		t.Errorf("devKeyDirs does not look beside the binary: %v", got)
	}
}

// unsetenv removes a variable for the test (t.Setenv can only set one).
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	os.Unsetenv(name)
}
