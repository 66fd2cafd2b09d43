// Bearer token verification: RFC 6750 (https://www.rfc-editor.org/rfc/rfc6750#section-3),
// RFC 7519 (exp, nbf, iat, iss, aud), RFC 8725 §3.1 (algorithm verification)
// and SMART scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type keys struct {
	rsa     *rsa.PrivateKey
	rsaPEM  []byte
	other   *rsa.PrivateKey
	ed      ed25519.PrivateKey
	dir     string
	rsaPath string
	edPath  string
}

var testKeys = sync.OnceValue(func() *keys {
	k := &keys{}
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.other, _ = rsa.GenerateKey(rand.Reader, 2048)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	return k
})

func writePub(t *testing.T, dir, name string, pub crypto.PublicKey) (string, []byte) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b
}

const aud = "https://mekong.test/fhir"

// verifier trusts "rsa-idp" (RS256, PEM), "ed-idp" (EdDSA, PEM) and "hmac-idp" (HS256).
func verifier(t *testing.T) (*Verifier, *keys, []byte) {
	t.Helper()
	k := testKeys()
	dir := t.TempDir()
	rsaPath, rsaPEM := writePub(t, dir, "rsa.pem", k.rsa.Public())
	edPath, _ := writePub(t, dir, "ed.pem", k.ed.Public())
	cfg := &Config{Issuers: []IssuerConfig{
		{Issuer: "rsa-idp", Audience: []string{aud}, Algorithms: []string{"RS256"}, PublicKeys: []string{rsaPath}},
		{Issuer: "ed-idp", Audience: []string{aud}, Algorithms: []string{"EdDSA"}, PublicKeys: []string{edPath}, OrganizationClaim: "org"},
		{Issuer: "hmac-idp", Audience: []string{aud}, Algorithms: []string{"HS256"}, HMACSecret: "dev-secret-0123456789abcdef"},
	}}
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v, k, rsaPEM
}

func claims(iss string, mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": iss, "aud": aud, "sub": "nurse-1", "client_id": "clinic-app", "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "jti": "t-1", "scope": "openid user/Observation.rs patient/Immunization.read mekong/label.HIV",
		"mekong_org": "Organization/poipet-clinic", "patient": "p1", "purpose_of_use": "TREAT"}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyValidTokens(t *testing.T) {
	v, k, _ := verifier(t)
	for name, tok := range map[string]string{
		"RS256": sign(t, jwt.SigningMethodRS256, k.rsa, claims("rsa-idp", nil)),
		"EdDSA": sign(t, jwt.SigningMethodEdDSA, k.ed, claims("ed-idp", func(c jwt.MapClaims) { c["org"] = "Organization/poipet-clinic" })),
		"HS256": sign(t, jwt.SigningMethodHS256, []byte("dev-secret-0123456789abcdef"), claims("hmac-idp", nil)),
		// within the 60s clock skew
		"just expired": sign(t, jwt.SigningMethodRS256, k.rsa, claims("rsa-idp", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-30 * time.Second).Unix() })),
	} {
		t.Run(name, func(t *testing.T) {
			p, err := v.Authenticate(context.Background(), "Bearer "+tok)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != "nurse-1" || p.ClientID != "clinic-app" || p.Organization != "Organization/poipet-clinic" ||
				p.Patient != "p1" || p.TokenID != "t-1" || len(p.PurposeOfUse) != 1 || len(p.RawScopes) != 4 {
				t.Fatalf("principal %+v", p)
			}
			if !p.Allows("Observation", Search) || p.Allows("Observation", Create) || !p.PatientOnly("Immunization", Read) ||
				!p.MaySee("http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV") || p.MaySee("http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R") {
				t.Fatalf("scopes %+v labels %v", p.Scopes, p.Labels)
			}
		})
	}
}

