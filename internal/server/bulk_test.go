package server_test

// Bulk data over HTTP: kick-off, status, manifest, files, delete and expiry
// (https://hl7.org/fhir/uv/bulkdata/export.html, the async pattern
// https://hl7.org/fhir/R4/async.html, and $import on the same pattern).

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

type bulkAPI struct {
	*api
	bulk  *bulk.Service
	clock *testClock
}

type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func newBulkAPI(t *testing.T, db *sqlstore.DB, cfg bulk.Config) *bulkAPI {
	t.Helper()
	svc := rest.New(db, parser, registry)
	b := bulk.New(cfg, db, svc, slog.New(slog.NewTextHandler(&syncWriter{w: &bytes.Buffer{}}, nil)))
	clock := &testClock{}
	b.SetClock(clock.now)
	h := server.New(server.Config{Bulk: b}, svc, db, slog.New(slog.NewJSONHandler(&syncWriter{w: &bytes.Buffer{}}, nil)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &bulkAPI{api: &api{t: t, srv: srv, base: srv.URL + "/fhir", store: db, logs: &bytes.Buffer{}}, bulk: b, clock: clock}
}

// work runs queued jobs to the end, as the serve worker does.
func (a *bulkAPI) work() {
	a.t.Helper()
	for {
		ran, err := a.bulk.RunOnce(context.Background())
		if err != nil {
			a.t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

func eachBulkStore(t *testing.T, cfg bulk.Config, fn func(t *testing.T, a *bulkAPI)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newBulkAPI(t, b.Open(t), cfg))
		})
	}
}

const async = "respond-async"

const bulkInput = `{"resourceType":"Patient","id":"dara","gender":"male"}
{"resourceType":"Patient","id":"sokha","gender":"female"}
{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/dara"}}
{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]}}
{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},"patient":{"reference":"Patient/sokha"},"occurrenceDateTime":"2021-07-02"}
{"resourceType":"Patient","birthDate":"2001-02-30"}
`

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func (a *bulkAPI) importNDJSON(body string, headers ...string) string {
	a.t.Helper()
	h := append([]string{"Prefer", async, "Content-Type", "application/fhir+ndjson"}, headers...)
	r := a.want(a.do("POST", "/$import", body, h...), http.StatusAccepted)
	loc := r.header.Get("Content-Location")
	if !strings.HasPrefix(loc, a.base+"/$bulk-status/") {
		a.t.Fatalf("Content-Location %q", loc)
	}
	return loc
}

type manifestDoc struct {
	TransactionTime     string `json:"transactionTime"`
	Request             string `json:"request"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int64  `json:"count"`
	} `json:"output"`
	Error []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int64  `json:"count"`
	} `json:"error"`
}

func (a *bulkAPI) manifest(status string) manifestDoc {
	a.t.Helper()
	r := a.want(a.do("GET", status, ""), http.StatusOK)
	var m manifestDoc
	if err := json.Unmarshal(r.body, &m); err != nil {
		a.t.Fatalf("manifest: %v: %s", err, r.body)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.TransactionTime); err != nil || r.header.Get("Expires") == "" {
		a.t.Fatalf("manifest transactionTime %q, Expires %q", m.TransactionTime, r.header.Get("Expires"))
	}
	return m
}

func counts(m manifestDoc) map[string]int64 {
	out := map[string]int64{}
	for _, o := range m.Output {
		out[o.Type] += o.Count
	}
	return out
}

func TestBulkImportOverHTTP(t *testing.T) {
	eachBulkStore(t, bulk.Config{}, func(t *testing.T, a *bulkAPI) {
		// Synchronous kick-off is refused, naming the header.
		r := a.want(a.do("POST", "/$import", bulkInput, "Content-Type", "application/fhir+ndjson"), http.StatusBadRequest)
		if !strings.Contains(r.issue(t)["diagnostics"].(string), "Prefer: respond-async") {
			t.Errorf("diagnostics: %s", r.body)
		}
		a.want(a.do("POST", "/$import", "a,b", "Prefer", async, "Content-Type", "text/csv"), http.StatusUnsupportedMediaType)

		status := a.importNDJSON(gz(bulkInput), "Content-Encoding", "gzip")
		r = a.want(a.do("GET", status, ""), http.StatusAccepted)
		if r.header.Get("X-Progress") == "" {
			t.Error("no X-Progress while queued")
		}
		a.work()
		m := a.manifest(status)
		if want := map[string]int64{"Patient": 2, "Observation": 2, "Immunization": 1}; !equalCounts(counts(m), want) {
			t.Errorf("output counts %v, want %v", counts(m), want)
		}
		if !strings.HasSuffix(m.Request, "/fhir/$import") || !m.RequiresAccessToken {
			t.Errorf("request %q requiresAccessToken %v", m.Request, m.RequiresAccessToken)
		}
		if len(m.Error) != 1 || m.Error[0].Count != 1 {
			t.Fatalf("error files %+v", m.Error)
		}
		f := a.want(a.do("GET", m.Error[0].URL, ""), http.StatusOK)
		want := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value","diagnostics":"upload line 6: Patient.birthDate: the date \"2001-02-30\" does not exist (2001-02 has 28 days)","expression":["Patient.birthDate"]}]}` + "\n"
		if string(f.body) != want || f.header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Errorf("error file %s\n%s, want\n%s", f.header.Get("Content-Type"), f.body, want)
		}
		a.want(a.do("GET", "/Patient/dara", ""), http.StatusOK)

		// The same upload again: nothing new, no new versions.
		again := a.importNDJSON(bulkInput)
		a.work()
		a.manifest(again)
		h := a.want(a.do("GET", "/Patient/dara/_history", ""), http.StatusOK).json(t)
		if n := len(h["entry"].([]any)); n != 1 {
			t.Errorf("dara has %d versions after importing twice, want 1", n)
		}

		// DELETE removes the job and its files.
		a.want(a.do("DELETE", status, ""), http.StatusAccepted)
		a.want(a.do("GET", status, ""), http.StatusNotFound)
		a.want(a.do("GET", m.Error[0].URL, ""), http.StatusNotFound)
		a.want(a.do("DELETE", status, ""), http.StatusNotFound)
	})
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestBulkImportURLInputs(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		w.Write([]byte(bulkInput))
	}))
	defer files.Close()
	params := `{"resourceType":"Parameters","parameter":[{"name":"input","part":[{"name":"type","valueCode":"Patient"},{"name":"url","valueUrl":"` + files.URL + `/data/patients.ndjson"}]}]}`
	t.Run("refused without a prefix", func(t *testing.T) {
		a := newBulkAPI(t, storetest.OpenSQLite(t), bulk.Config{})
		r := a.want(a.do("POST", "/$import", params, "Prefer", async), http.StatusBadRequest)
		if is := r.issue(t); !strings.Contains(is["diagnostics"].(string), "--import-url-prefix") || is["expression"].([]any)[0] != "Parameters.parameter[0]" {
			t.Errorf("issue %v", is)
		}
	})
	t.Run("outside the prefix", func(t *testing.T) {
		a := newBulkAPI(t, storetest.OpenSQLite(t), bulk.Config{ImportURLPrefixes: []string{files.URL + "/other/"}})
		a.want(a.do("POST", "/$import", params, "Prefer", async), http.StatusBadRequest)
	})
	t.Run("fetched under the prefix", func(t *testing.T) {
		a := newBulkAPI(t, storetest.OpenSQLite(t), bulk.Config{ImportURLPrefixes: []string{files.URL + "/data/"}})
		r := a.want(a.do("POST", "/$import", params, "Prefer", async), http.StatusAccepted)
		a.work()
		m := a.manifest(r.header.Get("Content-Location"))
		if counts(m)["Patient"] != 2 || len(m.Error) != 1 {
			t.Errorf("manifest %+v", m)
		}
	})
}

