package server_test

// The first hour of an integrator (issue 14): trailing slashes, duplicate
// credentials and the other things FHIR client libraries do that a server
// must take in its stride.

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/app"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/metrics"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// newServerWithBulk serves every route there is on SQLite, as serve --dev
// does: bulk, identity ($match, $identity-*), SMART Health Cards, /metrics
// and the clinic page, returning the handler too for its route list. The
// suites that walk RouteList rely on it (TestEveryFeatureIsRouted).
func newServerWithBulk(t *testing.T) (*httptest.Server, *server.Server) {
	db := storetest.OpenSQLite(t)
	svc := rest.New(db, parser, registry)
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	svc.SetIdentity(m, rest.IdentityOptions{})
	svc.EnableHealthCards(rest.HealthCardConfig{}, db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := bulk.New(bulk.Config{}, db, svc, log)
	clinic, err := app.New(app.Config{Service: svc, Sessions: db, Dev: true, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	a := newAPIWith(t, db, svc, server.Config{Bulk: b, Metrics: metrics.New(), App: clinic})
	return a.srv, a.srv.Config.Handler.(*server.Server)
}

// TestEveryFeatureIsRouted keeps newServerWithBulk whole: the bad-input and
// trailing-slash suites cover only the routes it registers, so every
// operation with an OperationDefinition, /metrics and /app must be among
// them.
func TestEveryFeatureIsRouted(t *testing.T) {
	_, h := newServerWithBulk(t)
	var paths []string
	for _, r := range h.RouteList() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	all := strings.Join(paths, "\n")
	ops, err := filepath.Glob("../definitions/operations/*.json")
	if err != nil || len(ops) == 0 {
		t.Fatalf("no OperationDefinitions found: %v", err)
	}
	want := []string{"GET /metrics", "GET /app", "$export", "$import", "GET /fhir/:type"}
	for _, f := range ops {
		var def struct{ Code string }
		raw, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(raw, &def) != nil || def.Code == "" {
			t.Fatalf("%s: no code (%v)", f, err)
		}
		want = append(want, "/$"+def.Code)
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("newServerWithBulk registers no route with %q; the bad-input suite would not see it", w)
		}
	}
}

// TestTrailingSlashOnEveryRoute: FHIR builds URLs as [base]/[path]
// (https://hl7.org/fhir/R4/http.html#general); fhir-kit-client POSTs
// batches and transactions to "[base]/". Every route answers with and
// without a trailing slash alike, and never with a redirect (a redirected
// POST loses its body in many clients).
func TestTrailingSlashOnEveryRoute(t *testing.T) {
	srv, h := newServerWithBulk(t)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	fill := strings.NewReplacer(":type", "Patient", ":id", "x", ":vid", "1", ":job", "nojob", ":file", "output-0.ndjson")
	send := func(method, path string) (int, string, string) {
		var body io.Reader
		if method == "POST" || method == "PUT" || method == "PATCH" {
			body = strings.NewReader(`{"resourceType":"Patient","id":"x"}`)
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Location")
	}
	n := 0
	for _, r := range h.RouteList() {
		if strings.Contains(r.Path, "*") || r.Method == "OPTIONS" {
			continue
		}
		path := fill.Replace(r.Path)
		want, wantBody, wantAt := send(r.Method, path)
		got, body, gotAt := send(r.Method, path+"/")
		// A second PUT or POST may update where the first created.
		same := got == want || got/100 == 2 && want/100 == 2
		// The clinic page sends a browser without a session to its sign-in
		// (303) with or without the slash; a redirect the slash causes is
		// the defect.
		slashRedirect := got/100 == 3 && (want/100 != 3 || gotAt != wantAt)
		// A route that is off (the clinic page's SMART callback without
		// OAuth) says "no FHIR endpoint" with or without the slash.
		unrouted := func(status int, body string) bool {
			return status == http.StatusNotFound && strings.Contains(body, "no FHIR endpoint")
		}
		if !same || unrouted(got, body) && !unrouted(want, wantBody) || slashRedirect {
			t.Errorf("%s %s/: status %d, without the slash %d: %s", r.Method, path, got, want, body)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("only %d routes checked", n)
	}
}

// TestTrailingSlashClientFlows: the requests of issue 14 item 1, as a
// client sends them: a transaction POSTed to [base]/ stores its entries,
// and GET [base]/Patient/ is the type search.
func TestTrailingSlashClientFlows(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:5b3c1d8e-0000-4000-8000-000000000001",
		  "resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}}]}`
		r := a.want(a.do("POST", "/", tx), 200).json(t)
		if r["type"] != "transaction-response" {
			t.Fatalf("POST [base]/ answered %v", r)
		}
		s := a.want(a.do("GET", "/Patient/", ""), 200).json(t)
		if s["type"] != "searchset" || s["total"] != float64(1) {
			t.Fatalf("GET [base]/Patient/ answered %v", s)
		}
		a.want(a.do("GET", "/Patient/?gender=female", ""), 200)
		a.want(a.do("GET", "/metadata/", ""), 200)
	})
}

// TestTwoAuthorizationHeaders: RFC 7235 section 4.2 gives Authorization one
// credential; a request with two is ambiguous and refused with 400 before
// either is tried, whatever the tokens.
func TestTwoAuthorizationHeaders(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	a := newAuthAPI(t, st, server.Config{})
	good := a.mint("user/*.cruds", "")
	narrow := a.mint("user/Observation.rs", "")
	for _, pair := range [][2]string{{good, narrow}, {narrow, good}, {good, good}} {
		req, _ := http.NewRequest("GET", a.base+"/Patient", nil)
		req.Header.Add("Authorization", "Bearer "+pair[0])
		req.Header.Add("Authorization", "Bearer "+pair[1])
		res, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("Authorization headers")) || !bytes.Contains(b, []byte(`"expression":["Authorization"]`)) {
			t.Fatalf("two Authorization headers: %d %s", res.StatusCode, b)
		}
	}
	// One is still fine.
	a.want(a.as(good, "GET", "/Patient", ""), 200)

	// Every route that takes a token refuses two, /metrics included (it
	// read the first one).
	srv, h := newServerWithBulk(t)
	n := 0
	for _, r := range h.RouteList() {
		public := strings.Contains(r.Path, ".well-known") || strings.HasSuffix(r.Path, "/metadata") ||
			!strings.HasPrefix(r.Path, "/fhir") && r.Path != "/metrics"
		if public || strings.Contains(r.Path, "*") || r.Method == "OPTIONS" {
			continue
		}
		path := strings.NewReplacer(":type", "Patient", ":id", "x", ":vid", "1", ":job", "j", ":file", "f").Replace(r.Path)
		req, _ := http.NewRequest(r.Method, srv.URL+path, nil)
		req.Header.Add("Authorization", "Bearer a")
		req.Header.Add("Authorization", "Bearer b")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || r.Method != "HEAD" && !bytes.Contains(b, []byte("Authorization headers")) {
			t.Errorf("%s %s with two Authorization headers: %d %.200s", r.Method, path, res.StatusCode, b)
		}
		n++
	}
	if n < 40 {
		t.Fatalf("only %d routes tried", n)
	}
}

// TestSmartConfigurationOnlyWhatIsConfigured: the discovery document
// (https://hl7.org/fhir/smart-app-launch/conformance.html) advertises a
// grant only with the endpoint that serves it. A client reading
// authorization_code with no authorization_endpoint, or client_credentials
// with no token_endpoint, has nowhere to go.
func TestSmartConfigurationOnlyWhatIsConfigured(t *testing.T) {
	st := storetest.Backends()[0].Open(t)
	cases := []struct {
		name             string
		cfg              server.Config
		grants, has, not []string
	}{
		{"no OAuth endpoints", server.Config{}, nil,
			[]string{`"permission-v2"`, `"patient/Observation.rs"`},
			[]string{"token_endpoint", "authorization_endpoint", "client-confidential-asymmetric", "code_challenge_methods_supported", "launch-standalone"}},
		{"token endpoint", server.Config{TokenEndpoint: "https://idp.example.org/token"}, []string{"client_credentials"},
			[]string{`"token_endpoint":"https://idp.example.org/token"`, `"private_key_jwt"`, `"client-confidential-asymmetric"`},
			[]string{"authorization_endpoint", "code_challenge_methods_supported", "launch-standalone"}},
		{"authorization endpoint without a token endpoint", server.Config{AuthorizeEndpoint: "https://idp.example.org/authorize"}, nil,
			nil, []string{"authorization_endpoint", "token_endpoint"}},
		{"both", server.Config{TokenEndpoint: "https://idp.example.org/token?realm=a&b=c", AuthorizeEndpoint: "https://idp.example.org/authorize"},
			[]string{"client_credentials", "authorization_code"},
			[]string{`"authorization_endpoint":"https://idp.example.org/authorize"`, `"S256"`, `"launch-standalone"`, `realm=a&b=c`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, st, tc.cfg)
			r := a.want(a.do("GET", a.srv.URL+"/.well-known/smart-configuration/", ""), 200)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var doc struct {
				Grants []string `json:"grant_types_supported"`
			}
			_ = json.Unmarshal(r.body, &doc)
			if strings.Join(doc.Grants, ",") != strings.Join(tc.grants, ",") || doc.Grants == nil {
				t.Errorf("grant_types_supported %q, want %q", doc.Grants, tc.grants)
			}
			for _, s := range tc.has {
				if !strings.Contains(string(r.body), s) {
					t.Errorf("missing %s in %s", s, r.body)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(string(r.body), s) {
					t.Errorf("%s advertised in %s", s, r.body)
				}
			}
		})
	}
}

// TestNoHTMLEscapingInResponses: encoding/json's HTML escaping turned "&"
// in next links into \u0026, so a link copied from curl's output was
// broken (issue 14 item 6). Links, messages and stored bytes keep &, < and
// > as they are.
func TestNoHTMLEscapingInResponses(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for range 3 {
			a.want(a.do("POST", "/Patient", `{"resourceType":"Patient","gender":"male","name":[{"text":"A & B <C>"}]}`), 201)
		}
		for _, path := range []string{"/Patient?gender=male&_count=1", "/Patient?gender=male&_count=1&_pretty=true", "/Patient/_history?_count=1"} {
			r := a.want(a.do("GET", path, ""), 200)
			if !strings.Contains(string(r.body), "&_count=1") && !strings.Contains(string(r.body), "_count=1&") {
				t.Errorf("%s: no raw & in the links: %s", path, r.body)
			}
			if strings.Contains(string(r.body), `\u00`) || !strings.Contains(string(r.body), `"A & B <C>"`) {
				t.Errorf("%s: HTML-escaped JSON: %s", path, r.body)
			}
		}
		r := a.want(a.do("GET", "/Patient?birthdate=<1990", ""), 400)
		if strings.Contains(string(r.body), `\u003c`) || !strings.Contains(string(r.body), `<1990`) {
			t.Errorf("OperationOutcome escapes <: %s", r.body)
		}
	})
}

