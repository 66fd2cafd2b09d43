package server_test

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Tests of GET Patient/[id]/$everything:
// https://hl7.org/fhir/R4/patient-operation-everything.html, with membership
// from https://hl7.org/fhir/R4/compartmentdefinition-patient.html
// (Patient: link; Immunization: patient; Observation: subject, performer).

func everythingObservation(id, refs string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},%s,"effectiveDateTime":"2026-03-14"}`, id, refs)
}

func everythingImmunization(id, patient string) string {
	return fmt.Sprintf(`{"resourceType":"Immunization","id":%q,"status":"completed",
	  "vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
	  "patient":{"reference":"Patient/%s"},"occurrenceDateTime":"2021-07-02"}`, id, patient)
}

// putAll PUTs resources given as JSON (each with resourceType and id).
func putAll(t *testing.T, a *api, resources ...string) {
	t.Helper()
	for _, r := range resources {
		m := resp{body: []byte(r)}.json(t)
		a.want(a.do("PUT", "/"+m["resourceType"].(string)+"/"+m["id"].(string), r), 201)
	}
}

// everythingFixture is dara's record among sophea's, and returns what dara's
// $everything must hold, as sorted "Type/id".
func everythingFixture(t *testing.T, a *api) []string {
	putAll(t, a,
		`{"resourceType":"Patient","id":"dara","name":[{"family":"Sok","given":["Dara"]}]}`,
		`{"resourceType":"Patient","id":"sophea","name":[{"family":"Chan","given":["Sophea"]}]}`,
		// The same person registered again in Thailand, linked to dara.
		`{"resourceType":"Patient","id":"dara-th","link":[{"other":{"reference":"Patient/dara"},"type":"seealso"}]}`,
		everythingObservation("o-subject", `"subject":{"reference":"Patient/dara"}`),
		everythingObservation("o-performer", `"subject":{"reference":"Patient/sophea"},"performer":[{"reference":"Patient/dara"}]`),
		everythingObservation("o-both", `"subject":{"reference":"Patient/dara"},"performer":[{"reference":"Patient/dara"}]`),
		everythingObservation("o-sophea", `"subject":{"reference":"Patient/sophea"}`),
		everythingObservation("o-deleted", `"subject":{"reference":"Patient/dara"}`),
		everythingImmunization("i-dara", "dara"),
		everythingImmunization("i-sophea", "sophea"),
	)
	a.want(a.do("DELETE", "/Observation/o-deleted", ""), 200)
	return []string{"Immunization/i-dara", "Observation/o-both", "Observation/o-performer", "Observation/o-subject", "Patient/dara", "Patient/dara-th"}
}

// everythingPages follows next links from path and returns every entry's
// "Type/id" in order, the pages, and the totals each page gave.
func everythingPages(t *testing.T, a *api, path string) (ids []string, pages []map[string]any) {
	t.Helper()
	next := a.base + path
	for next != "" {
		if len(pages) > 50 {
			t.Fatal("paging does not end")
		}
		b := a.want(a.do("GET", next, ""), 200).json(t)
		if b["type"] != "searchset" {
			t.Fatalf("Bundle.type %v", b["type"])
		}
		pages = append(pages, b)
		for _, e := range entries(t, b) {
			if s, _ := e["search"].(map[string]any); s["mode"] != "match" {
				continue
			}
			r := e["resource"].(map[string]any)
			id := r["resourceType"].(string) + "/" + r["id"].(string)
			if e["fullUrl"] != a.base+"/"+id {
				t.Errorf("fullUrl %v for %s", e["fullUrl"], id)
			}
			ids = append(ids, id)
		}
		next = link(b, "next")
	}
	return ids, pages
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// The patient, its linked patient, its Observations through subject and
// performer and its Immunizations; never sophea's data or a deleted one.
func TestEverything(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		want := everythingFixture(t, a)
		ids, pages := everythingPages(t, a, "/Patient/dara/$everything")
		if len(pages) != 1 {
			t.Errorf("%d pages at the default _count", len(pages))
		}
		if got := sorted(ids); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("got %v, want %v", got, want)
		}
		if ids[0] != "Patient/dara" {
			t.Errorf("first entry %s, want the patient", ids[0])
		}
		if total := pages[0]["total"]; total != float64(len(want)) {
			t.Errorf("total %v, want %d", total, len(want))
		}
		if self := link(pages[0], "self"); !strings.HasSuffix(self, "/Patient/dara/$everything") {
			t.Errorf("self link %s", self)
		}
		ids, _ = everythingPages(t, a, "/Patient/sophea/$everything")
		if got := strings.Join(sorted(ids), " "); got != "Immunization/i-sophea Observation/o-performer Observation/o-sophea Patient/sophea" {
			t.Errorf("sophea: %s", got)
		}
	})
}

// No hard cap: with _count=2 the next links reach every resource exactly
// once, across types, each page giving the same total.
func TestEverythingPaging(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		want := everythingFixture(t, a)
		for i := 0; i < 9; i++ {
			putAll(t, a, everythingObservation(fmt.Sprintf("o-extra-%d", i), `"subject":{"reference":"Patient/dara"}`))
			want = append(want, fmt.Sprintf("Observation/o-extra-%d", i))
		}
		ids, pages := everythingPages(t, a, "/Patient/dara/$everything?_count=2")
		if wantPages := (len(want) + 1) / 2; len(pages) != wantPages {
			t.Errorf("%d pages, want %d", len(pages), wantPages)
		}
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Errorf("%s returned %d times", id, seen[id])
			}
		}
		if len(ids) != len(want) {
			t.Errorf("%d entries, want %d: %v", len(ids), len(want), ids)
		}
		for i, p := range pages {
			if p["total"] != float64(len(want)) || len(entries(t, p)) > 2 {
				t.Errorf("page %d: total %v, %d entries", i, p["total"], len(entries(t, p)))
			}
			if next := link(p, "next"); next != "" && !strings.Contains(next, "_count=2") {
				t.Errorf("next link %s lost _count", next)
			}
		}
		// _count=0: only the total.
		b := a.want(a.do("GET", "/Patient/dara/$everything?_count=0", ""), 200).json(t)
		if b["total"] != float64(len(want)) || len(entries(t, b)) != 0 || link(b, "next") != "" {
			t.Errorf("_count=0: %v", b)
		}
	})
}

// _since (an instant, on record time) and _type (repeatable, comma lists).
func TestEverythingSinceAndType(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		everythingFixture(t, a)
		r := a.want(a.do("PUT", "/Observation/o-performer", everythingObservation("o-performer", `"performer":[{"reference":"Patient/dara"}]`)), 200).json(t)
		since := r["meta"].(map[string]any)["lastUpdated"].(string)
		putAll(t, a, everythingImmunization("i-later", "dara"))
		ids, pages := everythingPages(t, a, "/Patient/dara/$everything?_since="+url.QueryEscape(since))
		if got := strings.Join(ids, " "); got != "Immunization/i-later Observation/o-performer" {
			t.Errorf("_since=%s: %s", since, got)
		}
		if pages[0]["total"] != float64(2) {
			t.Errorf("_since total %v", pages[0]["total"])
		}
		cases := map[string]string{
			"_type=Observation":                                  "Observation/o-both Observation/o-performer Observation/o-subject",
			"_type=Immunization,Patient":                         "Patient/dara Patient/dara-th Immunization/i-dara Immunization/i-later",
			"_type=Patient&_type=Immunization":                   "Patient/dara Patient/dara-th Immunization/i-dara Immunization/i-later",
			"_type=Immunization&_count=1":                        "Immunization/i-dara Immunization/i-later",
			"_type=Observation&_since=" + url.QueryEscape(since): "Observation/o-performer",
		}
		for q, want := range cases {
			if ids, _ := everythingPages(t, a, "/Patient/dara/$everything?"+q); strings.Join(ids, " ") != want {
				t.Errorf("%s: got %v, want %s", q, ids, want)
			}
		}
	})
}

// 404 for an unknown patient, 410 for a deleted one, 400 naming the
// parameter for a malformed _since, _type, _count or _cursor; unknown
// parameters are ignored and reported, or refused with handling=strict.
func TestEverythingErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		everythingFixture(t, a)
		putAll(t, a, `{"resourceType":"Patient","id":"gone"}`, everythingObservation("o-gone", `"subject":{"reference":"Patient/gone"}`))
		a.want(a.do("DELETE", "/Patient/gone", ""), 200)

		a.want(a.do("GET", "/Patient/nobody/$everything", ""), 404)
		a.want(a.do("GET", "/Patient/gone/$everything", ""), 410)
		a.want(a.do("GET", "/Patient/gone/$everything?_type=Observation", ""), 410)
		if is := a.want(a.do("GET", "/Observation/o-subject/$everything", ""), 404).issue(t); !strings.Contains(is["diagnostics"].(string), "Patient only") {
			t.Errorf("Observation $everything: %v", is)
		}
		a.want(a.do("GET", "/Condition/c1/$everything", ""), 404)

		bad := map[string]string{
			"_since=yesterday":                 "_since",
			"_since=2026-01-01T00:00:00+07:00": "_since", // an unescaped + is a space
			"_type=Observation,Condition":      "_type",
			"_type=":                           "_type",
			"_count=-1":                        "_count",
			"_count=ten":                       "_count",
			"_count=1&_count=2":                "_count",
			"_cursor=forged":                   "_cursor",
		}
		for q, expr := range bad {
			is := a.want(a.do("GET", "/Patient/dara/$everything?"+q, ""), 400).issue(t)
			if fmt.Sprint(is["expression"]) != "["+expr+"]" {
				t.Errorf("%s: expression %v, want %s", q, is["expression"], expr)
			}
		}
		// A cursor belongs to its patient and filters.
		first := a.want(a.do("GET", "/Patient/dara/$everything?_count=1", ""), 200).json(t)
		cursor, _ := url.Parse(link(first, "next"))
		c := url.QueryEscape(cursor.Query().Get("_cursor"))
		a.want(a.do("GET", "/Patient/sophea/$everything?_count=1&_cursor="+c, ""), 400)
		a.want(a.do("GET", "/Patient/dara/$everything?_count=1&_type=Observation&_cursor="+c, ""), 400)

		// Unknown parameters: reported leniently, refused strictly.
		b := a.want(a.do("GET", "/Patient/dara/$everything?foo=1", ""), 200).json(t)
		if oo := outcomeEntry(t, b); !strings.Contains(oo, "foo") {
			t.Errorf("no outcome entry for foo: %s", oo)
		}
		is := a.want(a.do("GET", "/Patient/dara/$everything?foo=1", "", "Prefer", "handling=strict"), 400).issue(t)
		if fmt.Sprint(is["expression"]) != "[foo]" {
			t.Errorf("strict: %v", is)
		}
		// start and end are accepted, even strictly, and said not to be applied.
		b = a.want(a.do("GET", "/Patient/dara/$everything?start=2020-01-01&end=2026", "", "Prefer", "handling=strict"), 200).json(t)
		if oo := outcomeEntry(t, b); !strings.Contains(oo, "start") || !strings.Contains(oo, "end") {
			t.Errorf("start/end outcome: %s", oo)
		}
		if b["total"] != float64(6) {
			t.Errorf("start/end changed the result: total %v", b["total"])
		}
	})
}

// outcomeEntry returns the JSON of a searchset's OperationOutcome entry ("" when none).
func outcomeEntry(t *testing.T, b map[string]any) string {
	t.Helper()
	for _, e := range entries(t, b) {
		if s, _ := e["search"].(map[string]any); s["mode"] == "outcome" {
			j, _ := jsonMarshal(e["resource"])
			return string(j)
		}
	}
	return ""
}

// The CapabilityStatement lists $everything on Patient only, with the
// operation's canonical definition.
func TestEverythingInCapabilityStatement(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	cs := a.want(a.do("GET", "/metadata", ""), 200).json(t)
	for _, r := range cs["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
		res := r.(map[string]any)
		found := false
		ops, _ := res["operation"].([]any) // the read-only definitional types have none
		for _, op := range ops {
			m := op.(map[string]any)
			if m["name"] == "everything" {
				found = true
				if m["definition"] != "http://hl7.org/fhir/OperationDefinition/Patient-everything" {
					t.Errorf("definition %v", m["definition"])
				}
			}
		}
		if found != (res["type"] == "Patient") {
			t.Errorf("%v: $everything listed = %v", res["type"], found)
		}
	}
}

// $everything with _type naming AuditEvent (the audit log's events about
// the patient follow the compartment's resources), paged to the end with a
// total that counts both, although each page read is itself audited.
func TestEverythingAuditEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		everythingFixture(t, a)
		for i := 0; i < 3; i++ {
			a.want(a.do("GET", "/Patient/dara", ""), 200)
		}
		events := a.want(a.do("GET", "/AuditEvent?patient=dara&_summary=count", ""), 200).json(t)["total"].(float64)
		ids, pages := everythingPages(t, a, "/Patient/dara/$everything?_type=Patient,AuditEvent&_count=2")
		var patients, audits int
		for _, id := range ids {
			switch {
			case strings.HasPrefix(id, "Patient/"):
				patients++
			case strings.HasPrefix(id, "AuditEvent/"):
				audits++
				body := a.want(a.do("GET", "/"+id, ""), 200).body
				if !strings.Contains(string(body), `"reference":"Patient/dara"`) {
					t.Fatalf("%s is not about dara: %s", id, body)
				}
			default:
				t.Fatalf("unexpected %s", id)
			}
		}
		// The count above is itself an event about dara, recorded before the first page.
		if patients != 2 || float64(audits) < events+1 || pages[0]["total"] != float64(len(ids)) {
			t.Fatalf("%d patients, %d AuditEvents (the log had %v), total %v of %d ids", patients, audits, events, pages[0]["total"], len(ids))
		}
		if i := slices.IndexFunc(ids, func(id string) bool { return strings.HasPrefix(id, "AuditEvent/") }); i < 2 {
			t.Fatalf("AuditEvents come after the compartment's resources: %v", ids)
		}
	})
}
