// Authentication and rate limiting over HTTP: RFC 6750 §3
// (https://www.rfc-editor.org/rfc/rfc6750#section-3), SMART discovery
// (https://hl7.org/fhir/smart-app-launch/conformance.html) and
// CapabilityStatement.rest.security (https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.security).
package server_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// authAPI is an API that verifies tokens of a development key; mint signs them.
type authAPI struct {
	*api
	mint func(scope, patient string) string
}

func newAuthAPI(t *testing.T, st store.Store, cfg server.Config, opts ...func(*rest.Service)) *authAPI {
	t.Helper()
	key, v := devAuth(t)
	cfg.Auth = v
	return &authAPI{api: newAPI(t, st, cfg, opts...), mint: func(scope, patient string) string {
		tok, err := auth.Mint(key, auth.MintOptions{Scopes: strings.Fields(scope), Patient: patient, ClientID: "client-" + scope + patient})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}}
}

// devAuth is a development signing key and a verifier trusting it.
func devAuth(t *testing.T) (ed25519.PrivateKey, *auth.Verifier) {
	t.Helper()
	dir := t.TempDir()
	key, _, err := auth.DevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), &auth.Config{Issuers: []auth.IssuerConfig{auth.DevIssuerConfig(dir)}})
	if err != nil {
		t.Fatal(err)
	}
	return key, v
}

func (a *authAPI) as(tok, method, path, body string, headers ...string) resp {
	a.t.Helper()
	return a.do(method, path, body, append([]string{"Authorization", "Bearer " + tok}, headers...)...)
}

func TestAuthenticationHTTP(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	a := newAuthAPI(t, st, server.Config{})
	good := a.mint("user/*.cruds", "")

	// Public: the CapabilityStatement (with its security), SMART discovery, health.
	cs := a.want(a.do("GET", "/metadata", ""), 200).json(t)
	sec := cs["rest"].([]any)[0].(map[string]any)["security"].(map[string]any)
	if sec["cors"] != true || !strings.Contains(string(mustJSON(sec)), `"code":"SMART-on-FHIR"`) || sec["description"] == "" {
		t.Fatalf("rest.security: %v", sec)
	}
	for _, path := range []string{a.srv.URL + "/.well-known/smart-configuration", a.base + "/.well-known/smart-configuration"} {
		sc := a.want(a.do("GET", path, ""), 200).json(t)
		scopes, _ := sc["scopes_supported"].([]any)
		if !strings.Contains(string(mustJSON(scopes)), `"patient/Observation.rs"`) || !strings.Contains(string(mustJSON(sc["capabilities"])), "permission-v2") {
			t.Fatalf("%s: %v", path, sc)
		}
	}
	a.want(a.do("GET", a.srv.URL+"/healthz", ""), 200)

	// Missing token: 401, a bare Bearer challenge, an OperationOutcome.
	r := a.want(a.do("GET", "/Patient", ""), 401)
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="mekong"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
	if is := r.issue(t); is["code"] != "login" {
		t.Fatalf("issue %v", is)
	}
	// A bad token: invalid_token, on every kind of route (Bundle, history, $validate too).
	for _, req := range [][2]string{{"GET", "/Patient/x"}, {"POST", ""}, {"GET", "/_history"}, {"POST", "/Patient/$validate"}} {
		r := a.want(a.do(req[0], req[1], `{"resourceType":"Patient"}`, "Authorization", "Bearer "+good[:len(good)-4]+"AAAA"), 401)
		if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
			t.Fatalf("%v: WWW-Authenticate %q", req, h)
		}
	}
	// A good token passes; a missing scope is 403 insufficient_scope.
	a.want(a.as(good, "GET", "/Patient", ""), 200)
	r = a.want(a.as(a.mint("user/Patient.rs", ""), "POST", "/Patient", `{"resourceType":"Patient"}`), 403)
	if is := r.issue(t); is["code"] != "forbidden" || !strings.Contains(r.header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("403: %v %v", is, r.header)
	}
	// Tokens never reach the log.
	if strings.Contains(a.logs.String(), good[:20]) || strings.Contains(a.logs.String(), good[len(good)-20:]) {
		t.Fatal("a token was logged")
	}
}

// Each client has its own bucket: over it, 429 with Retry-After and a
// throttled OperationOutcome; another client is not affected.
func TestRateLimitPerClient(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	a := newAuthAPI(t, st, server.Config{RateLimit: &auth.RateLimit{PerSecond: 0.5, Burst: 2}})
	busy, other := a.mint("user/*.rs", ""), a.mint("user/Patient.rs", "")
	a.want(a.as(busy, "GET", "/Patient", ""), 200)
	a.want(a.as(busy, "GET", "/Patient", ""), 200)
	r := a.want(a.as(busy, "GET", "/Patient", ""), 429)
	if r.header.Get("Retry-After") == "" || r.issue(t)["code"] != "throttled" {
		t.Fatalf("429: %v %s", r.header, r.body)
	}
	a.want(a.as(other, "GET", "/Patient", ""), 200)
	a.want(a.do("GET", "/metadata", ""), 200) // public routes are not limited
}

// A --auth none principal (auth.Open) may do everything, confidential data included.
func TestOpenAuthenticator(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	a := newAPI(t, st, server.Config{Auth: auth.Open{}})
	a.want(a.do("PUT", "/Observation/o", `{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"56888-1"}]}}`), 201)
	a.want(a.do("GET", "/Observation/o", ""), 200)
	b := a.want(a.do("GET", "/Observation?_security=http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV", ""), 200).json(t)
	if b["total"] != float64(1) {
		t.Fatalf("the HIV test was not labelled and indexed: %v", b)
	}
}