// Every way a token can be wrong is a 401 invalid_token (missing
// credentials: no error code, RFC 6750 §3.1), and none echoes the token.
func TestVerifyRejects(t *testing.T) {
	v, k, rsaPEM := verifier(t)
	rs := func(mod func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodRS256, k.rsa, claims("rsa-idp", mod))
	}
	noneTok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("rsa-idp", nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := []struct {
		name, header, code, says string
	}{
		{"missing", "", "", "send an access token"},
		{"other scheme", "Basic dXNlcjpwdw==", "", "send an access token"},
		{"empty bearer", "Bearer ", "invalid_request", "empty"},
		{"malformed", "Bearer not.a.jwt", "invalid_token", "well-formed"},
		{"expired", "Bearer " + rs(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }), "invalid_token", "expired"},
		{"no exp", "Bearer " + rs(func(c jwt.MapClaims) { delete(c, "exp") }), "invalid_token", "exp"},
		{"not yet valid", "Bearer " + rs(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }), "invalid_token", "nbf"},
		{"issued in the future", "Bearer " + rs(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() }), "invalid_token", "iat"},
		{"wrong signature", "Bearer " + sign(t, jwt.SigningMethodRS256, k.other, claims("rsa-idp", nil)), "invalid_token", "signature"},
		{"wrong issuer", "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, claims("evil-idp", nil)), "invalid_token", "issuer"},
		{"wrong audience", "Bearer " + rs(func(c jwt.MapClaims) { c["aud"] = "https://other.example/fhir" }), "invalid_token", "aud"},
		// The classic confusion: the RS256 issuer's public key used as an HMAC secret.
		{"RS256 key as HMAC secret", "Bearer " + sign(t, jwt.SigningMethodHS256, rsaPEM, claims("rsa-idp", nil)), "invalid_token", "algorithm"},
		{"alg none", "Bearer " + noneTok, "invalid_token", "algorithm"},
		// A valid signature of another issuer's algorithm is still refused.
		{"EdDSA for the RS256 issuer", "Bearer " + sign(t, jwt.SigningMethodEdDSA, k.ed, claims("rsa-idp", nil)), "invalid_token", "algorithm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := v.Authenticate(context.Background(), c.header)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			ae, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T %v", err, err)
			}
			if ae.Code != c.code || !strings.Contains(ae.Description, c.says) {
				t.Fatalf("got %q %q, want %q containing %q", ae.Code, ae.Description, c.code, c.says)
			}
			if tok := strings.TrimPrefix(c.header, "Bearer "); len(tok) > 8 && strings.Contains(ae.Error(), tok[:8]) {
				t.Fatalf("the error echoes the token: %v", ae)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	ok := IssuerConfig{Issuer: "i", Audience: []string{"a"}, Algorithms: []string{"RS256"}, JWKSURL: "https://i/jwks"}
	for name, mod := range map[string]func(*IssuerConfig){
		"none":                func(c *IssuerConfig) { c.Algorithms = []string{"none"} },
		"HS256 with jwks":     func(c *IssuerConfig) { c.Algorithms = []string{"HS256"} },
		"RS256 with a secret": func(c *IssuerConfig) { c.JWKSURL, c.HMACSecret = "", "s" },
		"two key sources":     func(c *IssuerConfig) { c.PublicKeys = []string{"k.pem"} },
		"no key source":       func(c *IssuerConfig) { c.JWKSURL = "" },
		"no audience":         func(c *IssuerConfig) { c.Audience = nil },
		"no algorithms":       func(c *IssuerConfig) { c.Algorithms = nil },
		"unknown algorithm":   func(c *IssuerConfig) { c.Algorithms = []string{"RS1"} },
	} {
		ic := ok
		mod(&ic)
		if err := (&Config{Issuers: []IssuerConfig{ic}}).Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (&Config{Issuers: []IssuerConfig{ok}}).Check(); err != nil {
		t.Fatal(err)
	}
	// Unknown fields are refused: a misspelt option must not weaken checks.
	path := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(path, []byte(`{"issuers":[{"issuer":"i","audience":["a"],"algorithms":["RS256"],"jwks_url":"https://i/j","audiences":["x"]}]}`), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "audiences") {
		t.Fatalf("LoadConfig: %v", err)
	}
	// The documented example loads.
	if _, err := LoadConfig("../../docs/auth-config.example.json"); err != nil {
		t.Fatalf("example config: %v", err)
	}
}

func jwk(kid string, k *ecdsa.PrivateKey) map[string]string {
	b := func(x []byte) string { return base64.RawURLEncoding.EncodeToString(x) }
	pub, _ := k.PublicKey.ECDH()
	raw := pub.Bytes() // 0x04 || X || Y
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig", "x": b(raw[1:33]), "y": b(raw[33:])}
}

// A JWKS issuer: keys are fetched from the URL and fetched again when a
// token names a kid the cached set lacks (key rotation).
func TestVerifyJWKSRotation(t *testing.T) {
	a, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var mu sync.Mutex
	set := []map[string]string{jwk("a", a)}
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		json.NewEncoder(w).Encode(map[string]any{"keys": set})
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := NewVerifier(ctx, &Config{Issuers: []IssuerConfig{{Issuer: "idp", Audience: []string{aud}, Algorithms: []string{"ES256"}, JWKSURL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	tok := func(kid string, k *ecdsa.PrivateKey) string {
		j := jwt.NewWithClaims(jwt.SigningMethodES256, claims("idp", nil))
		j.Header["kid"] = kid
		s, err := j.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	if _, err := v.Authenticate(ctx, tok("a", a)); err != nil {
		t.Fatalf("key a: %v", err)
	}
	mu.Lock()
	set = append(set, jwk("b", b))
	mu.Unlock()
	if _, err := v.Authenticate(ctx, tok("b", b)); err != nil {
		t.Fatalf("rotated key b: %v", err)
	}
	if _, err := v.Authenticate(ctx, tok("b", a)); err == nil {
		t.Fatal("kid b signed with key a was accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if fetches < 2 {
		t.Fatalf("JWKS fetched %d times; an unknown kid should refetch", fetches)
	}
}

// An unreachable JWKS fails within its timeout, as a 401, not a hang.
func TestVerifyJWKSTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	t0 := time.Now()
	v, err := NewVerifier(ctx, &Config{Issuers: []IssuerConfig{{Issuer: "idp", Audience: []string{aud}, Algorithms: []string{"ES256"},
		JWKSURL: srv.URL, JWKSTimeout: Duration(300 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	j := jwt.NewWithClaims(jwt.SigningMethodES256, claims("idp", nil))
	j.Header["kid"] = "a"
	s, _ := j.SignedString(k)
	if _, err := v.Authenticate(ctx, "Bearer "+s); err == nil {
		t.Fatal("accepted without keys")
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}
