package app_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/app"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var parser = func() *resource.Parser {
	p, err := resource.NewParser()
	if err != nil {
		panic(err)
	}
	return p
}()

var registry = func() *search.Registry {
	r, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600))
	if err != nil {
		panic(err)
	}
	return r
}()

// env is a gateway as `mekong serve --dev` runs it: the FHIR API with the
// development issuer trusted, and the clinic page, over one store holding
// one person recorded by a Thai hospital (43 files) and by Cambodia's
// DHIS2, loaded through the real mappings from examples/clinic-* (the
// README loads the same files).
type env struct {
	t    *testing.T
	srv  *httptest.Server
	st   *sqlstore.DB
	svc  *rest.Service
	app  *app.App
	key  ed25519.PrivateKey
	dara string // the person's Patient id
}

type envOpts struct {
	noDev      bool
	breakGlass time.Duration
	st         *sqlstore.DB
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	st := o.st
	if st == nil {
		st = storetest.OpenSQLite(t)
	}
	svc := rest.New(st, parser, registry)
	svc.Policy.BreakGlassFor = o.breakGlass
	svc.EnableHealthCards(rest.HealthCardConfig{}, st) // as serve does; cards' iss is then the request's base
	dir := t.TempDir()
	key, _, err := auth.DevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := auth.NewVerifier(context.Background(), &auth.Config{Issuers: []auth.IssuerConfig{auth.DevIssuerConfig(dir)}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(app.Config{Service: svc, Sessions: st, Dev: !o.noDev, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Config{Auth: ver, App: a}, svc, st, log)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, st: st, svc: svc, app: a, key: key}
	if o.st == nil {
		th43 := "../../examples/clinic-th43/"
		e.load("th43", th43+"PERSON.txt", th43+"EPI.txt", th43+"LABFU.txt", th43+"SPECIALPP.txt")
		e.load("dhis2", "../../examples/clinic-dhis2.json")
	}
	e.dara = e.patientID("identifier=N01234567")
	return e
}

// load ingests source files through the real mappings, as $ingest does.
func (e *env) load(format string, files ...string) {
	e.t.Helper()
	var in []ingest.Input
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		in = append(in, ingest.Input{Name: filepath.Base(f), Data: b})
	}
	res, err := ingest.Decode(format, in, ingest.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	rep, err := ingest.Ingest(context.Background(), e.svc, e.srv.URL+"/fhir", format, res, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if rep.Persons == 0 {
		e.t.Fatalf("%s: no person ingested", format)
	}
}

func (e *env) patientID(query string) string {
	e.t.Helper()
	q, _ := url.ParseQuery(query)
	res, err := e.svc.Search(context.Background(), rest.Request{Base: e.srv.URL + "/fhir", Type: "Patient", Query: q})
	if err != nil {
		e.t.Fatal(err)
	}
	m := regexp.MustCompile(`"fullUrl":"[^"]*/Patient/([^"]+)"`).FindAllSubmatch(res.Body, -1)
	if len(m) != 1 {
		return ""
	}
	return string(m[0][1])
}

// token mints a development token, as `mekong token` does.
func (e *env) token(sub, scopes string) string {
	e.t.Helper()
	tok, err := auth.Mint(e.key, auth.MintOptions{Subject: sub, Scopes: strings.Fields(scopes), ClientID: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// api calls the FHIR API with a bearer token.
func (e *env) api(tok, path string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/fhir"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// browser is a cookie-keeping HTTP client for the page (no JavaScript).
type browser struct {
	e    *env
	c    *http.Client
	lang string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar}}
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

func (b *browser) get(path string) (int, string) { return b.do("GET", path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(html string) string {
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

// post submits a form of the page at from, with that page's CSRF token.
func (b *browser) post(from, path string, form url.Values) (int, string) {
	b.e.t.Helper()
	_, page := b.get(from)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrfOf(page))
	return b.do("POST", path, form)
}

func (b *browser) signIn(role string) {
	b.e.t.Helper()
	status, page := b.post("/app/signin", "/app/signin/dev", url.Values{"role": {role}})
	if status != 200 || !strings.Contains(page, `action="/app/search"`) {
		b.e.t.Fatalf("sign in as %s: %d %s", role, status, page)
	}
}

func (b *browser) search(q, year string) string {
	b.e.t.Helper()
	status, page := b.post("/app/search", "/app/search", url.Values{"q": {q}, "year": {year}})
	if status != 200 {
		b.e.t.Fatalf("search %q: %d %s", q, status, page)
	}
	return page
}

func newFormRequest(u string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// xssPatient is written by an API client: names and an identifier holding
// markup, quotes and Khmer combining marks (coeng, vowel signs).
const xssPatient = `{"resourceType":"Patient",
 "identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"X<1>\"2"}],
 "name":[{"family":"<script>alert(\"x\")</script>","given":["<img src=x onerror=alert(1)>"]},
         {"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"km"}],"family":"ស្រី'\"","given":["ក្ដី"]}],
 "gender":"female","birthDate":"1990-01-02"}`

func (e *env) createXSS() string {
	e.t.Helper()
	res, err := e.svc.Create(context.Background(), rest.Request{Base: e.srv.URL + "/fhir", Type: "Patient", Body: []byte(xssPatient)})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Version.ID
}

func (e *env) tokenOrg(sub, scopes, org string) string {
	e.t.Helper()
	tok, err := auth.Mint(e.key, auth.MintOptions{Subject: sub, Scopes: strings.Fields(scopes), ClientID: "test", Organization: org})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// principalContext is the context an interaction gets for a user with
// these scopes and organization, as the HTTP layer builds it.
func principalContext(e *env, sub, scopes, org string) context.Context {
	p := &auth.Principal{Issuer: auth.DevIssuer, Subject: sub, ClientID: "test", Organization: org, RawScopes: strings.Fields(scopes)}
	p.Scopes, p.Labels = auth.ParseScopes(p.RawScopes)
	return auth.WithPrincipal(context.Background(), p)
}

func statusOf(err error) int {
	var oe *outcome.Error
	if errors.As(err, &oe) {
		return oe.Status
	}
	return 500
}