func TestBulkExportOverHTTP(t *testing.T) {
	eachBulkStore(t, bulk.Config{PerFile: 1}, func(t *testing.T, a *bulkAPI) {
		a.importNDJSON(bulkInput)
		a.work()
		a.want(a.do("DELETE", "/Patient/sokha", ""), http.StatusOK)

		for _, c := range []struct{ query, expr string }{
			{"?_type=Patient,Banana", "_type"},
			{"?_outputFormat=text/csv", "_outputFormat"},
			{"?_since=yesterday", "_since"},
			{"?_typeFilter=Patient%3Fgender%3Dmale", "_typeFilter"},
		} {
			r := a.want(a.do("GET", "/$export"+c.query, "", "Prefer", async), http.StatusBadRequest)
			if is := r.issue(t); is["expression"].([]any)[0] != c.expr {
				t.Errorf("%s: issue %v", c.query, is)
			}
		}
		a.want(a.do("GET", "/$export", ""), http.StatusBadRequest) // no Prefer: respond-async

		r := a.want(a.do("GET", "/$export?_type=Patient,Observation&_outputFormat=application/fhir%2Bndjson", "", "Prefer", async), http.StatusAccepted)
		status := r.header.Get("Content-Location")
		a.want(a.do("GET", status, ""), http.StatusAccepted)
		a.work()
		m := a.manifest(status)
		// Deleted resources are not exported; one resource per file here.
		if want := map[string]int64{"Patient": 1, "Observation": 2}; !equalCounts(counts(m), want) || len(m.Output) != 3 {
			t.Fatalf("export output %+v", m.Output)
		}
		if !strings.Contains(m.Request, "/fhir/$export?_type=Patient,Observation") {
			t.Errorf("request %q", m.Request)
		}
		f := a.want(a.do("GET", m.Output[0].URL, ""), http.StatusOK)
		stored := a.want(a.do("GET", "/Patient/dara", ""), http.StatusOK)
		if string(f.body) != string(stored.body)+"\n" || f.header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Errorf("file %s is not the stored bytes %s", f.body, stored.body)
		}

		// _since: only what changed after it.
		since := time.Now().UTC()
		time.Sleep(2 * time.Millisecond)
		a.want(a.do("PUT", "/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"amended","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]}}`), http.StatusOK)
		r = a.want(a.do("GET", "/$export?_since="+since.Format(time.RFC3339Nano), "", "Prefer", async), http.StatusAccepted)
		a.work()
		m = a.manifest(r.header.Get("Content-Location"))
		if len(m.Output) != 1 || m.Output[0].Type != "Observation" {
			t.Fatalf("_since export %+v", m.Output)
		}

		// Patient/$export: Patients and what is in their compartments; o2
		// has no subject, and sokha (whose Immunization it is) was deleted
		// but the Immunization still names a Patient.
		r = a.want(a.do("GET", "/Patient/$export", "", "Prefer", async), http.StatusAccepted)
		a.work()
		m = a.manifest(r.header.Get("Content-Location"))
		if want := map[string]int64{"Patient": 1, "Observation": 1, "Immunization": 1}; !equalCounts(counts(m), want) {
			t.Fatalf("Patient/$export %+v", m.Output)
		}

		// Finished jobs and their files expire after the retention.
		url := m.Output[0].URL
		a.want(a.do("GET", url, ""), http.StatusOK)
		a.clock.advance(2 * time.Hour)
		a.work()
		a.want(a.do("GET", r.header.Get("Content-Location"), ""), http.StatusNotFound)
		a.want(a.do("GET", url, ""), http.StatusNotFound)
	})
}

func TestBulkCapabilityStatement(t *testing.T) {
	a := newBulkAPI(t, storetest.OpenSQLite(t), bulk.Config{})
	cs := a.want(a.do("GET", "/metadata", ""), http.StatusOK)
	for _, def := range []string{"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
		"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import"} {
		if !bytes.Contains(cs.body, []byte(`"definition":"`+def+`"`)) {
			t.Errorf("CapabilityStatement lacks %s", def)
		}
	}
}

// An instance dies mid-import: its lease runs out and another instance
// resumes the job from the last committed batch; every resource ends up
// stored once (https://hl7.org/fhir/R4/async.html).
func TestBulkImportTakenOverAfterLease(t *testing.T) {
	db := storetest.OpenSQLite(t)
	a := newBulkAPI(t, db, bulk.Config{Lease: time.Minute, BatchSize: 2})
	status := a.importNDJSON(bulkInput)
	// The dead instance claimed the job and committed the first batch.
	j, err := db.ClaimJob(context.Background(), "dead-instance", time.Now(), time.Minute)
	if err != nil || j == nil {
		t.Fatalf("claim: %v %v", j, err)
	}
	im := &bulk.Importer{Svc: rest.New(db, parser, registry), Store: db, BatchSize: 2}
	ctx, cancel := context.WithCancel(context.Background())
	_ = im.Import(ctx, "upload", strings.NewReader(bulkInput), 0, func(b bulk.Batch) error {
		state, _ := json.Marshal(map[string]any{"input": 0, "line": b.Line, "counts": b.Counts})
		if err := db.SaveProgress(ctx, j.ID, "dead-instance", state, time.Now().Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		cancel()
		return nil
	})
	a.work() // the lease still holds: nothing to do
	a.want(a.do("GET", status, ""), http.StatusAccepted)
	a.clock.advance(2 * time.Minute)
	a.work()
	m := a.manifest(status)
	if want := map[string]int64{"Patient": 2, "Observation": 2, "Immunization": 1}; !equalCounts(counts(m), want) {
		t.Errorf("output counts after takeover %v, want %v", counts(m), want)
	}
	for _, id := range []string{"Patient/dara", "Patient/sokha", "Observation/o1", "Observation/o2", "Immunization/i1"} {
		h := a.want(a.do("GET", "/"+id+"/_history", ""), http.StatusOK).json(t)
		if n := len(h["entry"].([]any)); n != 1 {
			t.Errorf("%s has %d versions, want 1", id, n)
		}
	}
}

// $export of AuditEvent (issue 15): named in _type, the audit log is
// exported as NDJSON of the same BALP AuditEvents a read returns, every
// event once across files, with _since; Patient/$export keeps the events
// that concern a patient. Without _type the export is the clinical data only.
func TestBulkExportAuditEvents(t *testing.T) {
	eachBulkStore(t, bulk.Config{PerFile: 3}, func(t *testing.T, a *bulkAPI) {
		a.importNDJSON(bulkInput)
		a.work()
		for i := 0; i < 4; i++ {
			a.want(a.do("GET", "/Patient/dara", ""), http.StatusOK)
		}
		a.want(a.do("GET", "/$bulk-status/nope", ""), http.StatusNotFound) // an access about no patient
		since := time.Now().UTC()
		time.Sleep(2 * time.Millisecond)
		a.want(a.do("GET", "/Patient/dara", "", "X-Request-ID", "after-since"), http.StatusOK)

		total := a.want(a.do("GET", "/AuditEvent?_summary=count", ""), http.StatusOK).json(t)["total"].(float64)
		r := a.want(a.do("GET", "/$export?_type=AuditEvent", "", "Prefer", async), http.StatusAccepted)
		a.work()
		m := a.manifest(r.header.Get("Content-Location"))
		var lines []string
		for _, f := range m.Output {
			if f.Type != "AuditEvent" || f.Count > 3 {
				t.Fatalf("output %+v", f)
			}
			body := a.want(a.do("GET", f.URL, ""), http.StatusOK).body
			lines = append(lines, strings.Split(strings.TrimSpace(string(body)), "\n")...)
		}
		// The export's own kick-off and status polls are audited too, after
		// the count: at least total events, each once.
		seen := map[string]bool{}
		for _, l := range lines {
			var ev map[string]any
			if err := json.Unmarshal([]byte(l), &ev); err != nil || ev["resourceType"] != "AuditEvent" {
				t.Fatalf("line %s: %v", l, err)
			}
			id := ev["id"].(string)
			if seen[id] {
				t.Fatalf("AuditEvent/%s exported twice", id)
			}
			seen[id] = true
			if read := a.want(a.do("GET", "/AuditEvent/"+id, ""), http.StatusOK); strings.TrimSpace(string(read.body)) != l {
				t.Fatalf("exported %s\n    read %s", l, read.body)
			}
		}
		if float64(len(lines)) < total || len(m.Output) < 2 {
			t.Fatalf("%d AuditEvents in %d files, the log held %v", len(lines), len(m.Output), total)
		}

		r = a.want(a.do("GET", "/$export?_type=AuditEvent&_since="+since.Format(time.RFC3339Nano), "", "Prefer", async), http.StatusAccepted)
		a.work()
		m = a.manifest(r.header.Get("Content-Location"))
		// Oldest first: the first event after _since is the read made right after it.
		body := a.want(a.do("GET", m.Output[0].URL, ""), http.StatusOK).body
		if first, _, _ := strings.Cut(string(body), "\n"); !strings.Contains(first, `"value":"after-since"`) {
			t.Fatalf("_since export starts with %s", first)
		}

		r = a.want(a.do("GET", "/Patient/$export?_type=AuditEvent", "", "Prefer", async), http.StatusAccepted)
		a.work()
		for _, f := range a.manifest(r.header.Get("Content-Location")).Output {
			for _, l := range strings.Split(strings.TrimSpace(string(a.want(a.do("GET", f.URL, ""), http.StatusOK).body)), "\n") {
				if !strings.Contains(l, `"reference":"Patient/`) {
					t.Fatalf("Patient/$export of an event about no patient: %s", l)
				}
			}
		}

		r = a.want(a.do("GET", "/$export", "", "Prefer", async), http.StatusAccepted)
		a.work()
		for _, f := range a.manifest(r.header.Get("Content-Location")).Output {
			if f.Type == "AuditEvent" {
				t.Fatal("an export without _type included the audit log")
			}
		}
	})
}

