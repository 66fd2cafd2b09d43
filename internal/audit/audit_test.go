package audit_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// The records Mekong writes must be valid R4 resources
// (https://hl7.org/fhir/R4/auditevent.html, https://hl7.org/fhir/R4/provenance.html)
// following BALP (https://profiles.ihe.net/ITI/BALP/StructureDefinition-IHE.BasicAudit.PatientRead.html):
// each is rendered and put through the same validator as client writes.
func TestRecordsAreValidR4(t *testing.T) {
	reg, err := search.NewRegistry([]string{"AuditEvent", "Provenance"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	b := audit.NewBuilder(reg, func() string { n++; return "rec-" + string(rune('a'+n)) })
	for _, pr := range testPrincipals {
		for _, ev := range testEvents {
			ws, err := b.AuditEvents(ev, audit.Request{ID: "req-1", ClientAddress: "10.0.0.7", Server: "mekong.example"}, pr, 200, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if want := max(1, len(ev.Patients)); len(ws) != want {
				t.Fatalf("%v: %d AuditEvents, want one per patient (%d)", ev, len(ws), want)
			}
			for _, w := range ws {
				if w.Audit == nil || w.Render != nil {
					t.Fatalf("an access's AuditEvent is a log entry, not a resource: %+v", w)
				}
				w.Audit.ID = "rec-1" // the store names a row when it appends it
				body := validBody(t, p, "AuditEvent", audit.Render(w.Audit))
				if ev.EventType != nil && !(strings.Contains(body, `"type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110113"`) &&
					strings.Contains(body, `"subtype":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110127"`) &&
					strings.Contains(body, `"purposeOfEvent":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"ETREAT"`) &&
					strings.Contains(body, `"text":"unconscious at the border post"`)) {
					t.Fatalf("break-the-glass event rendered without its type, subtype, purpose or reason: %s", body)
				}
			}
		}
		w, err := b.Provenance(&store.Version{Type: "Observation", ID: "o1", VersionID: 3, Deleted: true, LastUpdated: time.Now()}, testLabels, pr)
		if err != nil {
			t.Fatal(err)
		}
		body := valid(t, p, w)
		if !strings.Contains(body, `"target":[{"reference":"Observation/o1/_history/3"}]`) || !strings.Contains(body, `"code":"DELETE"`) || !strings.Contains(body, `"code":"R"`) {
			t.Fatalf("Provenance %s", body)
		}
	}
}

// testPrincipals and testEvents are the callers and accesses the records
// are made for: no principal, a user of a clinic, a client alone.
var (
	testPrincipals = []*auth.Principal{nil, {Issuer: "https://idp", Subject: "u1", ClientID: "c1", Organization: "http://hl7.org/fhir/sid/org|KH-MOH",
		PurposeOfUse: []string{"TREAT", "PUBHLTH"}, TokenID: "t1"}, {ClientID: "c2", Organization: "Organization/iom"}}
	testLabels = []audit.Label{{System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R", Display: "restricted"}}
	testEvents = []audit.Event{
		{Action: audit.ActionRead, Interaction: "read", Type: "Observation", ID: "o1", VersionID: 2, Patients: []string{"p1"}, Labels: testLabels},
		{Action: audit.ActionExecute, Interaction: "search-type", Type: "Observation", Query: "subject=Patient/p1&code=x", Patients: []string{"p1", "p2"}},
		{Action: audit.ActionCreate, Interaction: "create", Type: "Patient", ID: "p1", VersionID: 1, Patients: []string{"p1"}, Status: 422},
		{Action: audit.ActionExecute, Interaction: "transaction"},
		// Break-the-glass (CONTRACTS.md §4): type, subtype and purpose override the defaults.
		{Action: audit.ActionExecute, Interaction: "operation", Type: "Patient", ID: "p1", Patients: []string{"p1"},
			EventType: &audit.TypeSecurityAlert, Subtypes: []audit.Coding{audit.SubtypeEmergencyOverrideStarted},
			PurposeOfEvent: []audit.Coding{audit.PurposeEmergencyTreatment}, Reason: "unconscious at the border post"},
	}
)

func valid(t *testing.T, p *resource.Parser, w store.Write) string {
	t.Helper()
	return validBody(t, p, w.Type, w.Render(w.ID, 1, time.Now()))
}

func validBody(t *testing.T, p *resource.Parser, typ string, body []byte) string {
	t.Helper()
	if _, err := p.Parse(body); err != nil {
		t.Fatalf("%s is not valid R4: %v\n%s", typ, err, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// Which patient a search concerns, from its criteria.
func TestPatientsInQuery(t *testing.T) {
	for _, tc := range []struct {
		typ, query, want string
	}{
		{"Observation", "subject=Patient/p1", "p1"},
		{"Observation", "patient=p2", "p2"},
		{"Observation", "subject:Patient=p3", "p3"},
		{"Observation", "subject=Group/g1", ""},
		{"Observation", "subject:Patient.identifier=x|y", ""},
		{"Immunization", "patient=Patient/a,Patient/b", "a,b"},
		{"Patient", "_id=p4", "p4"},
		{"Observation", "_id=o1", ""},
	} {
		q, _ := url.ParseQuery(tc.query)
		if got := strings.Join(audit.PatientsInQuery(tc.typ, q), ","); got != tc.want {
			t.Errorf("%s?%s: %q, want %q", tc.typ, tc.query, got, tc.want)
		}
	}
}

// Outcome codes (http://terminology.hl7.org/CodeSystem/audit-event-outcome).
func TestOutcomeCode(t *testing.T) {
	for status, want := range map[int]string{200: "0", 201: "0", 304: "0", 401: "4", 403: "4", 404: "4", 422: "4", 500: "8", 503: "8"} {
		if got := audit.OutcomeCode(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}

// A Provenance's index rows are built from its values, not by decoding its
// JSON; they must be exactly what extraction from the rendered resource
// gives (https://hl7.org/fhir/R4/provenance.html#search), or a search would
// miss records.
func TestProvenanceIndexMatchesExtraction(t *testing.T) {
	reg, err := search.NewRegistry([]string{"Provenance", "Patient", "Observation"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	b := audit.NewBuilder(reg, func() string { return "prov-1" })
	principals := []*auth.Principal{nil, {Issuer: "https://idp", Subject: "u1", ClientID: "c1", Organization: "http://hl7.org/fhir/sid/org|KH-MOH",
		PurposeOfUse: []string{"TREAT"}}, {ClientID: "c2", Organization: "Organization/iom"}, {Organization: "https://org.example/x"}}
	labels := []audit.Label{{System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R", Display: "Restricted"}, {System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "HIV"}}
	at := time.Date(2026, 3, 14, 9, 30, 0, 123456000, time.UTC)
	versions := [][]*store.Version{
		{{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: at}},
		{{Type: "Observation", ID: "o1", VersionID: 3, Deleted: true, LastUpdated: at}},
		{{Type: "Observation", ID: "o2", VersionID: 1, LastUpdated: at}, {Type: "Patient", ID: "p2", VersionID: 2, LastUpdated: at, Method: store.MethodPut}},
	}
	for _, p := range principals {
		for _, vs := range versions {
			for _, ls := range [][]audit.Label{nil, labels} {
				w, err := b.ProvenanceOf(vs, ls, p)
				if err != nil {
					t.Fatal(err)
				}
				m, err := search.Decode(w.Render(w.ID, 1, at))
				if err != nil {
					t.Fatal(err)
				}
				want, err := reg.Extract("Provenance", m)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(sortedIndex(want), sortedIndex(w.Index)); diff != "" {
					t.Errorf("index of the Provenance of %v by %+v with %v (-extracted +built):\n%s", vs, p, ls, diff)
				}
			}
		}
	}
}

func sortedIndex(ix *search.Index) *search.Index {
	c := *ix
	sort.Slice(c.Tokens, func(i, j int) bool { return fmt.Sprint(c.Tokens[i]) < fmt.Sprint(c.Tokens[j]) })
	sort.Slice(c.Refs, func(i, j int) bool { return fmt.Sprint(c.Refs[i]) < fmt.Sprint(c.Refs[j]) })
	sort.Slice(c.Dates, func(i, j int) bool { return fmt.Sprint(c.Dates[i]) < fmt.Sprint(c.Dates[j]) })
	return &c
}

// A log row rendered as an AuditEvent reads back into the same row: the
// rendering loses nothing the row holds (except the store's chain fields),
// which is also what lets AuditEvents stored as resources by an earlier
// Mekong move into the log with every searchable column.
func TestFromLegacyInvertsRender(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 30, 0, 123456000, time.UTC)
	req := audit.Request{ID: "req-1", ClientAddress: "10.0.0.7", Server: "mekong.example"}
	for _, p := range append(testPrincipals, &auth.Principal{Organization: "https://org.example/x"}) {
		for _, ev := range testEvents {
			for _, want := range audit.Records(ev, req, p, 200, at, "gw-1") {
				want.ID = "0190a1b2-c3d4-7e5f-8a9b-000000000009"
				got, err := audit.FromLegacy(want.ID, audit.Render(&want))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%+v by %+v (-rendered +read back):\n%s", ev, p, diff)
				}
			}
		}
	}
}

// AuditEvents written by the Mekong before the audit log (testdata, made by
// commit 5309269's Builder) read into the rows auditors search by.
func TestFromLegacyGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/legacy-auditevents.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var doc struct{ ID string }
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		r, err := audit.FromLegacy(doc.ID, []byte(line))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %d user=%s|%s client=%s org=%s patient=%s entity=%s/%s/%d labels=%d query=%q req=%s at=%s",
			r.Action, r.Interaction, r.EventType.Code, r.Status, r.Issuer, r.Subject, r.ClientID, r.Organization, r.Patient,
			r.EntityType, r.EntityID, r.EntityVersion, len(r.Labels), r.Query, r.RequestID, r.Recorded.Format(time.RFC3339)))
	}
	want := []string{
		`R read  200 user=https://idp.moph.go.th|nurse-17 client=hosxp-chiangrai org=Organization/th-chiangrai-hospital patient=sok entity=Observation/o1/2 labels=1 query="" req=req-0 at=2026-02-10T08:00:00Z`,
		`E search-type  200 user=https://idp.moph.go.th|nurse-17 client=hosxp-chiangrai org=Organization/th-chiangrai-hospital patient=sok entity=Observation//0 labels=0 query="subject=Patient/sok&code=http://loinc.org|94500-6" req=req-1 at=2026-02-10T08:01:00Z`,
		`R read  404 user=https://idp.moph.go.th|nurse-17 client=hosxp-chiangrai org=Organization/th-chiangrai-hospital patient=nobody entity=Patient/nobody/0 labels=0 query="" req=req-2 at=2026-02-10T08:02:00Z`,
		`E search-system  401 user=| client= org= patient= entity=//0 labels=0 query="" req=req-3 at=2026-02-10T08:03:00Z`,
		`C create  200 user=| client=iom-batch org=http://iom.int/sid|IOM patient=sok entity=Patient/sok/1 labels=0 query="" req=req-4 at=2026-02-10T08:04:00Z`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FactsOf reads only the members it needs; it must agree with a full
// decode on every official R4 example and on resources with labels,
// escapes and nesting it has to skip correctly.
func TestFactsOfMatchesFullDecode(t *testing.T) {
	files, _ := filepath.Glob("../../.cache/r4-examples/package/*.json")
	bodies := map[string][]byte{
		"escapes": []byte(`{"resourceType":"Observation","note":[{"text":"a \"quoted\" } ] { [ \\"}],"subject":{"reference":"Patient/p\u00e9"},"meta":{"security":[{"system":"s","code":"R"}]}}`),
		"spaces":  []byte(` { "resourceType" : "Patient" , "id" : "p1" , "meta" : { "security" : [ { "code" : "V" } ] } } `),
		"nested":  []byte(`{"resourceType":"Immunization","contained":[{"resourceType":"Patient","id":"x","meta":{"security":[{"code":"HIV"}]}}],"patient":{"reference":"Patient/p2/_history/3"}}`),
		"broken":  []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/p3"`),
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = b
	}
	for name, b := range bodies {
		var doc struct{ ResourceType string }
		_ = json.Unmarshal(b, &doc)
		typ := doc.ResourceType
		if name == "broken" {
			typ = "Observation"
		}
		got, want := audit.FactsOf(typ, b), audit.FactsSlowForTest(typ, b)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-full decode +FactsOf):\n%s", name, diff)
		}
	}
}

func BenchmarkFactsOf(b *testing.B) {
	body := []byte(`{"resourceType":"Observation","id":"bo-1-1","meta":{"versionId":"1","lastUpdated":"2026-03-14T09:30:00.123456Z","security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA [Presence] by NAA"}]},"subject":{"reference":"Patient/bp-1"},"effectiveDateTime":"2026-01-10T09:30:00+07:00","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009","display":"Negative"}]}}`)
	b.Run("top-level", func(b *testing.B) {
		for range b.N {
			audit.FactsOf("Observation", body)
		}
	})
	b.Run("full-decode", func(b *testing.B) {
		for range b.N {
			audit.FactsSlowForTest("Observation", body)
		}
	})
}