// TestOperationWithTheWrongMethod: an operation is invoked with the methods
// its OperationDefinition allows (https://hl7.org/fhir/R4/operations.html#request);
// GET Patient/$match must not be served as the read of a Patient whose id
// is "$match" ("invalid id"), nor GET $import-health-card as a search of a
// type "$import-health-card". The answer is 405 naming the operation and
// its methods (Allow), or 404 for an operation that does not exist.
func TestOperationWithTheWrongMethod(t *testing.T) {
	srv, _ := newServerWithBulk(t)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, c := range []struct {
		method, path string
		status       int
		allow, says  string
	}{
		{"GET", "/fhir/Patient/$match", 405, "POST", "$match is invoked with POST, not GET"},
		{"DELETE", "/fhir/Patient/$match", 405, "POST", "$match is invoked with POST"},
		{"PUT", "/fhir/Patient/$identity-link", 405, "POST", "$identity-link is invoked with POST"},
		{"GET", "/fhir/$import-health-card", 405, "POST", "$import-health-card is invoked with POST"},
		{"DELETE", "/fhir/Patient/$summary", 405, "GET, POST", "$summary is invoked with GET or POST"},
		{"GET", "/fhir/Patient/$bogus", 404, "", "$bogus is not an operation served at /fhir/Patient/$bogus"},
		{"GET", "/fhir/$bogus", 404, "", "$bogus is not an operation"},
		// The clinic page keeps its own answers (a sign-in redirect here).
		{"GET", "/app/patient/$match", 303, "", ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(`{"resourceType":"Patient"}`))
		req.Header.Set("Content-Type", "application/fhir+json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || res.Header.Get("Allow") != c.allow || !strings.Contains(string(body), c.says) {
			t.Errorf("%s %s: %d Allow %q %s; want %d Allow %q saying %q", c.method, c.path, res.StatusCode, res.Header.Get("Allow"), body, c.status, c.allow, c.says)
		}
	}
}

