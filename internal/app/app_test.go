package app_test

// The clinic page without a browser: what the server sends for each user
// story of issue 13. The same stories run in headless Chromium in
// browser_test.go.

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/app"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// text is a page's visible text, roughly: tags removed, entities decoded.
func text(page string) string {
	page = regexp.MustCompile(`(?s)<head>.*?</head>`).ReplaceAllString(page, "")
	t := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(t)), " ")
}

func wantIn(t *testing.T, page string, wants ...string) {
	t.Helper()
	tx := text(page)
	for _, w := range wants {
		if !strings.Contains(tx, w) {
			t.Errorf("page lacks %q:\n%s", w, tx)
		}
	}
}

func wantNotIn(t *testing.T, page string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(page, n) {
			t.Errorf("page holds %q:\n%s", n, text(page))
		}
	}
}

// Development sign-in: each role signs in; without --dev the sign-in page
// offers none and its route is absent.
func TestDevSignInPerRole(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, r := range app.DevRoles {
		b := e.browser()
		b.signIn(r.Key)
		_, page := b.get("/app/search")
		wantIn(t, page, "Signed in as", "Find a person")
	}
	// Not signed in: the page sends you to sign in.
	b := e.browser()
	_, page := b.get("/app/patient/" + e.dara)
	wantIn(t, page, "Sign in", "DEVELOPMENT ONLY")
	wantNotIn(t, page, "N01234567")

	prod := newEnv(t, envOpts{noDev: true, st: e.st})
	pb := prod.browser()
	_, page = pb.get("/app/signin")
	wantNotIn(t, page, "DEVELOPMENT", "/app/signin/dev")
	wantIn(t, page, "No sign-in is configured")
	status, _ := pb.do("POST", "/app/signin/dev", url.Values{"role": {"clinician"}, "csrf": {csrfOf(page)}})
	if status != 404 {
		t.Fatalf("dev sign-in without --dev: %d, want 404", status)
	}
}

// Search by passport, Thai ID, Cambodian national ID, IOM case number,
// Khmer name, Thai name and Latin name with a birth year; results show both scripts, identifiers in words and sources;
// an empty result says so and suggests another way.
func TestSearch(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	for _, q := range []struct{ q, year string }{
		{"N01234567", ""}, {"0037651234561", ""}, {"0-0376-51234-56-1", ""}, {"ដារ៉ា", ""}, {"សុខ ដារ៉ា", ""},
		{"ดารา", ""}, {"ดารา สุข", "1992"}, {"sok dara", "1992"}, {"daraSok0001", ""}, {"010203999", ""},
	} {
		page := b.search(q.q, q.year)
		wantIn(t, page, "1 found", "ดารา สุข", "ដារ៉ា សុខ", "DARA SOK", "17 Apr 1992", "Cambodian passport N01234567",
			"Thai ID 0037651234561", "Cambodian national ID 010203999", "Thai hospital (43 files), Cambodia DHIS2")
		if !strings.Contains(page, `href="/app/patient/`+e.dara+`"`) {
			t.Errorf("%q: no link to the record", q.q)
		}
	}
	// The IOM health assessment of the same person (same passport) joins
	// the record; its case number finds the person.
	e.load("iom-json", "../../examples/iom.json")
	page := b.search("KHM-MHA-2024-0001", "")
	wantIn(t, page, "1 found", "ដារ៉ា សុខ", "DARA SOK", "IOM case KHM-MHA-2024-0001", "Cambodian passport N01234567",
		"Thai hospital (43 files), Cambodia DHIS2, IOM health assessment")
	page = b.search("sok dara", "1985")
	wantIn(t, page, "No one was found", "another script")
	page = b.search("X9999999", "")
	wantIn(t, page, "No one was found", "Check the number")
	_, page = b.post("/app/search", "/app/search", url.Values{"q": {"dara"}, "year": {"92"}})
	wantIn(t, page, "four digits")
}

// The record shows the banner (names in every script, birth date and age,
// sex, nationality, every identifier named in words, the sources), the
// vaccinations of both sources grouped with a status line and each dose's
// date, dose number, lot, place and source, the results (SARS-CoV-2, TB
// chest X-ray, smear, culture, Xpert with rifampicin resistance, HIV test
// and viral load with its unit) newest first with their markers, and the
// timeline.
func TestRecordFromBothSources(t *testing.T) {
	e := newEnv(t, envOpts{})
	// A viral load through the real DHIS2 mapping: the example payload with
	// one more data value on its last TB/HIV event.
	payload, err := os.ReadFile("../../examples/clinic-dhis2.json")
	if err != nil {
		t.Fatal(err)
	}
	last := `"dataElement": "TgcPEDU5eOb",
         "value": "NEGATIVE"
        }`
	if strings.Count(string(payload), last) != 1 {
		t.Fatal("examples/clinic-dhis2.json changed: update this test's viral load insertion")
	}
	vl := filepath.Join(t.TempDir(), "vl.json")
	os.WriteFile(vl, []byte(strings.Replace(string(payload), last, last+`, {"dataElement": "i08m67CEXCC", "value": "40"}`, 1)), 0o644)
	e.load("dhis2", vl)

	b := e.browser()
	b.signIn("clinician")
	_, page := b.get("/app/patient/" + e.dara)
	now := time.Now()
	age := now.Year() - 1992
	if now.Before(time.Date(now.Year(), time.April, 17, 0, 0, 0, 0, now.Location())) {
		age--
	}
	wantIn(t, page, "ดารา สุข · ដារ៉ា សុខ · DARA SOK", fmt.Sprintf("Born 17 Apr 1992 (%d years)", age), "Sex Male", "Nationality Cambodian",
		"Recorded by Thai hospital (43 files), Cambodia DHIS2", "Thai ID 0037651234561", "Cambodian passport N01234567",
		"Cambodian national ID 010203999", "Hospital number, hospital 10742 6700456",
		"COVID-19: 4 doses, last 1 Mar 2022", "Date Vaccine Dose Lot Place Source", "12 Apr 2021 CoronaVac 1 J202103015 Poipet Referral Hospital (example) Cambodia DHIS2",
		"1 Mar 2022 COVID-19 vaccine AstraZeneca 2 Hospital 10742 Thai hospital (43 files)",
		"2 May 2024 COVID-19 rapid antigen Negative Hospital 10742 Thai hospital (43 files)",
		"TB: chest X-ray Confidential Normal", "TB: chest X-ray Confidential Abnormal, suggestive of TB", "TB: sputum smear Confidential Positive",
		"TB: culture Confidential Negative", "TB: Xpert MTB Confidential Detected", "TB: rifampicin resistance (Xpert) Confidential Not detected",
		"HIV rapid test Confidential Negative", "HIV viral load Confidential 40 copies/mL",
		"Timeline", "Vaccination: CoronaVac")
	tx := text(page)
	if strings.Index(tx, "2 Apr 2024 TB") < 0 || strings.Index(tx, "2 May 2024 COVID-19 rapid antigen") > strings.Index(tx, "2 Apr 2024 TB") {
		t.Errorf("results are not newest first:\n%s", tx)
	}
	// The timeline holds vaccinations and results together, newest first.
	tl := tx[strings.LastIndex(tx, "Timeline"):]
	if d := regexp.MustCompile(`\d{1,2} [A-Z][a-z]{2} \d{4}`).FindAllString(tl, -1); len(d) < 15 || d[0] != "15 Jun 2024" || d[len(d)-1] != "12 Apr 2021" {
		t.Errorf("timeline dates %v", d)
	}
	for _, w := range []string{"Vaccination: CoronaVac", "HIV viral load: 40 copies/mL", "TB: Xpert MTB: Detected", "Vaccination: Td(adult) unspecified formulation"} {
		if !strings.Contains(tl, w) {
			t.Errorf("the timeline lacks %q: %s", w, tl)
		}
	}
}

// Clinic staff see no trace of HIV or TB results: no row, no marker, no
// count, no empty section; the break-the-glass offer is on every record.
func TestConfidentialHiddenFromClinicStaff(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	_, page := b.get("/app/patient/" + e.dara)
	results := page[strings.Index(page, `id="results"`):strings.Index(page, `aria-labelledby="btg-title"`)]
	wantNotIn(t, results+page[strings.Index(page, `id="timeline"`):], "HIV", "TB", "Confidential", "class=\"confidential\"")
	wantIn(t, page, "COVID-19 rapid antigen", "Emergency access")
	// An API client with the same user's token sees the same.
	status, body := e.api(e.token("dev-clinic", app.DevRoles[0].Scopes), "/Observation?subject=Patient/"+e.dara)
	if status != 200 || strings.Contains(body, "49905-3") || strings.Contains(body, "85362-2") {
		t.Fatalf("REST as clinic staff: %d %s", status, body)
	}
	// The IOM health assessment of the same person adds an HIV test, a
	// chest X-ray, an IGRA and the panel physician's TB classification:
	// none of them shows either, on the record, the timeline or the IPS
	// print view.
	e.load("iom-json", "../../examples/iom.json")
	_, page = b.get("/app/patient/" + e.dara)
	wantIn(t, page, "IOM health assessment", "MMR: 1 dose, 4 Oct 1993", "COVID-19: 7 doses, last 1 Mar 2022")
	results = page[strings.Index(page, `id="results"`):strings.Index(page, `aria-labelledby="btg-title"`)]
	wantNotIn(t, results+page[strings.Index(page, `id="timeline"`):], "HIV", "TB", "IGRA", "Confidential", "class=\"confidential\"")
	_, sum := b.get("/app/patient/" + e.dara + "/summary")
	wantIn(t, sum, "COVID-19 rapid antigen")
	wantNotIn(t, text(sum), "HIV", "TB", "IGRA", "Confidential")
	if _, body := e.api(e.token("dev-clinic", app.DevRoles[0].Scopes), "/Observation?subject=Patient/"+e.dara); strings.Contains(body, "tb-class") {
		t.Fatalf("REST as clinic staff returns the TB classification: %s", body)
	}
}

