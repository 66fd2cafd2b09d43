package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v3"
)

// runExit runs the command line and returns its output and exit code.
func runExit(t *testing.T, args ...string) (string, int) {
	t.Helper()
	code := 0
	old := ucli.OsExiter
	ucli.OsExiter = func(c int) { code = c }
	defer func() { ucli.OsExiter = old }()
	var out, errOut bytes.Buffer
	if err := root(&out, &errOut).Run(context.Background(), append([]string{"mekong"}, args...)); err != nil && code == 0 {
		code = 1
	}
	return out.String(), code
}

func TestVerifyCardExitCodes(t *testing.T) {
	// Offline border post: the issuer's JWKS and revocation list are files.
	// The official example 00 verifies; example 03 (2023) is revoked; without
	// trust the issuer is unknown (exit 2). The examples carry dates in the
	// past and no exp (00) or an exp (03 is revoked anyway).
	trust := "--trusted-issuers=../../examples/cards/trusted-issuers.json"
	out, code := runExit(t, "verify-card", trust, "../../examples/cards/example-00-e-file.smart-health-card")
	if code != 0 || !strings.Contains(out, "VALID") || !strings.Contains(out, "SMART Health Cards specification examples") || !strings.Contains(out, "Vaccinations (3)") {
		t.Fatalf("example 00: exit %d\n%s", code, out)
	}
	out, code = runExit(t, "verify-card", trust, "../../examples/cards/example-03-revoked.smart-health-card")
	if code != 1 || !strings.Contains(out, "NOT VALID") {
		t.Fatalf("example 03: exit %d\n%s", code, out)
	}
	out, code = runExit(t, "verify-card", "../../examples/cards/example-00-e-file.smart-health-card")
	if code != 2 || !strings.Contains(out, "UNKNOWN ISSUER") {
		t.Fatalf("untrusted: exit %d\n%s", code, out)
	}
	if _, code = runExit(t, "verify-card", trust, "shc:/5676"); code != 1 {
		t.Fatalf("garbage: exit %d", code)
	}
}