// Exporting AuditEvents needs an auditor scope, on the kick-off and on the
// job's status and files: a token that may export every clinical type and
// label but not read AuditEvents gets 403, and so does an auditor who may
// not see every restricted label (today's rule for every bulk export).
func TestBulkExportAuditEventsNeedsAuditor(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := rest.New(db, parser, registry)
	b := bulk.New(bulk.Config{}, db, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := server.New(server.Config{Bulk: b}, svc, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	scopes, _ := auth.ParseScopes([]string{"user/Patient.rs", "user/Observation.rs", "user/Immunization.rs"})
	clinic := &auth.Principal{Issuer: "https://idp", Subject: "exporter", Scopes: scopes, Labels: []string{
		"http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R",
		"http://terminology.hl7.org/CodeSystem/v3-Confidentiality|V"}}
	// An auditor who may not see HIV data: the export would hold the events
	// of HIV records, so the label rule of every bulk export refuses it.
	auditScopes, _ := auth.ParseScopes([]string{"user/Patient.rs", "user/Observation.rs", "user/Immunization.rs", "user/AuditEvent.rs"})
	auditorNoHIV := &auth.Principal{Issuer: "https://idp", Subject: "auditor", Scopes: auditScopes, Labels: []string{
		"http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|V"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Test-Principal") {
		case "clinic":
			r = r.WithContext(auth.WithPrincipal(r.Context(), clinic))
		case "auditor-no-hiv":
			r = r.WithContext(auth.WithPrincipal(r.Context(), auditorNoHIV))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a := &api{t: t, srv: srv, base: srv.URL + "/fhir", store: db}
	a.want(a.do("GET", "/$export?_type=AuditEvent", "", "Prefer", async, "X-Test-Principal", "clinic"), http.StatusForbidden)
	if r := a.want(a.do("GET", "/$export?_type=AuditEvent", "", "Prefer", async, "X-Test-Principal", "auditor-no-hiv"), http.StatusForbidden); !strings.Contains(string(r.body), "v3-ActCode|HIV") {
		t.Fatalf("refusal does not name the label: %s", r.body)
	}
	a.want(a.do("GET", "/$export?_type=Patient", "", "Prefer", async, "X-Test-Principal", "clinic"), http.StatusAccepted)
	// A job exporting AuditEvents (kicked off by an auditor) is not the clinic's to poll.
	r := a.want(a.do("GET", "/$export?_type=AuditEvent", "", "Prefer", async), http.StatusAccepted)
	a.want(a.do("GET", r.header.Get("Content-Location"), "", "X-Test-Principal", "clinic"), http.StatusForbidden)
	a.want(a.do("GET", r.header.Get("Content-Location"), ""), http.StatusAccepted)
}
