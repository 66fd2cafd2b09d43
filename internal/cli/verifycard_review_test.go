package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/healthcard"
)

// TestVerifyCardReadsEveryForm: issue 12's verify-card reads a shc:/ string,
// a .smart-health-card file and a QR image, and prints, in plain words, who
// issued the card, the signature, expiry and revocation checks, and the
// vaccinations it holds. The card is the specification's example 00
// (cards-specification.md "Health Cards as QR Codes" for the shc:/ form).
func TestVerifyCardReadsEveryForm(t *testing.T) {
	trust := "--trusted-issuers=../../examples/cards/trusted-issuers.json"
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	shc := read("../healthcard/testdata/hl7/example-00-f-qr-code-numeric-value-0.txt")
	png, err := healthcard.QRPNG(read("../healthcard/testdata/hl7/example-00-d-jws.txt"), 4)
	if err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(t.TempDir(), "card.png")
	if err := os.WriteFile(image, png, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, arg := range map[string]string{
		"shc:/ string": shc,
		"file":         "../../examples/cards/example-00-e-file.smart-health-card",
		"QR image":     image,
	} {
		out, code := runExit(t, "verify-card", trust, arg)
		if code != 0 {
			t.Errorf("%s: exit %d\n%s", name, code, out)
			continue
		}
		for _, w := range []string{
			"SMART Health Card: VALID",
			"Issued by: SMART Health Cards specification examples (https://spec.smarthealth.cards/examples/issuer)",
			"Signature:  passed", "Expiry:     passed (does not expire)", "Revocation: passed",
			"Person: John B. Anyperson, born 20 January 1951",
			"Vaccinations (3):", "COVID-19: Moderna (Spikevax) on 1 January 2021 at ABC General Hospital, lot 0000001",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the report lacks %q:\n%s", name, w, out)
			}
		}
	}
	// A tampered shc:/ string (one digit changed in the signature) is invalid.
	bad := []byte(shc)
	if bad[len(bad)-5] == '1' {
		bad[len(bad)-5] = '2'
	} else {
		bad[len(bad)-5] = '1'
	}
	if out, code := runExit(t, "verify-card", trust, string(bad)); code != 1 || !strings.Contains(out, "NOT VALID") {
		t.Errorf("tampered shc:/: exit %d\n%s", code, out)
	}
}
