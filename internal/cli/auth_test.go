package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
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