// TestSourceOperationParameters: $convert, $ingest and $export-source take
// the parameters of their OperationDefinitions, once each; anything else is
// a 400 naming it, as $match, $summary and $identity-review do. An $ingest
// with a misspelt parameter stored the rows as if it had been read; a
// multipart body whose parts are all empty stored nothing and said 200.
func TestSourceOperationParameters(t *testing.T) {
	srv, _ := newServerWithBulk(t)
	do := func(method, path, ct, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	csv := "case_number,family_name,given_name,sex,date_of_birth,nationality\nIOM-1,Sok,Dara,M,1990-04-01,KHM\n"
	for _, c := range []struct{ method, path, says, expr string }{
		{"POST", "/fhir/$ingest?format=iom-csv&bogus=1", `\"bogus\" is not a parameter of $ingest (format)`, "bogus"},
		{"POST", "/fhir/$convert?format=iom-csv&hospcode=10742", `\"hospcode\" is not a parameter of $convert (format)`, "hospcode"},
		{"POST", "/fhir/$convert?format=iom-csv&format=th43", "format appears 2 times; $convert takes it once", "format"},
		{"GET", "/fhir/Patient/x/$export-source?format=th43&hospcode=10742&hospcode=10743", "hospcode appears 2 times", "hospcode"},
		{"GET", "/fhir/Patient/x/$export-source?format=iom-csv&since=2020", `\"since\" is not a parameter of $export-source (format, hospcode, typearea)`, "since"},
	} {
		status, body := do(c.method, c.path, "text/csv", csv)
		if status != 400 || !strings.Contains(body, c.says) || !strings.Contains(body, `"expression":["`+c.expr+`"]`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, body)
		}
	}
	if status, body := do("POST", "/fhir/$ingest?format=iom-csv&_format=json", "text/csv", csv); status != 200 {
		t.Errorf("$ingest with _format: %d %s", status, body)
	}
	status, body := do("POST", "/fhir/$ingest?format=iom-csv", "multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"iom.csv\"\r\n\r\n\r\n--zz--\r\n")
	if status != 400 || !strings.Contains(body, "no payload") {
		t.Errorf("multipart with an empty file: %d %s", status, body)
	}
}

