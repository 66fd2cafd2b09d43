package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/audit"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Specifications: https://hl7.org/fhir/R4/auditevent.html#search,
// https://hl7.org/fhir/R4/search.html (paging, _sort, _summary=count),
// https://profiles.ihe.net/ITI/BALP/ (the rendered AuditEvents).

// AuditEvents an earlier Mekong stored as resources (indexed like data) are
// moved into the audit log when the database is opened, and are served
// exactly as they were: same ids, same JSON, found by the same searches,
// hidden by the same labels. Nothing is lost.
func TestLegacyAuditEventsAreKept(t *testing.T) {
	data, err := os.ReadFile("../audit/testdata/legacy-auditevents.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := b.Open(t)
			reg := rest.New(st, parser, registry).Registry() // with AuditEvent, as the old writes were indexed
			ids := map[string]string{}
			for _, line := range lines {
				var doc struct{ ID string }
				if err := json.Unmarshal([]byte(line), &doc); err != nil {
					t.Fatal(err)
				}
				m, err := search.Decode([]byte(line))
				if err != nil {
					t.Fatal(err)
				}
				ix, err := reg.Extract("AuditEvent", m)
				if err != nil {
					t.Fatal(err)
				}
				content := []byte(line)
				if _, err := st.Write(ctx, store.Write{Type: "AuditEvent", ID: doc.ID, Method: store.MethodPost, Index: ix,
					Render: func(string, int64, time.Time) []byte { return content }}); err != nil {
					t.Fatal(err)
				}
				ids[doc.ID] = line
			}
			n, err := audit.MigrateLegacy(ctx, st)
			if err != nil || n != len(lines) {
				t.Fatalf("moved %d of %d: %v", n, len(lines), err)
			}
			a := newAuditAPI(t, st, nil)
			for id, line := range ids {
				r := a.as("auditor", "GET", "/AuditEvent/"+id, "")
				if r.status != 200 || strings.TrimSpace(string(r.body)) != line {
					t.Fatalf("AuditEvent/%s: %d\n got %s\nwant %s", id, r.status, r.body, line)
				}
				if _, err := st.Read(ctx, "AuditEvent", id); err == nil {
					t.Fatalf("AuditEvent/%s is still a resource: it would be served twice", id)
				}
			}
			// date=lt2026-03 keeps out the auditor's own searches, audited as they run.
			for query, want := range map[string]int{
				"patient=Patient/sok":                          3,
				"subtype=search-type":                          1,
				"outcome=4":                                    2,
				"action=C&patient=sok":                         1,
				"agent=Organization/th-chiangrai-hospital":     3,
				"agent:identifier=urn:mekong:client|iom-batch": 1,
				"date=2026-02-10T08:02:00Z":                    1,
				"date=ge2026-02-10T08:03:00Z":                  2,
				"entity=Observation/o1":                        1,
			} {
				if got := len(a.auditEvents(query + "&date=lt2026-03")); got != want {
					t.Errorf("%s: %d AuditEvents, want %d", query, got, want)
				}
			}
			// The old read of a restricted Observation stays hidden from an
			// auditor who may not see restricted data.
			restricted := "0190a1b2-c3d4-7e5f-8a9b-000000000001"
			a.want(a.as("auditor-unlabelled", "GET", "/AuditEvent/"+restricted, ""), 404)
			if n := len(a.want(a.as("auditor-unlabelled", "GET", "/AuditEvent?patient=sok&date=lt2026-03", ""), 200).json(t)["entry"].([]any)); n != 2 {
				t.Fatalf("an unlabelled auditor sees %d of sok's events, want 2", n)
			}
			// A second opening moves nothing more.
			if n, err := audit.MigrateLegacy(ctx, st); err != nil || n != 0 {
				t.Fatalf("second migration moved %d: %v", n, err)
			}
		})
	}
}

