package app_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mekong-fhir/mekong/internal/app"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// SMART App Launch, standalone
// (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-standalone-launch):
// the page sends the browser to the issuer's authorize endpoint with state
// and an S256 PKCE challenge (RFC 7636 §4.3), exchanges the code with the
// verifier at the token endpoint (§4.5), verifies the access token like
// any API token and signs the user in with its scopes; a callback with a
// wrong state is refused.
func TestSMARTStandaloneSignIn(t *testing.T) {
	secret := "issuer-test-secret-issuer-test-secret"
	var challenge, gotVerifier string
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authorize":
			q := r.URL.Query()
			if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "clinic-page" ||
				!strings.Contains(q.Get("scope"), "user/Patient.rs") || q.Get("aud") == "" {
				http.Error(w, "bad authorize request "+q.Encode(), 400)
				return
			}
			challenge = q.Get("code_challenge")
			http.Redirect(w, r, q.Get("redirect_uri")+"?code=the-code&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
		case "/token":
			_ = r.ParseForm()
			gotVerifier = r.PostForm.Get("code_verifier")
			sum := sha256.Sum256([]byte(gotVerifier))
			if r.PostForm.Get("code") != "the-code" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
				return
			}
			tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.test", "aud": "mekong", "sub": "nurse-7",
				"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "scope": "openid user/Patient.rs user/Immunization.rs user/Observation.rs",
				"mekong_org": "Organization/poipet"}).SignedString([]byte(secret))
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
		}
	}))
	defer issuer.Close()

	t.Setenv("MEKONG_TEST_ISSUER_SECRET", secret)
	cfg := &auth.Config{Issuers: []auth.IssuerConfig{{Issuer: "https://idp.test", Audience: []string{"mekong"}, Algorithms: []string{"HS256"},
		HMACSecret: "env:MEKONG_TEST_ISSUER_SECRET"}}}
	ver, err := auth.NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.OpenSQLite(t)
	svc := rest.New(st, parser, registry)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(app.Config{Service: svc, Sessions: st, Log: log, OAuth: &app.OAuth{Issuer: "https://idp.test",
		AuthorizeURL: issuer.URL + "/authorize", TokenURL: issuer.URL + "/token", ClientID: "clinic-page", Verifier: ver}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Auth: ver, App: a}, svc, st, log))
	defer srv.Close()
	e := &env{t: t, srv: srv, st: st, svc: svc, app: a}
	b := e.browser()

	status, page := b.get("/app/signin")
	if status != 200 || !strings.Contains(page, "Sign in with https://idp.test") || strings.Contains(page, "DEVELOPMENT") {
		t.Fatalf("sign-in page: %d %s", status, text(page))
	}
	// CSP lets the sign-in form go to the issuer, and nowhere else.
	res, _ := noRedirect().Get(srv.URL + "/app/signin")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+issuer.URL) {
		t.Fatalf("CSP %q", csp)
	}
	status, page = b.post("/app/signin", "/app/signin/smart", nil)
	if status != 200 || gotVerifier == "" {
		t.Fatalf("after the issuer: %d %s", status, text(page))
	}
	if _, page = b.get("/app/search"); !strings.Contains(page, "Signed in as nurse-7") {
		t.Fatalf("not signed in: %s", text(page))
	}
	// A callback that did not start here is refused.
	other := e.browser()
	if status, _ := other.get("/app/callback?code=the-code&state=forged"); status != 400 {
		t.Fatalf("forged callback: %d", status)
	}
}
