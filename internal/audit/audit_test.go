package audit_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

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
	principals := []*auth.Principal{nil, {Issuer: "https://idp", Subject: "u1", ClientID: "c1", Organization: "http://hl7.org/fhir/sid/org|KH-MOH",
		PurposeOfUse: []string{"TREAT", "PUBHLTH"}, TokenID: "t1"}, {ClientID: "c2", Organization: "Organization/iom"}}
	labels := []audit.Label{{System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R"}}
	events := []audit.Event{
		{Action: audit.ActionRead, Interaction: "read", Type: "Observation", ID: "o1", VersionID: 2, Patients: []string{"p1"}, Labels: labels},
		{Action: audit.ActionExecute, Interaction: "search-type", Type: "Observation", Query: "subject=Patient/p1&code=x", Patients: []string{"p1", "p2"}},
		{Action: audit.ActionCreate, Interaction: "create", Type: "Patient", ID: "p1", VersionID: 1, Patients: []string{"p1"}, Status: 422},
		{Action: audit.ActionExecute, Interaction: "transaction"},
		// Break-the-glass (CONTRACTS.md §4): type, subtype and purpose override the defaults.
		{Action: audit.ActionExecute, Interaction: "operation", Type: "Patient", ID: "p1", Patients: []string{"p1"},
			EventType: &audit.TypeSecurityAlert, Subtypes: []audit.Coding{audit.SubtypeEmergencyOverrideStarted},
			PurposeOfEvent: []audit.Coding{audit.PurposeEmergencyTreatment}, Reason: "unconscious at the border post"},
	}
	for _, pr := range principals {
		for _, ev := range events {
			ws, err := b.AuditEvents(ev, audit.Request{ID: "req-1", ClientAddress: "10.0.0.7", Server: "mekong.example"}, pr, 200, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if want := max(1, len(ev.Patients)); len(ws) != want {
				t.Fatalf("%v: %d AuditEvents, want one per patient (%d)", ev, len(ws), want)
			}
			for _, w := range ws {
				body := valid(t, p, w)
				if ev.EventType != nil && !(strings.Contains(body, `"type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110113"`) &&
					strings.Contains(body, `"subtype":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110127"`) &&
					strings.Contains(body, `"purposeOfEvent":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"ETREAT"`) &&
					strings.Contains(body, `"text":"unconscious at the border post"`)) {
					t.Fatalf("break-the-glass event rendered without its type, subtype, purpose or reason: %s", body)
				}
			}
		}
		w, err := b.Provenance(&store.Version{Type: "Observation", ID: "o1", VersionID: 3, Deleted: true, LastUpdated: time.Now()}, labels, pr)
		if err != nil {
			t.Fatal(err)
		}
		body := valid(t, p, w)
		if !strings.Contains(body, `"target":[{"reference":"Observation/o1/_history/3"}]`) || !strings.Contains(body, `"code":"DELETE"`) || !strings.Contains(body, `"code":"R"`) {
			t.Fatalf("Provenance %s", body)
		}
	}
}

func valid(t *testing.T, p *resource.Parser, w store.Write) string {
	t.Helper()
	body := w.Render(w.ID, 1, time.Now())
	if _, err := p.Parse(body); err != nil {
		t.Fatalf("%s is not valid R4: %v\n%s", w.Type, err, body)
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
