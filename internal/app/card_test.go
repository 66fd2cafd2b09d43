package app_test

import (
	"context"
	"encoding/base64"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/healthcard"
)

var qrImageRE = regexp.MustCompile(`data:image/png;base64,([^"]+)`)

// The card page's QR decodes to a SMART Health Card that verifies against
// the gateway's published key (https://spec.smarthealth.it/: shc:/ numeric
// QR, JWS, issuer key in /.well-known/jwks.json), holding the person's
// COVID-19 vaccinations and nothing confidential.
func TestCardQRVerifies(t *testing.T) {
	// The demo person: named in Khmer, Thai and Latin letters by two
	// sources, with doses from both; the card still fits one QR code.
	e := newEnv(t, envOpts{})
	id := e.dara
	b := e.browser()
	b.signIn("clinic")
	status, doc := b.get("/app/patient/" + id + "/card")
	m := qrImageRE.FindStringSubmatch(doc)
	if status != 200 || m == nil {
		t.Fatalf("card page: %d %s", status, text(doc))
	}
	// Every dose from both sources is on the one QR code, not only the latest.
	if !strings.Contains(text(doc), "COVID-19: 4 doses") || strings.Contains(text(doc), "do not fit") {
		t.Errorf("card page: %s", text(doc))
	}
	bundle := verifyQR(t, e, html.UnescapeString(m[1]))
	if !strings.Contains(bundle, "Immunization") || strings.Contains(bundle, "Observation") {
		t.Errorf("card bundle: %s", bundle)
	}
}

// verifyQR decodes a card page's QR image (base64 PNG) to its SMART Health
// Card and verifies it against the gateway's published key; it returns the
// card's FHIR Bundle.
func verifyQR(t *testing.T, e *env, b64 string) string {
	t.Helper()
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	content, err := healthcard.DecodeQRImage(png)
	if err != nil {
		t.Fatalf("the QR does not decode: %v", err)
	}
	chunk, err := healthcard.ParseQRContent(content)
	if err != nil {
		t.Fatal(err)
	}
	_, jwks := e.api("", "/.well-known/jwks.json")
	keys, err := healthcard.ParseJWKS([]byte(jwks))
	if err != nil || len(keys) == 0 {
		t.Fatalf("jwks %s %v", jwks, err)
	}
	tr := healthcard.StaticTrust{}
	tr.Add(&healthcard.Issuer{URL: e.srv.URL + "/fhir", Keys: keys,
		CRLs: map[string]*healthcard.CRL{keys[0].ID: {Kid: keys[0].ID, Method: "rid", Ctr: keys[0].CRLVersion}}})
	res := (&healthcard.Verifier{Trust: tr}).Verify(context.Background(), chunk.JWS)
	if res.Status != healthcard.Valid {
		t.Fatalf("the card does not verify: %v %s", res.Status, res.Problem)
	}
	t.Logf("the card: a JWS of %d characters (one QR holds %d)", len(chunk.JWS), healthcard.MaxQRJWS)
	return string(res.Bundle())
}
