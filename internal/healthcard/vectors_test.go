package healthcard

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The official example cards of the SMART Health Cards specification
// (cards-examples.md; testdata/README.md says where each file comes from).

const specIssuer = "https://spec.smarthealth.cards/examples/issuer"

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// specTrust trusts the example issuer with its published JWKS and the
// revocation list of key 3Kfdg… as of 2023-06-22.
func specTrust(t testing.TB) StaticTrust {
	t.Helper()
	keys, err := ParseJWKS(readFile(t, "smart-2023/jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	const kid = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	crl, err := ParseCRL(readFile(t, "smart-2023/crl-"+kid+".json"), kid)
	if err != nil {
		t.Fatal(err)
	}
	tr := StaticTrust{}
	tr.Add(&Issuer{URL: specIssuer, Name: "SMART Health Cards examples", Keys: keys, CRLs: map[string]*CRL{kid: crl}})
	return tr
}

// atIssuance verifies as of a day after the card's nbf: the examples carry
// expiry dates that have since passed.
func atIssuance(t testing.TB, jws string) func() time.Time {
	j, err := ParseJWS(jws)
	if err != nil {
		t.Fatal(err)
	}
	return func() time.Time { return j.IssuedAt().Add(24 * time.Hour) }
}

type vector struct {
	dir, n string
	want   Status
	// revoked: the 2023 list revokes example 03 as published in 2023
	revoked bool
}

var vectors = []vector{
	{"hl7", "00", Valid, false}, {"hl7", "01", Valid, false}, {"hl7", "02", Valid, false},
	// issued 2024-05-07, after the 2023 list's timestamp for its rid: not revoked by it
	{"hl7", "03", Valid, false},
	{"smart-2023", "00", Valid, false}, {"smart-2023", "01", Valid, false}, {"smart-2023", "02", Valid, false},
	{"smart-2023", "03", Invalid, true},
}

func TestOfficialExamplesVerify(t *testing.T) {
	tr := specTrust(t)
	for _, v := range vectors {
		t.Run(v.dir+"/"+v.n, func(t *testing.T) {
			cards, err := ParseFile(readFile(t, v.dir+"/example-"+v.n+"-e-file.smart-health-card"))
			if err != nil || len(cards) != 1 {
				t.Fatalf("ParseFile: %v %d", err, len(cards))
			}
			if want := strings.TrimSpace(string(readFile(t, v.dir+"/example-"+v.n+"-d-jws.txt"))); cards[0] != want {
				t.Fatal("the file's card differs from example-NN-d-jws.txt")
			}
			r := (&Verifier{Trust: tr, Now: atIssuance(t, cards[0])}).Verify(context.Background(), cards[0])
			if r.Status != v.want {
				t.Fatalf("status %v (%s), want %v", r.Status, r.Problem, v.want)
			}
			if r.Signature.State != Passed {
				t.Errorf("signature %v: %s", r.Signature.State, r.Signature.Detail)
			}
			if got := r.Revocation.State == Failed; got != v.revoked {
				t.Errorf("revoked %v (%s), want %v", got, r.Revocation.Detail, v.revoked)
			}
			// The inflated payload is the published minified payload.
			want := bytes.TrimSpace(readFile(t, v.dir+"/example-"+v.n+"-c-jws-payload-minified.json"))
			if !bytes.Equal(r.JWS.Payload, want) {
				t.Errorf("payload differs from example-NN-c-jws-payload-minified.json")
			}
		})
	}
}

func TestOfficialExamplesExpire(t *testing.T) {
	// Example 03 has exp = nbf + 1 year (cards-specification.md, "Expiration
	// of Health Cards": verifiers SHALL reject an expired card).
	jws := strings.TrimSpace(string(readFile(t, "hl7/example-03-d-jws.txt")))
	j, _ := ParseJWS(jws)
	r := (&Verifier{Trust: specTrust(t), Now: func() time.Time { return j.ExpiresAt().Add(time.Second) }}).Verify(context.Background(), jws)
	if r.Status != Invalid || r.Expiry.State != Failed {
		t.Fatalf("status %v expiry %v, want invalid/failed", r.Status, r.Expiry)
	}
}

// tamper changes the signed payload (the patient's birth date) and keeps
// the header and signature.
func tamper(t testing.TB, jws string) string {
	parts := strings.Split(jws, ".")
	z, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p, err := inflate(z)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(p, []byte(`"birthDate":"`)); i >= 0 {
		p[i+len(`"birthDate":"`)+3]++ // 1951 -> 1952
	} else {
		p = bytes.Replace(p, []byte(`"status":"`), []byte(`"status":"x`), 1)
	}
	z, _ = deflate(p)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(z) + "." + parts[2]
}

func TestOfficialExamplesTamperedFail(t *testing.T) {
	tr := specTrust(t)
	for _, v := range vectors {
		jws := strings.TrimSpace(string(readFile(t, v.dir+"/example-"+v.n+"-d-jws.txt")))
		for name, bad := range map[string]string{
			"payload":   tamper(t, jws),
			"signature": jws[:len(jws)-3] + flip(jws[len(jws)-3]) + jws[len(jws)-2:],
			"issuer":    strings.Replace(jws, ".", ".", 1), // replaced below
		} {
			if name == "issuer" {
				bad = reissue(t, jws, "https://spec.smarthealth.cards/examples/issuer2")
			}
			r := (&Verifier{Trust: tr, Now: atIssuance(t, jws)}).Verify(context.Background(), bad)
			want := Invalid
			if name == "issuer" {
				want = UnknownIssuer
			}
			if r.Status != want {
				t.Errorf("%s/%s tampered %s: status %v (%s), want %v", v.dir, v.n, name, r.Status, r.Problem, want)
			}
		}
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// reissue changes iss in the payload, keeping the signature.
func reissue(t testing.TB, jws, iss string) string {
	parts := strings.Split(jws, ".")
	z, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p, _ := inflate(z)
	p = bytes.Replace(p, []byte(specIssuer), []byte(iss), 1)
	z, _ = deflate(p)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(z) + "." + parts[2]
}

func TestOfficialQRContents(t *testing.T) {
	// cards-specification.md, "Encoding QRs": shc:/ and two digits a character.
	for _, n := range []string{"00", "01", "03"} {
		jws := strings.TrimSpace(string(readFile(t, "hl7/example-"+n+"-d-jws.txt")))
		qr := strings.TrimSpace(string(readFile(t, "hl7/example-"+n+"-f-qr-code-numeric-value-0.txt")))
		got, err := JoinChunks([]string{qr})
		if err != nil || got != jws {
			t.Errorf("example %s: decoded QR differs from the JWS (%v)", n, err)
		}
		if enc, _ := QRContent(jws); enc != qr {
			t.Errorf("example %s: QRContent differs from the published QR content", n)
		}
	}
	// Example 02 was printed on three chunks (deprecated); a verifier still
	// joins them, in any order.
	var parts []string
	for _, i := range []string{"2", "0", "1"} {
		parts = append(parts, string(readFile(t, "hl7/example-02-f-qr-code-numeric-value-"+i+".txt")))
	}
	got, err := JoinChunks(parts)
	if want := strings.TrimSpace(string(readFile(t, "hl7/example-02-d-jws.txt"))); err != nil || got != want {
		t.Fatalf("chunks of example 02: %v", err)
	}
	if _, err := JoinChunks(parts[:2]); err == nil {
		t.Fatal("two of three chunks were accepted")
	}
}

func TestRIDMatchesPublishedExamples(t *testing.T) {
	// cards-specification.md, "Revocation": rid = base64url(hmac-sha-256(secret || kid, user_id)[1..64]).
	// The example issuer's secret and user ids (userid-NN) are in its generator
	// (smart-on-fhir/health-cards generate-examples/src), and its cards carry the rids.
	secret := []byte("GWdbF5850vxNt3HhHFl0dRvvN--C6rD77obJgGjK_Zg")
	const kid = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
	for user, want := range map[string]string{"userid-00": "MKyCxh7p6uQ", "userid-03": "vwAjHdarZuc"} {
		if got := RID(secret, kid, user); got != want {
			t.Errorf("RID(%s) = %s, want %s", user, got, want)
		}
	}
}

func TestCRLTimestampRule(t *testing.T) {
	c := NewCRL("k", 2, []Revocation{{RID: "abc"}, {RID: "def", Before: time.Unix(1000, 0)}})
	for _, tc := range []struct {
		rid  string
		nbf  float64
		want bool
	}{{"abc", 5, true}, {"abc", 5000, true}, {"def", 999.5, true}, {"def", 1000, false}, {"ghi", 1, false}, {"", 1, false}} {
		if got := c.Revokes(tc.rid, tc.nbf); got != tc.want {
			t.Errorf("Revokes(%s, %v) = %v", tc.rid, tc.nbf, got)
		}
	}
	if got := strings.Join(c.RIDs, ","); got != "abc,def.1000" {
		t.Errorf("rids %s", got)
	}
	if _, err := ParseCRL([]byte(`{"kid":"k","method":"rid","ctr":1,"rids":["a.b"]}`), "k"); err == nil {
		t.Error("a non-numeric timestamp was accepted")
	}
	if _, err := ParseCRL([]byte(`{"kid":"x","method":"rid","ctr":1,"rids":[]}`), "k"); err == nil {
		t.Error("another key's list was accepted")
	}
}

func readFileErr(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }
