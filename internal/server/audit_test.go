package server_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Specifications these tests check:
//   https://hl7.org/fhir/R4/provenance.html (Provenance of every write)
//   https://hl7.org/fhir/R4/auditevent.html
//   https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.PatientRead.html
//   https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.PatientQuery.html

// clinic is a Thai hospital's client; auditor may also read the audit log.
var (
	clinic = &auth.Principal{Issuer: "https://idp.moph.go.th", Subject: "nurse-17", ClientID: "hosxp-chiangrai",
		Organization: "Organization/th-chiangrai-hospital", PurposeOfUse: []string{"TREAT"}, TokenID: "jti-1",
		Labels: []string{"http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"}, // may see restricted data
		Scopes: []auth.Scope{{Context: auth.UserContext, Type: "Patient", Actions: "cruds"}, {Context: auth.UserContext, Type: "Observation", Actions: "cruds"},
			{Context: auth.UserContext, Type: "Immunization", Actions: "cruds"}, {Context: auth.UserContext, Type: "Provenance", Actions: "rs"}}}
	auditor = &auth.Principal{Issuer: "https://idp.mekong.example", Subject: "auditor-1", ClientID: "audit-console", Organization: "Organization/iom",
		Labels: []string{"http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"}, // labelled records are hidden from auditors without it
		Scopes: []auth.Scope{{Context: auth.UserContext, Type: "AuditEvent", Actions: "rs"}, {Context: auth.UserContext, Type: "Provenance", Actions: "rs"}}}
	// auditorUnlabelled may not see restricted (R) data, nor its events.
	auditorUnlabelled = &auth.Principal{Issuer: "https://idp.mekong.example", Subject: "auditor-2", ClientID: "audit-console",
		Scopes: []auth.Scope{{Context: auth.UserContext, Type: "AuditEvent", Actions: "rs"}}}
)

// auditAPI serves the API with the principal named by the X-Test-Principal
// header (the authentication middleware's job at run time); auditStore,
// when set, is where the AuditEvents of reads go.
type auditAPI struct {
	*api
}

func newAuditAPI(t *testing.T, st store.Store, auditStore store.Store) *auditAPI {
	t.Helper()
	if auditStore == nil {
		auditStore = st
	}
	svc := rest.New(st, parser, registry)
	h := server.New(server.Config{}, svc, auditStore, slog.New(slog.NewTextHandler(io.Discard, nil)))
	principals := map[string]*auth.Principal{"clinic": clinic, "auditor": auditor, "auditor-unlabelled": auditorUnlabelled}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := principals[r.Header.Get("X-Test-Principal")]; p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &auditAPI{&api{t: t, srv: srv, base: srv.URL + "/fhir", store: st}}
}

func (a *auditAPI) as(who, method, path, body string, headers ...string) resp {
	a.t.Helper()
	return a.do(method, path, body, append([]string{"X-Test-Principal", who}, headers...)...)
}

// entries returns a searchset's matched resources.
func (a *auditAPI) entries(path string) []map[string]any {
	a.t.Helper()
	b := a.want(a.as("auditor", "GET", path, ""), 200).json(a.t)
	var out []map[string]any
	for _, e := range asList(b["entry"]) {
		e := e.(map[string]any)
		if s, _ := e["search"].(map[string]any); s != nil && s["mode"] == "outcome" {
			continue
		}
		out = append(out, e["resource"].(map[string]any))
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func eachAuditStore(t *testing.T, fn func(t *testing.T, a *auditAPI)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newAuditAPI(t, b.Open(t), nil))
		})
	}
}

const darasPassport = `{"resourceType":"Patient","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"}],"gender":"male"}`

func observationOf(patient string) string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/` + patient + `"}}`
}

// provenanceOf returns the Provenances of ref (Type/id: every version's).
func (a *auditAPI) provenanceOf(ref string) []map[string]any {
	return a.entries("/Provenance?target=" + url.QueryEscape(ref))
}

func versioned(r resp) string {
	loc := r.header.Get("Location")
	if loc == "" {
		loc = r.header.Get("Content-Location")
	}
	return loc[strings.Index(loc, "/fhir/")+len("/fhir/"):]
}

// Every write path records exactly one Provenance of the version it wrote,
// naming the organization and the user, with the v3-DataOperation.
func TestProvenanceOnEveryWritePath(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		check := func(ref, activity string) map[string]any {
			t.Helper()
			var ps []map[string]any
			for _, p := range a.provenanceOf(ref[:strings.Index(ref, "/_history/")]) {
				for _, tg := range p["target"].([]any) {
					if tg.(map[string]any)["reference"] == ref {
						ps = append(ps, p)
					}
				}
			}
			if len(ps) != 1 {
				t.Fatalf("%s: %d Provenances, want 1", ref, len(ps))
			}
			p := ps[0]
			if got := p["activity"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]; got != activity {
				t.Fatalf("%s: activity %v, want %s", ref, got, activity)
			}
			agents := fmt.Sprint(p["agent"])
			if !strings.Contains(agents, "Organization/th-chiangrai-hospital") || !strings.Contains(agents, "nurse-17") {
				t.Fatalf("agents %s", agents)
			}
			return p
		}
		created := a.want(a.as("clinic", "POST", "/Patient", darasPassport), 201)
		id := created.json(t)["id"].(string)
		check("Patient/"+id+"/_history/1", "CREATE")
		src := created.json(t)["meta"].(map[string]any)["source"]
		if src != "urn:mekong:org:Organization%2Fth-chiangrai-hospital:client:hosxp-chiangrai" {
			t.Fatalf("meta.source %v", src)
		}

		// Conditional create that matches writes nothing, so no Provenance.
		a.want(a.as("clinic", "POST", "/Patient", darasPassport, "If-None-Exist", "identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456"), 200)
		if n := len(a.entries("/Provenance?target=Patient/" + id)); n != 1 {
			t.Fatalf("after a matching conditional create: %d Provenances, want 1", n)
		}
		body := strings.Replace(darasPassport, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+id+`",`, 1)
		a.want(a.as("clinic", "PUT", "/Patient/"+id, body), 200)
		check("Patient/"+id+"/_history/2", "UPDATE")
		a.want(a.as("clinic", "PUT", "/Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", body), 200)
		check("Patient/"+id+"/_history/3", "UPDATE")
		a.want(a.as("clinic", "PUT", "/Patient/dara", `{"resourceType":"Patient","id":"dara"}`), 201)
		check("Patient/dara/_history/1", "CREATE")

		obs := a.want(a.as("clinic", "POST", "/Observation", `{"resourceType":"Observation","status":"final","identifier":[{"system":"urn:lab","value":"L1"}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/dara"}}`), 201)
		oid := obs.json(t)["id"].(string)
		a.want(a.as("clinic", "DELETE", "/Observation/"+oid, ""), 200)
		check("Observation/"+oid+"/_history/2", "DELETE")
		a.want(a.as("clinic", "DELETE", "/Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", ""), 200)
		check("Patient/"+id+"/_history/4", "DELETE")

		// Transaction entries: recorded in the Bundle's transaction, by one
		// Provenance per activity and label set (target is 1..*).
		tx := a.want(a.as("clinic", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:8a7e1c9e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"urn:uuid:8a7e1c9e-0000-4000-8000-000000000001"}},"request":{"method":"POST","url":"Observation"}},
			{"request":{"method":"DELETE","url":"Patient/dara"}}]}`), 200).json(t)
		var shared []string
		for _, e := range tx["entry"].([]any) {
			loc := e.(map[string]any)["response"].(map[string]any)["location"].(string)
			activity := "CREATE"
			if strings.HasPrefix(loc, "Patient/dara") {
				activity = "DELETE"
			}
			p := check(loc, activity)
			if activity == "CREATE" {
				shared = append(shared, p["id"].(string))
			}
		}
		if len(shared) != 2 || shared[0] != shared[1] {
			t.Fatalf("the two creates of one transaction are recorded by Provenances %v, want one shared", shared)
		}
		// Batch entries go through the same interactions.
		batch := a.want(a.as("clinic", "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[
			{"resource":{"resourceType":"Patient","gender":"other"},"request":{"method":"POST","url":"Patient"}}]}`), 200).json(t)
		check(batch["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string), "CREATE")

		// A failing transaction leaves no Provenance: the If-Match is stale.
		before := a.want(a.as("auditor", "GET", "/Provenance?_summary=count", ""), 200).json(t)["total"]
		a.want(a.as("clinic", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
			{"resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Patient","id":"dara"},"request":{"method":"PUT","url":"Patient/dara","ifMatch":"W/\"9\""}}]}`), 412)
		after := a.want(a.as("auditor", "GET", "/Provenance?_summary=count", ""), 200).json(t)["total"]
		if before != after {
			t.Fatalf("a failed transaction changed the Provenance count from %v to %v", before, after)
		}
	})
}

// Provenance is searchable by target, patient, agent and recorded.
func TestProvenanceSearch(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok"}`), 201)
		a.want(a.as("clinic", "POST", "/Observation", observationOf("sok")), 201)
		for path, want := range map[string]int{
			"/Provenance?target=Patient/sok":                       1,
			"/Provenance?patient=Patient/sok":                      1,
			"/Provenance?agent=Organization/th-chiangrai-hospital": 2,
			"/Provenance?agent=Organization/elsewhere":             0,
			"/Provenance?recorded=ge2020-01-01&agent-type=author":  2,
			"/Provenance?recorded=lt2020-01-01":                    0,
		} {
			if got := len(a.entries(path)); got != want {
				t.Errorf("%s: %d results, want %d", path, got, want)
			}
		}
		// _revinclude of AuditEvents is an audit-log read: the clinic may not.
		a.want(a.as("clinic", "GET", "/Provenance?target=Patient/sok&_revinclude=AuditEvent:entity", ""), 403)
	})
}

// auditEvents returns the AuditEvents an auditor finds with query.
func (a *auditAPI) auditEvents(query string) []map[string]any {
	return a.entries("/AuditEvent?" + query + "&_count=1000")
}

// A not-found read and a denied read are audited with their outcome
// (audit-event-outcome 4: "often equivalent to an HTTP 400 response").
func TestAuditFailedAndDeniedReads(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		a.want(a.as("clinic", "GET", "/Patient/nobody", "", "X-Request-ID", "req-404"), 404)
		evs := a.auditEvents("patient=Patient/nobody")
		if len(evs) != 1 {
			t.Fatalf("%d AuditEvents for the 404 read, want 1", len(evs))
		}
		ev := fmt.Sprint(evs[0])
		if evs[0]["outcome"] != "4" || evs[0]["action"] != "R" || !strings.Contains(ev, "req-404") || !strings.Contains(ev, "nurse-17") ||
			!strings.Contains(ev, "TREAT") || !strings.Contains(ev, "Organization/th-chiangrai-hospital") || !strings.Contains(ev, "hosxp-chiangrai") {
			t.Fatalf("404 AuditEvent %s", ev)
		}
		// Denied: the clinic has no auditor scope.
		a.want(a.as("clinic", "GET", "/AuditEvent/"+evs[0]["id"].(string), "", "X-Request-ID", "req-403"), 403)
		a.want(a.as("clinic", "GET", "/AuditEvent?patient=Patient/nobody", "", "X-Request-ID", "req-403b"), 403)
		denied := a.auditEvents("outcome=4&entity=AuditEvent/" + evs[0]["id"].(string))
		if len(denied) != 1 || denied[0]["action"] != "R" || !strings.Contains(fmt.Sprint(denied[0]), "req-403") {
			t.Fatalf("denied read AuditEvents %v", denied)
		}
		q := a.auditEvents("outcome=4&subtype=search-type&agent:identifier=" + url.QueryEscape("urn:mekong:client|hosxp-chiangrai"))
		if len(q) != 1 || !strings.Contains(fmt.Sprint(q[0]), "req-403b") {
			t.Fatalf("denied search AuditEvents %v", q)
		}
	})
}

// A search is a PatientQuery AuditEvent carrying the query (base64, BALP)
// and the patient.
func TestAuditSearchIsPatientQuery(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok"}`), 201)
		a.want(a.as("clinic", "POST", "/Observation", observationOf("sok")), 201)
		a.want(a.as("clinic", "GET", "/Observation?subject=Patient/sok&code=http://loinc.org|94500-6", ""), 200)
		evs := a.auditEvents("subtype=search-type&patient=Patient/sok")
		if len(evs) != 1 {
			t.Fatalf("%d query AuditEvents, want 1", len(evs))
		}
		ev := evs[0]
		if ev["action"] != "E" || ev["outcome"] != "0" || !strings.Contains(fmt.Sprint(ev["meta"]), "IHE.BasicAudit.PatientQuery") {
			t.Fatalf("query AuditEvent %v", ev)
		}
		var query string
		for _, e := range ev["entity"].([]any) {
			if q, ok := e.(map[string]any)["query"].(string); ok {
				b, err := base64.StdEncoding.DecodeString(q)
				if err != nil {
					t.Fatal(err)
				}
				query = string(b)
			}
		}
		v, _ := url.ParseQuery(query)
		if v.Get("subject") != "Patient/sok" || v.Get("code") != "http://loinc.org|94500-6" {
			t.Fatalf("entity.query %q", query)
		}
		// The write's AuditEvents were stored with it: one PatientCreate.
		if c := a.auditEvents("subtype=create&patient=Patient/sok"); len(c) != 1 || !strings.Contains(fmt.Sprint(c[0]["meta"]), "IHE.BasicAudit.PatientCreate") {
			t.Fatalf("create AuditEvents %v", c)
		}
	})
}

// failingAudit is a store whose audit log appends (the audit writer's) fail.
type failingAudit struct {
	store.Store
	store.AuditLog
}

func (failingAudit) AppendAudit(context.Context, []store.AuditRecord) error {
	return errors.New("disk full")
}

// A read whose AuditEvent cannot be stored is not served: 503, no data.
func TestAuditFailureWithholdsTheRead(t *testing.T) {
	st := storetest.OpenSQLite(t)
	a := newAuditAPI(t, st, failingAudit{st, st})
	a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok","gender":"male"}`), 201)
	r := a.want(a.as("clinic", "GET", "/Patient/sok", ""), 503)
	if strings.Contains(string(r.body), `"gender"`) || r.issue(t)["code"] != "transient" || r.header.Get("ETag") != "" {
		t.Fatalf("503 response leaks the read: %s %v", r.body, r.header)
	}
	a.want(a.as("clinic", "GET", "/Patient?_id=sok", ""), 503)
}

// Concurrent reads each get their AuditEvent (group commit loses none).
func TestAuditConcurrentReads(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok"}`), 201)
		const n = 64
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				req, _ := http.NewRequest("GET", a.base+"/Patient/sok", nil)
				req.Header.Set("X-Test-Principal", "clinic")
				req.Header.Set("X-Request-ID", fmt.Sprintf("conc-%d", i))
				res, err := a.srv.Client().Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- res.Status
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		evs := a.auditEvents("subtype=read&patient=Patient/sok")
		seen := map[string]bool{}
		for _, ev := range evs {
			for _, e := range ev["entity"].([]any) {
				if what, _ := e.(map[string]any)["what"].(map[string]any); what != nil && what["identifier"] != nil {
					seen[what["identifier"].(map[string]any)["value"].(string)] = true
				}
			}
		}
		if len(evs) != n || len(seen) != n {
			t.Fatalf("%d read AuditEvents with %d request ids, want %d", len(evs), len(seen), n)
		}
	})
}

// Clients cannot write the server's records: 405 with an OperationOutcome,
// also as Bundle entries.
func TestRecordsAreNotWritable(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		for _, typ := range []string{"AuditEvent", "Provenance"} {
			body := `{"resourceType":"` + typ + `","id":"x"}`
			for _, r := range []resp{
				a.as("auditor", "POST", "/"+typ, body),
				a.as("auditor", "PUT", "/"+typ+"/x", body),
				a.as("auditor", "DELETE", "/"+typ+"/x", ""),
				a.as("auditor", "DELETE", "/"+typ+"?_id=x", ""),
				a.as("auditor", "PATCH", "/"+typ+"/x", `[]`),
			} {
				if r.status != 405 || r.issue(t)["code"] == nil {
					t.Fatalf("%s write: %d %s", typ, r.status, r.body)
				}
			}
			tx := a.as("auditor", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+body+`,"request":{"method":"PUT","url":"`+typ+`/x"}}]}`)
			if tx.status != 405 || !strings.Contains(tx.issue(t)["diagnostics"].(string), "Bundle.entry[0]") {
				t.Fatalf("%s in a transaction: %d %s", typ, tx.status, tx.body)
			}
			b := a.want(a.as("auditor", "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"`+typ+`/x"}}]}`), 200).json(t)
			if st := b["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["status"]; st != "405 Method Not Allowed" {
				t.Fatalf("%s in a batch: %v", typ, st)
			}
		}
	})
}

// Labels travel: a restricted Observation's Provenance and AuditEvents
// carry its meta.security, so the label filter hides them with it.
func TestRecordsCarryTheDataLabels(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		body := strings.Replace(observationOf("sok"), `"status"`, `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"status"`, 1)
		a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok"}`), 201)
		id := a.want(a.as("clinic", "POST", "/Observation", body), 201).json(t)["id"].(string)
		a.want(a.as("clinic", "GET", "/Observation/"+id, ""), 200)
		label := "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"
		if n := len(a.entries("/Provenance?_security=" + url.QueryEscape(label) + "&target=Observation/" + id)); n != 1 {
			t.Fatalf("%d labelled Provenances, want 1", n)
		}
		evs := a.auditEvents("_security=" + url.QueryEscape(label) + "&entity=Observation/" + id)
		if len(evs) != 2 { // the create (stored with it) and the read
			t.Fatalf("%d labelled AuditEvents, want 2", len(evs))
		}
	})
}
