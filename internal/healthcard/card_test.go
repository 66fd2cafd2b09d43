package healthcard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	qr "github.com/piglig/go-qr"
)

const patientJSON = `{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-01-01T00:00:00Z"},
"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Sok Dara</div>"},
"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"}],
"name":[{"use":"official","family":"Sok","given":["Dara"]},{"text":"សុខ ដារា"}],"gender":"male","birthDate":"1990-04-01",
"extension":[{"url":"http://example.org/nationality","valueCode":"KHM"}]}`

const immunizationJSON = `{"resourceType":"Immunization","id":"i1","meta":{"versionId":"1","security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"N","display":"normal"}]},
"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"status":"completed",
"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511","display":"CoronaVac"},{"system":"http://id.who.int/icd11/mms","code":"XM7HT3"}],"text":"Sinovac"},
"patient":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},"occurrenceDateTime":"2021-07-02",
"performer":[{"actor":{"reference":"Practitioner/x","display":"Poipet Referral Hospital"}},{"actor":{"reference":"Practitioner/y"}}],
"lotNumber":"A123","note":[{"text":"left arm"}],"reasonCode":[{"text":"travel"}]}`

func TestBundleMinified(t *testing.T) {
	// cards-specification.md, "Payload content minified for QR codes", and the
	// Vaccination & Testing IG's data minimization profile (no identifier, note
	// or reasonCode).
	b, err := BuildBundle(BundleInput{
		Patient:   Entry{Ref: "Patient/p1", Content: []byte(patientJSON)},
		Resources: []Entry{{Ref: "Immunization/i1", Content: []byte(immunizationJSON)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":"Sok","given":["Dara"]},{"text":"សុខ ដារា"}],"birthDate":"1990-04-01"}},` +
		`{"fullUrl":"resource:1","resource":{"resourceType":"Immunization","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"N"}]},"status":"completed",` +
		`"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"},{"system":"http://id.who.int/icd11/mms","code":"XM7HT3"}]},` +
		`"patient":{"reference":"resource:0"},"occurrenceDateTime":"2021-07-02","performer":[{"actor":{"display":"Poipet Referral Hospital"}}],` +
		`"lotNumber":"A123"}}]}`
	if string(b.JSON) != want {
		t.Errorf("bundle\n got %s\nwant %s", b.JSON, want)
	}
	if len(b.Links) != 2 || b.Links[1] != (Link{Bundled: "resource:1", Hosted: "Immunization/i1"}) {
		t.Errorf("links %+v", b.Links)
	}
	// includeIdentityClaim narrows or widens the Patient's elements.
	b, _ = BuildBundle(BundleInput{Patient: Entry{Ref: "Patient/p1", Content: []byte(patientJSON)}, Claims: []string{"identifier", "name"}})
	if !bytes.Contains(b.JSON, []byte("N0123456")) || bytes.Contains(b.JSON, []byte("birthDate")) {
		t.Errorf("claims identifier+name: %s", b.JSON)
	}
}

func TestLinkedPatientReferencesBecomeResource0(t *testing.T) {
	// CONTRACTS §2: a card covers the linked set; a result of a linked
	// Patient points at the card's one Patient.
	obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"http://x/fhir/Patient/p2/_history/4"}}`
	b, err := BuildBundle(BundleInput{Patient: Entry{Ref: "Patient/p1", Content: []byte(patientJSON)}, Aliases: []string{"Patient/p2"},
		Resources: []Entry{{Ref: "Observation/o1", Content: []byte(obs)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.JSON, []byte(`"subject":{"reference":"resource:0"}`)) {
		t.Errorf("bundle %s", b.JSON)
	}
}

func signTestCard(t testing.TB, k *Key, iss string) string {
	t.Helper()
	b, err := BuildBundle(BundleInput{Patient: Entry{Ref: "Patient/p1", Content: []byte(patientJSON)},
		Resources: []Entry{{Ref: "Immunization/i1", Content: []byte(immunizationJSON)}}})
	if err != nil {
		t.Fatal(err)
	}
	jws, err := Sign(k, &Credential{Issuer: iss, IssuedAt: time.Unix(1767225600, 0), Types: []string{TypeImmunization, TypeCOVID19},
		Bundle: b.JSON, RID: RID([]byte("secret"), k.ID, "p1")})
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

func TestSignVerifyRoundTrip(t *testing.T) {
	// cards-specification.md, "Health Cards are Compact": alg ES256, zip DEF,
	// kid = RFC 7638 thumbprint; payload raw DEFLATE.
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://mekong.example.org/fhir"
	jws := signTestCard(t, k, iss)
	var h map[string]string
	hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[0])
	if err := json.Unmarshal(hb, &h); err != nil || h["alg"] != "ES256" || h["zip"] != "DEF" || h["kid"] != k.ID || len(h) != 3 {
		t.Fatalf("header %s", hb)
	}
	if tp, _ := Thumbprint(k.Public); tp != k.ID || len(k.ID) != 43 {
		t.Fatalf("kid %s", k.ID)
	}
	tr := StaticTrust{}
	tr.Add(&Issuer{URL: iss, Keys: []*Key{k}})
	r := (&Verifier{Trust: tr}).Verify(context.Background(), jws)
	if r.Status != Valid {
		t.Fatalf("status %v: %s", r.Status, r.Problem)
	}
	c := r.JWS.Claims
	if c.Issuer != iss || *c.NotBefore != 1767225600 || c.Expires != nil || c.VC.CredentialSubject.FHIRVersion != "4.0.1" ||
		!r.JWS.HasType(TypeHealthCard) || !r.JWS.HasType(TypeImmunization) || len(c.VC.RID) != 11 {
		t.Errorf("claims %s", r.JWS.Payload)
	}
	if bytes.Contains(r.JWS.Payload, []byte(" ")) && !bytes.Contains(r.JWS.Payload, []byte("Poipet Referral Hospital")) {
		t.Error("payload is not minified")
	}
	// A card from another key claiming this issuer is a forgery.
	other, _ := NewKey()
	if r := (&Verifier{Trust: tr}).Verify(context.Background(), signTestCard(t, other, iss)); r.Status != Invalid || r.Signature.State != Failed {
		t.Errorf("forged card: %v %s", r.Status, r.Problem)
	}
	// The JWKS lists the public key only.
	jwks := JWKS([]*Key{k})
	if bytes.Contains(jwks, []byte(`"d"`)) {
		t.Error("the JWKS has a private part")
	}
	keys, err := ParseJWKS(jwks)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].Private != nil {
		t.Errorf("JWKS round trip: %v", err)
	}
}

func TestIssuerURLRules(t *testing.T) {
	for iss, ok := range map[string]bool{"https://a.example/fhir": true, "https://a.example/fhir/": false, "http://a.example": false,
		"http://127.0.0.1:8080/fhir": true, "http://localhost/fhir": true, "https://": false, "": false} {
		if err := CheckIssuerURL(iss, true); (err == nil) != ok {
			t.Errorf("CheckIssuerURL(%q) = %v", iss, err)
		}
	}
}

func TestQRCapacity(t *testing.T) {
	// cards-specification.md, "Health Cards as QR Codes": V22 at most; 1195
	// characters fit, 1196 need chunks, which Mekong never makes.
	code, err := QRCode(strings.Repeat("a", MaxQRJWS))
	if err != nil || code.Size() != 4*22+17 {
		t.Fatalf("1195 characters: %v", err)
	}
	if _, err := QRCode(strings.Repeat("a", MaxQRJWS+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("1196 characters: %v", err)
	}
}

func TestQRPNGDecodesWithIndependentDecoder(t *testing.T) {
	// The PNG is read back by gozxing (a port of ZXing, not the encoder's
	// library) and the card it holds verifies.
	k, _ := NewKey()
	const iss = "https://mekong.example.org/fhir"
	jws := signTestCard(t, k, iss)
	png, err := QRPNG(jws, 4)
	if err != nil {
		t.Fatal(err)
	}
	text, err := DecodeQRImage(png)
	if err != nil {
		t.Fatal(err)
	}
	cards, err := ReadCards([]byte(text))
	if err != nil || len(cards) != 1 || cards[0] != jws {
		t.Fatalf("decoded %q (%v)", text[:20], err)
	}
	tr := StaticTrust{}
	tr.Add(&Issuer{URL: iss, Keys: []*Key{k}})
	if r := (&Verifier{Trust: tr}).Verify(context.Background(), cards[0]); r.Status != Valid {
		t.Fatalf("decoded card: %v %s", r.Status, r.Problem)
	}
	// Two segments, byte "shc:/" then numeric, at error correction L.
	img, _, _ := image.Decode(bytes.NewReader(png))
	d, err := qr.DecodeDetailed(img)
	if err != nil {
		t.Fatal(err)
	}
	if d.Ecc != qr.Low || len(d.Segments) != 2 || d.Segments[0].Mode != 4 || string(d.Segments[0].Bytes) != "shc:/" || d.Segments[1].Mode != 1 {
		t.Fatalf("ecc %v segments %+v", d.Ecc, d.Segments)
	}
}

func TestReport(t *testing.T) {
	k, _ := NewKey()
	const iss = "https://mekong.example.org/fhir"
	tr := StaticTrust{}
	tr.Add(&Issuer{URL: iss, Name: "Mekong test issuer", Keys: []*Key{k}})
	r := (&Verifier{Trust: tr}).Verify(context.Background(), signTestCard(t, k, iss))
	var b bytes.Buffer
	Report(&b, r)
	for _, want := range []string{"SMART Health Card: VALID", "Issued by: Mekong test issuer", "Signature:  passed",
		"Person: Dara Sok / សុខ ដារា, born 1 April 1990", "1. COVID-19: Sinovac (CoronaVac) on 2 July 2021 at Poipet Referral Hospital, lot A123"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// A card's identity claims hold what a verifier compares with an identity
// document: a migrant named in three scripts, each name tagged with its
// language, must still fit one QR code, and a doubted identifier is no
// evidence of identity.
func TestIdentityClaimsAreSlim(t *testing.T) {
	pt := []byte(`{"resourceType":"Patient","id":"p","identifier":[` +
		`{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456","period":{"start":"2020"}},` +
		`{"extension":[{"url":"https://mekong-fhir.github.io/fhir/StructureDefinition/identifier-doubt","extension":[{"url":"system","valueUri":"https://terms.sil-th.org/id/th-cid"},{"url":"reason","valueString":"check digit"}]}],"system":"https://mekong-fhir.github.io/fhir/sid/doubtful-identifier","value":"1101700123457"},` +
		// CONTRACTS §7: today's form, the doubtful system followed by the meant one.
		`{"system":"https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/hcode/5/10742/PID","value":"12/34"}],` +
		`"name":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"en"}],"use":"official","family":"SOK","given":["DARA"]},` +
		`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"km"}],"use":"official","family":"សុខ","given":["ដារា"]},` +
		`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"en"}],"family":"SOK","given":["DARA"]},` +
		`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}],"birthDate":"1990-04-01"}`)
	b, err := BuildBundle(BundleInput{Patient: Entry{Ref: "Patient/p", Content: pt}, Claims: []string{"name", "identifier", "birthDate"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"resource:0","resource":{"resourceType":"Patient",` +
		`"name":[{"family":"SOK","given":["DARA"]},{"family":"សុខ","given":["ដារា"]}],` +
		`"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"}],"birthDate":"1990-04-01"}}]}`
	if string(b.JSON) != want {
		t.Errorf("bundle\n got %s\nwant %s", b.JSON, want)
	}
}