// TestHEADIsGETWithoutContent: RFC 9110 section 9.3.2 (HEAD is GET without
// the content; "all general-purpose servers MUST support the methods GET
// and HEAD", section 9.1). curl -I on a read or /metadata was 405.
func TestHEADIsGETWithoutContent(t *testing.T) {
	srv, _ := newServerWithBulk(t)
	req, _ := http.NewRequest("PUT", srv.URL+"/fhir/Patient/h1", strings.NewReader(`{"resourceType":"Patient","id":"h1"}`))
	req.Header.Set("Content-Type", "application/fhir+json")
	if res, err := srv.Client().Do(req); err != nil || res.StatusCode != 201 {
		t.Fatalf("PUT: %v %v", res, err)
	}
	for _, c := range []struct {
		path   string
		status int
		header string
	}{
		{"/fhir/metadata", 200, "Content-Type"},
		{"/fhir/Patient/h1", 200, "ETag"},
		{"/fhir/Patient?_id=h1", 200, "Content-Type"},
		{"/fhir/Patient/nope", 404, "Content-Type"},
		{"/healthz", 200, ""},
	} {
		res, err := srv.Client().Head(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || len(b) != 0 || c.header != "" && res.Header.Get(c.header) == "" {
			t.Errorf("HEAD %s: %d, %d bytes, %s %q", c.path, res.StatusCode, len(b), c.header, res.Header.Get(c.header))
		}
	}
}