// Break-the-glass: a reason is required; the grant opens this person's
// confidential results to the page and to the API alike, is recorded as a
// Security Alert / Emergency Override Started with purpose ETREAT and the
// reason, is visible to auditors, and ends by itself.
func TestBreakGlass(t *testing.T) {
	e := newEnv(t, envOpts{breakGlass: 3 * time.Second})
	b := e.browser()
	b.signIn("clinic")
	path := "/app/patient/" + e.dara
	status, page := b.post(path, path+"/break-glass", url.Values{"reason": {"  "}})
	if status != 400 {
		t.Fatalf("break-the-glass without a reason: %d", status)
	}
	wantIn(t, page, "reason is required")
	reason := `unconscious at Poipet checkpoint, "TB?" <b>`
	_, page = b.post(path, path+"/break-glass", url.Values{"reason": {reason}})
	wantIn(t, page, "Emergency access opened and recorded", "HIV rapid test", "TB: Xpert MTB", "Confidential", "Emergency access is open until", reason)
	tok := e.token("dev-clinic", app.DevRoles[0].Scopes)
	_, body := e.api(tok, "/Observation?subject=Patient/"+e.dara)
	if !strings.Contains(body, "49905-3") {
		t.Fatalf("the grant does not open the API to the same user: %s", body)
	}
	// Another user of the same role gets nothing from it.
	if _, other := e.api(e.token("dev-other", app.DevRoles[0].Scopes), "/Observation?subject=Patient/"+e.dara); strings.Contains(other, "49905-3") {
		t.Fatal("the grant leaks to another user")
	}
	// The auditor sees the emergency override, with the reason.
	auditor := e.browser()
	auditor.signIn("auditor")
	_, log := auditor.get(path + "/access-log")
	wantIn(t, log, "Who saw this record", "When Who What Why", "Emergency access started", "dev-clinic", "ETREAT", reason, "read Patient/"+e.dara,
		"searched Observation ?_count=200&subject=Patient/"+e.dara)
	if strings.Contains(log, "search-type") {
		t.Error("the access log shows the REST interaction code, not what was searched")
	}
	_, ae := e.api(e.token("auditor", "user/AuditEvent.rs"), "/AuditEvent?subtype=110127")
	for _, w := range []string{`"code":"110113"`, `"code":"110127"`, `"code":"ETREAT"`, `"Patient/` + e.dara + `"`} {
		if !strings.Contains(ae, w) {
			t.Errorf("AuditEvent lacks %s: %s", w, ae)
		}
	}
	// It ends by itself.
	time.Sleep(3100 * time.Millisecond)
	_, page = b.get(path)
	wantNotIn(t, page, "HIV rapid", "Emergency access is open")
	if _, body := e.api(tok, "/Observation?subject=Patient/"+e.dara); strings.Contains(body, "49905-3") {
		t.Fatal("an expired grant still opens the API")
	}
	// Roles without the break-the-glass scope are refused by the server.
	cl := e.browser()
	cl.signIn("steward")
	_, page = cl.get(path)
	wantNotIn(t, page, "Emergency access")
	form := url.Values{"reason": {"curious"}, "csrf": {csrfOf(page)}}
	if status, _ := cl.do("POST", path+"/break-glass", form); status != 403 {
		t.Fatalf("break-the-glass by a steward: %d, want 403", status)
	}
}

// Every form needs the session's CSRF token; the sign-in forms the
// pre-sign-in cookie's.
func TestCSRF(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	for _, f := range []url.Values{{"q": {"N01234567"}}, {"q": {"N01234567"}, "csrf": {"forged"}}} {
		status, page := b.do("POST", "/app/search", f)
		if status != 403 || strings.Contains(page, "N01234567") {
			t.Fatalf("search without the CSRF token: %d", status)
		}
		wantIn(t, page, "did not come from this page")
	}
	path := "/app/patient/" + e.dara
	if status, _ := b.do("POST", path+"/break-glass", url.Values{"reason": {"x"}}); status != 403 {
		t.Fatalf("break-the-glass without the token: %d", status)
	}
	if status, _ := b.do("POST", "/app/signout", url.Values{}); status != 403 {
		t.Fatalf("sign-out without the token: %d", status)
	}
	fresh := e.browser()
	if status, _ := fresh.do("POST", "/app/signin/dev", url.Values{"role": {"clinician"}, "csrf": {"x"}}); status != 403 {
		t.Fatalf("dev sign-in without the pre-sign-in cookie: %d", status)
	}
	if status, _ := fresh.do("POST", "/app/signin/smart", url.Values{"csrf": {"x"}}); status != 403 {
		t.Fatalf("SMART sign-in without the pre-sign-in cookie: %d", status)
	}
	s := e.browser()
	s.signIn("steward")
	for _, d := range []string{"link", "unlink"} {
		if status, _ := s.do("POST", "/app/identity/"+d, url.Values{"patient": {e.dara}, "other": {e.dara}, "reason": {"x"}}); status != 403 {
			t.Fatalf("identity %s without the token: %d", d, status)
		}
	}
	// Every form that posts carries the token (the forms above are all of
	// today's; this catches a new one).
	files, _ := filepath.Glob("templates/*.html")
	forms := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`(?s)<form[^>]*method="post".*?</form>`).FindAllString(string(b), -1) {
			forms++
			if !strings.Contains(m, `name="csrf"`) {
				t.Errorf("%s: a form without the CSRF token: %.80s", f, m)
			}
		}
	}
	if forms < 6 {
		t.Errorf("found %d posting forms in the templates, expected at least 6", forms)
	}
}

// Sessions: the cookie is HttpOnly and SameSite=Strict, and Secure behind
// https (TLS or a TLS proxy's X-Forwarded-Proto); an idle session
// ends; sign-out ends it; a second gateway instance on the same database
// knows it.
func TestSessions(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	u, _ := url.Parse(e.srv.URL + "/app")
	var secret string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "mekong_session" {
			secret = c.Value
		}
	}
	if secret == "" {
		t.Fatal("no session cookie")
	}
	res, err := b.c.Get(e.srv.URL + "/app/signin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// The sign-in response's Set-Cookie attributes.
	form := url.Values{"role": {"clinic"}}
	_, page := b.get("/app/signin")
	form.Set("csrf", csrfOf(page))
	req, _ := newFormRequest(e.srv.URL+"/app/signin/dev", form)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	raw, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	sc := strings.Join(raw.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(sc, "mekong_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || !strings.Contains(sc, "Path=/app") {
		t.Fatalf("session cookie attributes: %s", sc)
	}

	if strings.Contains(sc, "Secure") {
		t.Fatalf("Secure on plain http without a TLS proxy: %s", sc)
	}
	// Behind a TLS proxy (X-Forwarded-Proto) and over TLS itself, every
	// cookie of the page is Secure.
	proxied, _ := http.NewRequest("GET", e.srv.URL+"/app/signin", nil)
	proxied.Header.Set("X-Forwarded-Proto", "https")
	tlsSrv := httptest.NewTLSServer(e.srv.Config.Handler)
	defer tlsSrv.Close()
	direct, _ := http.NewRequest("GET", tlsSrv.URL+"/app/signin", nil)
	for _, r := range []struct {
		name string
		c    *http.Client
		req  *http.Request
	}{{"X-Forwarded-Proto: https", noRedirect(), proxied}, {"TLS", tlsSrv.Client(), direct}} {
		res, err := r.c.Do(r.req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cookies := res.Header.Values("Set-Cookie")
		if len(cookies) == 0 {
			t.Fatalf("%s: the sign-in page set no cookie", r.name)
		}
		for _, c := range cookies {
			if !strings.Contains(c, "; Secure") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
				t.Errorf("%s: cookie %s", r.name, c)
			}
		}
	}

	second := newEnv(t, envOpts{st: e.st})
	b2 := second.browser()
	b2.c.Jar.SetCookies(mustURL(second.srv.URL+"/app"), b.c.Jar.Cookies(u))
	if _, page := b2.get("/app/search"); !strings.Contains(page, "Signed in as") {
		t.Fatal("a second instance on the same database does not know the session")
	}
	// Idle for longer than the timeout: signed out.
	e.app.SetClock(func() time.Time { return time.Now().Add(31 * time.Minute) })
	if _, page := b.get("/app/search"); !strings.Contains(page, "session ended") {
		t.Fatalf("an idle session is still live: %s", text(page))
	}
	e.app.SetClock(time.Now)
	b.signIn("clinic")
	b.post("/app/search", "/app/signout", nil)
	if _, page := b.get("/app/search"); !strings.Contains(page, "Sign in") || strings.Contains(page, "Signed in as") {
		t.Fatal("still signed in after sign-out")
	}
}

// Names and identifiers holding markup, quotes and Khmer combining marks
// are shown as text, never run.
func TestValuesAreEscaped(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.createXSS()
	b := e.browser()
	b.signIn("clinician")
	page := b.search(`<script>`, "")
	for _, p := range []string{page} {
		wantNotIn(t, p, "<script>alert", `<img src=x`, `"onerror`)
	}
	wantIn(t, page, `<script>alert("x")</script>`, `ស្រី'"`)
	id := e.patientID("identifier=X<1>\"2")
	if id == "" {
		t.Fatal("the XSS fixture was not loaded")
	}
	_, rec := b.get("/app/patient/" + id)
	wantNotIn(t, rec, "<script>alert", "<img src=x")
	wantIn(t, rec, `<script>alert("x")</script>`, `X<1>"2`, "ក្ដី")
}

// Languages: the default comes from Accept-Language; ?lang= switches and
// is remembered; dates use the language's months.
func TestLanguages(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.lang = "th-TH,th;q=0.9,en;q=0.5"
	_, page := b.get("/app/signin")
	wantIn(t, page, "เข้าสู่ระบบ")
	if !strings.Contains(page, `<html lang="th">`) {
		t.Error("html lang is not th")
	}
	b.signIn("clinic")
	_, page = b.get("/app/patient/" + e.dara + "?lang=km")
	wantIn(t, page, "ការចាក់វ៉ាក់សាំង", "លទ្ធផលតេស្ត", "17 មេសា 1992", "លិខិតឆ្លងដែនខ្មែរ N01234567")
	_, page = b.get("/app/patient/" + e.dara)
	wantIn(t, page, "ការចាក់វ៉ាក់សាំង")
	_, page = b.get("/app/patient/" + e.dara + "?lang=th")
	wantIn(t, page, "การฉีดวัคซีน", "17 เม.ย. 2535", "หนังสือเดินทางกัมพูชา N01234567")
}

func TestDatesAreUnambiguous(t *testing.T) {
	for _, c := range []struct{ lang, in, want string }{
		{"en", "2026-03-14", "14 Mar 2026"}, {"en", "2021-10", "Oct 2021"}, {"en", "1990", "1990"},
		{"en", "2024-04-02T09:30:00+07:00", "2 Apr 2024"}, {"km", "2026-03-14", "14 មីនា 2026"}, {"th", "2026-03-14", "14 มี.ค. 2569"},
		{"en", "garbage", "garbage"},
	} {
		if got := app.FormatDate(c.lang, c.in); got != c.want {
			t.Errorf("FormatDate(%s, %s) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

// Every message exists in English, Khmer and Thai.
func TestEveryMessageTranslated(t *testing.T) {
	for _, key := range app.MessageKeys() {
		for _, l := range app.Languages {
			if got := app.T(l.Tag, key); got == "" || (l.Tag != "en" && got == app.T("en", key) && !app.SameInEveryLanguage(key)) {
				t.Errorf("%s has no %s text", key, l.Tag)
			}
		}
	}
}

// Errors of the API are shown with the OperationOutcome's message.
func TestErrorsShowTheOutcome(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	status, page := b.get("/app/patient/nobody")
	if status != 404 {
		t.Fatalf("unknown patient: %d", status)
	}
	wantIn(t, page, "does not exist or is not available", "Patient/nobody")
	status, page = b.get("/app/patient/" + e.dara + "/access-log")
	if status != 403 {
		t.Fatalf("access log as clinic staff: %d", status)
	}
	wantIn(t, page, "auditors")
	status, page = b.get("/app/patient/" + e.dara + "/export?format=csv")
	if status != 400 {
		t.Fatalf("bad export format: %d", status)
	}
	wantIn(t, page, `format "csv"`)
	if status, page = b.get("/app/nowhere"); status != 404 || !strings.Contains(page, "<html") {
		t.Fatalf("unknown page: %d %s", status, page)
	}
}

// Downloads in a source format come from $export-source.
func TestDownloads(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinician")
	status, zip := b.get("/app/patient/" + e.dara + "/export?format=th43")
	if status != 200 || !strings.HasPrefix(zip, "PK") {
		t.Fatalf("th43 download: %d", status)
	}
	status, js := b.get("/app/patient/" + e.dara + "/export?format=dhis2")
	if status != 200 || !strings.Contains(js, "trackedEntities") || !strings.Contains(js, "N01234567") {
		t.Fatalf("dhis2 download: %d %s", status, js)
	}
}

// Security headers and the first load's weight.
func TestHeadersAndWeight(t *testing.T) {
	e := newEnv(t, envOpts{})
	res, err := noRedirect().Get(e.srv.URL + "/app/signin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", res.Header)
	}
	b := e.browser()
	b.signIn("clinician")
	total := 0
	_, page := b.get("/app/patient/" + e.dara)
	total += len(page)
	for _, asset := range []string{"/app/static/app.css", "/app/static/app.js", "/app/static/icon.svg"} {
		status, body := b.get(asset)
		if status != 200 {
			t.Fatalf("%s: %d", asset, status)
		}
		total += len(body)
	}
	if total > 200<<10 {
		t.Fatalf("first load of a record weighs %d bytes, over 200 KB", total)
	}
	t.Logf("first load of a record: %d bytes", total)
}

// Who saw this record: auditors always; with clinic_access_log, users of
// the organization managing the Patient (here the Thai hospital 10742 of
// the 43 files) for that patient only; others never.
func TestAccessLogPolicy(t *testing.T) {
	e := newEnv(t, envOpts{})
	viewer := e.browser()
	viewer.signIn("clinic")
	viewer.get("/app/patient/" + e.dara)
	hospital := "https://terms.sil-th.org/id/th-moph-hcode|10742"
	read := func(org, scopes string) int {
		status, _ := e.api(e.tokenOrg("clinic-user", scopes, org), "/Patient/"+e.dara) // the user exists in the API too
		if status != 200 {
			t.Fatalf("read as %s: %d", org, status)
		}
		ctx := principalContext(e, "clinic-user", scopes, org)
		res, err := e.svc.AccessLog(ctx, e.srv.URL+"/fhir", e.dara, 50)
		if err != nil {
			return statusOf(err)
		}
		if !strings.Contains(string(res.Body), "dev-clinic") {
			t.Errorf("the access log lacks the page view of dev-clinic: %s", res.Body)
		}
		return 200
	}
	clinic := "user/Patient.rs user/Observation.rs"
	if got := read(hospital, clinic); got != 403 {
		t.Fatalf("the managing clinic without the policy: %d, want 403", got)
	}
	e.svc.Policy.ClinicAccessLog = true
	if got := read(hospital, clinic); got != 200 {
		t.Fatalf("the managing clinic with the policy: %d, want 200", got)
	}
	if got := read("Organization/elsewhere", clinic); got != 403 {
		t.Fatalf("another clinic with the policy: %d, want 403", got)
	}
	if got := read("Organization/elsewhere", "user/Patient.rs user/AuditEvent.rs mekong/label.*"); got != 200 {
		t.Fatalf("an auditor: %d, want 200", got)
	}
}

// The vaccination card and the IPS print view are offered exactly when the
// gateway serves them (rest.Service's HealthCardQR, enabled, and Summary):
// then they are linked from the record, otherwise not, and 404.
func TestDocumentsLightUp(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinician")
	_, page := b.get("/app/patient/" + e.dara)
	var svc any = e.svc
	_, hasCard := svc.(interface {
		HealthCardQR(context.Context, rest.Request) (*rest.Response, error)
	})
	if en, ok := svc.(interface{ HealthCardsEnabled() bool }); ok {
		hasCard = hasCard && en.HealthCardsEnabled()
	}
	_, hasSummary := svc.(interface {
		Summary(context.Context, rest.Request) (*rest.Response, error)
	})
	for _, d := range []struct {
		has        bool
		path, name string
	}{{hasCard, "/card", "COVID-19 vaccination card"}, {hasSummary, "/summary", "Patient summary (IPS)"}} {
		status, doc := b.get("/app/patient/" + e.dara + d.path)
		if !d.has {
			if strings.Contains(page, d.name) || status != 404 {
				t.Errorf("%s offered without its operation: %d", d.name, status)
			}
			continue
		}
		if !strings.Contains(page, d.name) {
			t.Errorf("%s not offered on the record", d.name)
		}
		// Whatever the document's fate, the page shows the person or the
		// server's message, never a blank page.
		if !strings.Contains(text(doc), "DARA SOK") && !strings.Contains(text(doc), "Message from the server") {
			t.Errorf("%s: %d %s", d.name, status, text(doc))
		}
		if d.path == "/summary" && (status != 200 || !strings.Contains(text(doc), "COVID-19")) {
			t.Errorf("the summary: %d %s", status, text(doc))
		}
	}
}

// A doubted identifier (CONTRACTS §7: kept under the doubtful-identifier
// system with the system it was meant for) is shown under that system's
// name, marked doubtful.
func TestDoubtfulIdentifierShown(t *testing.T) {
	e := newEnv(t, envOpts{})
	body := `{"resourceType":"Patient","name":[{"family":"KEO","given":["VIBOL"]}],"birthDate":"1985",
	 "identifier":[{"extension":[{"url":"https://mekong-fhir.github.io/fhir/StructureDefinition/identifier-doubt",
	   "extension":[{"url":"system","valueUri":"https://terms.sil-th.org/id/th-cid"},{"url":"reason","valueString":"check digit"}]}],
	   "system":"https://mekong-fhir.github.io/fhir/sid/doubtful-identifier","value":"1234567890123"}]}`
	res, err := e.svc.Create(context.Background(), rest.Request{Base: e.srv.URL + "/fhir", Type: "Patient", Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("clinic")
	_, page := b.get("/app/patient/" + res.Version.ID)
	wantIn(t, page, "Thai ID 1234567890123 doubtful")
}

// Without configuration a break-the-glass grant lasts 60 minutes, and the
// page says so before the user asks (issue 13; the configured duration is
// tested through serve in internal/cli TestServeClinicAppBreakGlassDuration).
func TestBreakGlassLastsAnHourByDefault(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn("clinic")
	path := "/app/patient/" + e.dara
	_, page := b.get(path)
	wantIn(t, page, "for 60 minutes")
	_, page = b.post(path, path+"/break-glass", url.Values{"reason": {"fever and cough at Aranyaprathet"}})
	wantIn(t, page, "Emergency access is open until")
	gs, err := e.svc.Grants(principalContext(e, "dev-clinic", app.DevRoles[0].Scopes, ""))
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants: %v %v", gs, err)
	}
	if d := gs[0].Expires.Sub(gs[0].Started); d != 60*time.Minute {
		t.Fatalf("the grant lasts %v, want 60m", d)
	}
}

// The README shows the page with the screenshots the browser test takes:
// every picture it links exists in docs/screenshots, and every screenshot
// the browser test saves there is shown (MEKONG_UPDATE_SCREENSHOTS=1
// refreshes them).
func TestReadmeShowsTheScreenshots(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, m := range regexp.MustCompile(`\(docs/screenshots/([a-z0-9-]+\.png)\)`).FindAllStringSubmatch(string(readme), -1) {
		linked[m[1]] = true
		if _, err := os.Stat("../../docs/screenshots/" + m[1]); err != nil {
			t.Errorf("the README shows %s, which does not exist", m[1])
		}
	}
	src, err := os.ReadFile("browser_test.go")
	if err != nil {
		t.Fatal(err)
	}
	shots := regexp.MustCompile(`\.shot\("([a-z0-9-]+)"\)`).FindAllStringSubmatch(string(src), -1)
	if len(shots) < 6 {
		t.Fatalf("the browser test takes %d screenshots", len(shots))
	}
	for _, m := range shots {
		if !linked[m[1]+".png"] {
			t.Errorf("the browser test's screenshot %s is not in the README", m[1])
		}
	}
	for _, want := range []string{"search-en.png", "record-en.png", "card-en.png", "record-km.png", "record-th.png", "card-km.png"} {
		if !linked[want] {
			t.Errorf("the README does not show %s", want)
		}
	}
}