// Every search parameter auditors use, over HTTP against events made by
// real requests: patient, agent, date, entity, action, outcome, type,
// subtype, source, purpose, with paging and _sort.
func TestAuditEventSearchParameters(t *testing.T) {
	eachAuditStore(t, func(t *testing.T, a *auditAPI) {
		t0 := time.Now().UTC().Add(-time.Second)
		a.want(a.as("clinic", "PUT", "/Patient/sok", `{"resourceType":"Patient","id":"sok"}`), 201)
		restricted := strings.Replace(observationOf("sok"), `"status"`, `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"status"`, 1)
		oid := a.want(a.as("clinic", "POST", "/Observation", restricted), 201).json(t)["id"].(string)
		for i := 0; i < 3; i++ {
			a.want(a.as("clinic", "GET", "/Patient/sok", "", "X-Request-ID", fmt.Sprintf("read-%d", i)), 200)
		}
		a.want(a.as("clinic", "GET", "/Observation/"+oid, "", "X-Request-ID", "read-obs"), 200)
		a.want(a.as("clinic", "GET", "/Observation?subject=Patient/sok", "", "X-Request-ID", "search-obs"), 200)
		a.want(a.as("clinic", "GET", "/Patient/nobody", "", "X-Request-ID", "read-404"), 404)
		a.want(a.as("", "GET", "/Patient/sok", "", "X-Request-ID", "anonymous"), 200) // the test server lets it in unauthenticated
		// Before t1: the clinic's requests; after it, the auditor's searches,
		// which are audited too and would otherwise join the answers.
		t1 := time.Now().UTC()
		until := "&date=lt" + url.QueryEscape(t1.Format(time.RFC3339Nano))
		source := audit.InstanceName

		reqIDs := func(query string) string {
			var out []string
			for _, ev := range a.auditEvents(query) {
				for _, e := range ev["entity"].([]any) {
					if what, _ := e.(map[string]any)["what"].(map[string]any); what != nil && what["identifier"] != nil {
						out = append(out, what["identifier"].(map[string]any)["value"].(string))
					}
				}
			}
			sort.Strings(out)
			return strings.Join(out, ",")
		}
		for _, c := range []struct{ query, want string }{
			{"patient=Patient/sok&subtype=read", "anonymous,read-0,read-1,read-2,read-obs"},
			{"patient=sok&action=E", "search-obs"},
			{"agent:identifier=" + url.QueryEscape("https://idp.moph.go.th|nurse-17") + "&subtype=read&outcome=0", "read-0,read-1,read-2,read-obs"},
			{"agent=Organization/th-chiangrai-hospital&outcome=4", "read-404"},
			{"agent=nurse-17&subtype=read&entity=Observation/" + oid, "read-obs"},
			{"agent=Organization/elsewhere", ""},
			{"entity=Observation/" + oid + "/_history/1&action=R", "read-obs"},
			{"entity:identifier=read-1", "read-1"},
			{"date=ge" + url.QueryEscape(t0.Format(time.RFC3339)) + "&outcome=4", "read-404"},
			{"date=lt" + url.QueryEscape(t0.Format(time.RFC3339)), ""},
			{"type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest&outcome=4", "read-404"},
			{"type=110113", ""},
			{"subtype=http://hl7.org/fhir/restful-interaction|search-type&agent=nurse-17", "search-obs"},
			{"source=" + source + "&outcome=4", "read-404"},
			{"source:identifier=urn:mekong:gateway|" + source + "&outcome=4", "read-404"},
			{"source=elsewhere", ""},
			{"purpose=TREAT&outcome=4", "read-404"},
			{"purpose=http://terminology.hl7.org/CodeSystem/v3-ActReason|TREAT&subtype=search-type", "search-obs"},
			{"purpose=ETREAT", ""},
			{"_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R&subtype=read", "read-obs"},
		} {
			if got := reqIDs(c.query + until); got != c.want {
				t.Errorf("%s: %q, want %q", c.query, got, c.want)
			}
		}

		// Paging newest first (the default, and _sort=-date) and oldest first.
		page := func(path string) (ids []string, next string) {
			b := a.want(a.as("auditor", "GET", path, ""), 200).json(t)
			for _, e := range asList(b["entry"]) {
				ids = append(ids, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
			}
			for _, l := range asList(b["link"]) {
				if l.(map[string]any)["relation"] == "next" {
					next = l.(map[string]any)["url"].(string)
				}
			}
			return ids, next
		}
		all, _ := page("/AuditEvent?patient=sok&_count=100" + until)
		var paged []string
		for path := "/AuditEvent?patient=sok&_sort=-date&_count=2" + until; path != ""; {
			ids, next := page(path)
			if len(ids) > 2 {
				t.Fatalf("page of %d", len(ids))
			}
			paged = append(paged, ids...)
			path = strings.TrimPrefix(next, a.base)
		}
		if strings.Join(paged, ",") != strings.Join(all, ",") || len(all) < 7 {
			t.Fatalf("paged %v\n  all %v", paged, all)
		}
		asc, _ := page("/AuditEvent?patient=sok&_sort=date&_count=100" + until)
		for i := range asc {
			if asc[i] != all[len(all)-1-i] {
				t.Fatalf("_sort=date is not the reverse of the default: %v vs %v", asc, all)
			}
		}
		total := a.want(a.as("auditor", "GET", "/AuditEvent?patient=sok&_summary=count"+until, ""), 200).json(t)["total"]
		if total != float64(len(all)) {
			t.Fatalf("_summary=count %v, want %d", total, len(all))
		}
		// Hidden labels hide the events: the unlabelled auditor does not see the read of the restricted Observation.
		for _, id := range all {
			r := a.as("auditor-unlabelled", "GET", "/AuditEvent/"+id, "")
			if strings.Contains(string(r.body), "Observation/"+oid) && !strings.Contains(string(r.body), "search-type") {
				t.Fatalf("an auditor without R sees %s", r.body)
			}
		}
		// What the log cannot answer is refused, naming the parameter.
		for _, q := range []string{"agent-name=x", "patient.name=x", "_include=AuditEvent:patient", "_sort=action", "patient:missing=true", "address=1.2.3.4"} {
			r := a.as("auditor", "GET", "/AuditEvent?"+q, "")
			if r.status != 400 || len(r.issue(t)["expression"].([]any)) == 0 {
				t.Errorf("%s: %d %s, want 400 naming the parameter", q, r.status, r.body)
			}
		}
		a.want(a.as("auditor", "GET", "/Provenance?_revinclude=AuditEvent:entity", ""), 400)
		a.want(a.as("auditor", "GET", "/AuditEvent/"+all[0]+"/_history/1", ""), 200)
		a.want(a.as("auditor", "GET", "/AuditEvent/"+all[0]+"/_history/2", ""), 404)
		a.want(a.as("auditor", "GET", "/AuditEvent?_id="+all[0], ""), 200)
		if n := len(a.auditEvents("_id=" + all[0])); n != 1 {
			t.Fatalf("_id: %d", n)
		}
	})
}
