package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// https://hl7.org/fhir/R4/search.html#sort
func TestSearchSort(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		cases := map[string]string{
			"Observation?_sort=date":                    "o3,o2,o4,o1,o5,o6",
			"Observation?_sort=-date":                   "o6,o5,o1,o4,o2,o3",
			"Patient?_sort=birthdate":                   "p3,p2,p1,p4",
			"Patient?_sort=-birthdate":                  "p4,p1,p2,p3",
			"Patient?_sort=gender,-birthdate":           "p4,p2,p1,p3",
			"Patient?_sort=family":                      "p3,p2,p1,p4", // jaidee, muller, sok, sokha (min over names)
			"Observation?_sort=-value-quantity,_id":     "o5,o2,o1,o3,o4,o6",
			"Observation?_sort=_id":                     "o1,o2,o3,o4,o5,o6",
			"Observation?_sort=-_id":                    "o6,o5,o4,o3,o2,o1",
			"Immunization?_sort=-_lastUpdated&_count=1": "i3",
		}
		for q, want := range cases {
			path, query, _ := strings.Cut(q, "?")
			got := matchIDs(t, a.want(a.do("GET", "/"+path+"?"+query, ""), 200).json(t))
			if strings.Join(got, ",") != want {
				t.Errorf("%s: got %v, want %s", q, got, want)
			}
		}
	})
}

// Paging (https://hl7.org/fhir/R4/http.html#paging): next and previous
// links walk every match once, in order, even when data changes between
// pages; deep pages use the same keyset as the first.
func TestSearchPaging(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for i := 0; i < 25; i++ {
			a.want(a.do("PUT", fmt.Sprintf("/Patient/pg%02d", i), fmt.Sprintf(`{"resourceType":"Patient","id":"pg%02d","gender":"other","birthDate":"%d"}`, i, 1950+i%7)), 201)
		}
		// The first criterion set is driven from the token index (system|code);
		// the second is planned as a semi-join; sorted searches use sort keys.
		for _, sortParam := range []string{"&gender=http://hl7.org/fhir/administrative-gender|other", "", "&_sort=-birthdate", "&_sort=birthdate,-_id"} {
			next := a.base + "/Patient?gender=other&_count=4" + sortParam
			var forward []string
			var pages []map[string]any
			for n := 0; next != ""; n++ {
				if n > 10 {
					t.Fatal("too many pages")
				}
				b := a.want(a.do("GET", next, ""), 200).json(t)
				pages = append(pages, b)
				forward = append(forward, matchIDs(t, b)...)
				next = link(b, "next")
				if n == 1 { // a write between pages must not shift them
					a.want(a.do("PUT", "/Patient/pg00", `{"resourceType":"Patient","id":"pg00","gender":"other","birthDate":"1950"}`), 200)
				}
			}
			if len(forward) != 25 || len(uniq(forward)) != 25 {
				t.Fatalf("%s: paged %d ids (%d distinct), want 25: %v", sortParam, len(forward), len(uniq(forward)), forward)
			}
			if link(pages[0], "previous") != "" {
				t.Fatalf("first page has a previous link")
			}
			// Walk back from the last page with previous links.
			var backward []string
			prev := link(pages[len(pages)-1], "previous")
			for prev != "" {
				b := a.want(a.do("GET", prev, ""), 200).json(t)
				backward = append(matchIDs(t, b), backward...)
				prev = link(b, "previous")
			}
			last := matchIDs(t, pages[len(pages)-1])
			if strings.Join(append(backward, last...), ",") != strings.Join(forward, ",") {
				t.Fatalf("%s: backward %v differs from forward %v", sortParam, append(backward, last...), forward)
			}
		}
		// A cursor from another search is refused.
		b := a.want(a.do("GET", "/Patient?gender=other&_count=4", ""), 200).json(t)
		u, _ := url.Parse(link(b, "next"))
		a.want(a.do("GET", "/Patient?gender=male&_cursor="+url.QueryEscape(u.Query().Get("_cursor")), ""), 400)
		a.want(a.do("GET", "/Patient?_cursor=garbage", ""), 400)
	})
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

// _total, _summary, _elements, _count (https://hl7.org/fhir/R4/search.html#total, #summary, #elements).
func TestSearchResultParameters(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		count := a.want(a.do("GET", "/Observation?_summary=count", ""), 200).json(t)
		if count["total"] != float64(6) || count["entry"] != nil {
			t.Fatalf("_summary=count: %v", count)
		}
		if b := a.want(a.do("GET", "/Observation?code=94500-6&_count=0", ""), 200).json(t); b["total"] != float64(2) {
			t.Fatalf("_count=0: %v", b)
		}
		if b := a.want(a.do("GET", "/Observation?_count=2&_total=accurate", ""), 200).json(t); b["total"] != float64(6) || len(matchIDs(t, b)) != 2 {
			t.Fatalf("_total=accurate: %v", b["total"])
		}
		if b := a.want(a.do("GET", "/Observation?_count=2", ""), 200).json(t); b["total"] != nil {
			t.Fatalf("total %v given without being asked on a partial page", b["total"])
		}
		if b := a.want(a.do("GET", "/Observation?code=94500-6", ""), 200).json(t); b["total"] != float64(2) {
			t.Fatalf("a result on one page should carry its total: %v", b["total"])
		}
		r := a.want(a.do("GET", "/Observation?_id=o1&_elements=code", ""), 200).json(t)
		res := entries(t, r)[0]["resource"].(map[string]any)
		if res["code"] == nil || res["status"] == nil || res["subject"] != nil || res["valueCodeableConcept"] != nil {
			t.Fatalf("_elements=code kept %v", res)
		}
		if !strings.Contains(fmt.Sprint(res["meta"]), "SUBSETTED") {
			t.Fatalf("subset not tagged: %v", res["meta"])
		}
		r = a.want(a.do("GET", "/Observation?_id=o1&_summary=true", ""), 200).json(t)
		res = entries(t, r)[0]["resource"].(map[string]any)
		if res["code"] == nil || res["valueCodeableConcept"] == nil || res["category"] != nil {
			t.Fatalf("_summary=true kept %v", res)
		}
		r = a.want(a.do("GET", "/Observation?_id=o1&_summary=data", ""), 200).json(t)
		if res = entries(t, r)[0]["resource"].(map[string]any); res["category"] == nil {
			t.Fatalf("_summary=data dropped data: %v", res)
		}
		if b := a.want(a.do("GET", "/Observation?_count=5000", ""), 200).json(t); !strings.Contains(string(mustJSON(b)), "maximum") {
			t.Fatalf("_count above the maximum should be reported: %v", b)
		}
	})
}

// _include and _revinclude (https://hl7.org/fhir/R4/search.html#include).
func TestSearchIncludes(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		modes := func(b map[string]any) map[string]string {
			m := map[string]string{}
			for _, e := range entries(t, b) {
				res := e["resource"].(map[string]any)
				m[res["resourceType"].(string)+"/"+fmt.Sprint(res["id"])] = e["search"].(map[string]any)["mode"].(string)
			}
			return m
		}
		got := modes(a.want(a.do("GET", "/Observation?code=94500-6&_include=Observation:subject", ""), 200).json(t))
		want := map[string]string{"Observation/o1": "match", "Observation/o6": "match", "Patient/p1": "include", "Patient/p4": "include"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("_include: %v", got)
		}
		got = modes(a.want(a.do("GET", "/Patient?_id=p1&_revinclude=Observation:subject&_revinclude=Immunization:patient", ""), 200).json(t))
		if len(got) != 6 || got["Patient/p1"] != "match" || got["Observation/o5"] != "include" || got["Immunization/i2"] != "include" {
			t.Fatalf("_revinclude: %v", got)
		}
		// :iterate: Immunizations of p1, their patient, then that patient's Observations.
		got = modes(a.want(a.do("GET", "/Immunization?_id=i1&_include=Immunization:patient&_revinclude:iterate=Observation:patient", ""), 200).json(t))
		if got["Patient/p1"] != "include" || got["Observation/o2"] != "include" || len(got) != 5 {
			t.Fatalf("_revinclude:iterate: %v", got)
		}
		a.want(a.do("GET", "/Observation?_include=Observation:bogus", ""), 400)
	})
}

// Unknown parameters are reported, or refused under Prefer: handling=strict;
// malformed values are 400 naming the parameter (https://hl7.org/fhir/R4/search.html#errors).
func TestSearchErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		b := a.want(a.do("GET", "/Patient?nickname=x&gender=male", ""), 200).json(t)
		es := entries(t, b)
		if es[0]["search"].(map[string]any)["mode"] != "outcome" || !strings.Contains(string(mustJSON(es[0])), "nickname") {
			t.Fatalf("unknown parameter not reported: %v", es[0])
		}
		if ids := matchIDs(t, b); len(ids) != 2 {
			t.Fatalf("the known parameter still applies: %v", ids)
		}
		a.want(a.do("GET", "/Patient?nickname=x", "", "Prefer", "handling=strict"), 400)
		bad := map[string]string{
			"/Patient?birthdate=1990-13":               "birthdate",
			"/Observation?value-quantity=abc":          "value-quantity",
			"/Patient?_sort=nickname":                  "_sort",
			"/Patient?_count=x":                        "_count",
			"/Patient?gender:exact=male":               "gender:exact",
			"/Patient?identifier=a|b|c":                "identifier",
			"/Observation?code-value-quantity=8480-6":  "code-value-quantity",
			"/Observation?subject:Group.name=x":        "subject:Group.name",
			"/Patient?_has:Observation:code:code=x":    "_has:Observation:code:code",
			"/Patient?_total=maybe":                    "_total",
			"/Observation?code:in=http://x/ValueSet/y": "code:in",
			"/Patient?birthdate:missing=perhaps":       "birthdate:missing",
			"/Patient?_type=Patient":                   "",
		}
		for path, param := range bad {
			if param == "" {
				continue
			}
			is := a.want(a.do("GET", path, ""), 400).issue(t)
			if is["expression"].([]any)[0] != param {
				t.Errorf("%s: expression %v, want %s (%s)", path, is["expression"], param, is["diagnostics"])
			}
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := jsonMarshal(v)
	return b
}

// POST _search and system-level search (https://hl7.org/fhir/R4/http.html#search).
func TestSearchPostAndSystem(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		r := a.want(a.do("POST", "/Observation/_search?subject=p1", "code=94500-6,29463-7", "Content-Type", "application/x-www-form-urlencoded"), 200)
		if got := strings.Join(matchIDs(t, r.json(t)), ","); got != "o1,o5" {
			t.Fatalf("POST _search: %s", got)
		}
		a.want(a.do("POST", "/Observation/_search", `{"code":"x"}`, "Content-Type", "application/json"), 415)
		sys := a.want(a.do("GET", "?_type=Patient,Immunization&_id=p1,i1", ""), 200).json(t)
		if got := strings.Join(matchIDs(t, sys), ","); got != "i1,p1" {
			t.Fatalf("system search: %s", got)
		}
		if got := len(matchIDs(t, a.want(a.do("GET", "?_lastUpdated=gt2000&_count=100", ""), 200).json(t))); got != len(searchFixtures) {
			t.Fatalf("system search over every type: %d", got)
		}
		a.want(a.do("GET", "?_type=Encounter", ""), 400)
	})
}

// Conditional update and delete (https://hl7.org/fhir/R4/http.html#cond-update, #cdelete).
func TestConditionalUpdateDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		passport := "identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456"
		// One match, no id in the body: that resource is updated.
		r := a.want(a.do("PUT", "/Patient?"+passport, `{"resourceType":"Patient","gender":"male","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"}]}`), 200)
		if m := r.json(t); m["id"] != "p1" || r.header.Get("ETag") != `W/"2"` {
			t.Fatalf("conditional update: %v %s", r.header, r.body)
		}
		// One match, a different id in the body: 400.
		a.want(a.do("PUT", "/Patient?"+passport, `{"resourceType":"Patient","id":"p2"}`), 400)
		// No match: created (with the body's id when given).
		r = a.want(a.do("PUT", "/Patient?identifier=urn:new|1", `{"resourceType":"Patient","id":"fresh","identifier":[{"system":"urn:new","value":"1"}]}`), 201)
		if r.json(t)["id"] != "fresh" {
			t.Fatalf("conditional create by update: %s", r.body)
		}
		r = a.want(a.do("PUT", "/Patient?identifier=urn:new|2", `{"resourceType":"Patient","identifier":[{"system":"urn:new","value":"2"}]}`), 201)
		if id, _ := r.json(t)["id"].(string); id == "" {
			t.Fatalf("no id assigned: %s", r.body)
		}
		// Several matches: 412.
		a.want(a.do("PUT", "/Patient?gender=male", `{"resourceType":"Patient"}`), 412)
		// Unknown criteria are refused, never ignored.
		a.want(a.do("PUT", "/Patient?nickname=x", `{"resourceType":"Patient"}`), 400)
		a.want(a.do("PUT", "/Patient", `{"resourceType":"Patient"}`), 405)

		a.want(a.do("DELETE", "/Observation?code=94500-6", ""), 412)
		a.want(a.do("DELETE", "/Observation?code=29463-7", ""), 200)
		a.want(a.do("GET", "/Observation/o5", ""), 410)
		if ids := matchIDs(t, a.want(a.do("GET", "/Observation?code=29463-7", ""), 200).json(t)); len(ids) != 0 {
			t.Fatalf("deleted resource still found: %v", ids)
		}
		a.want(a.do("DELETE", "/Observation?code=29463-7", ""), 200) // nothing left: not an error
		// A deleted resource no longer satisfies chains or _has either.
		if ids := matchIDs(t, a.want(a.do("GET", "/Patient?_has:Observation:subject:code=29463-7", ""), 200).json(t)); len(ids) != 0 {
			t.Fatalf("_has sees a deleted resource: %v", ids)
		}
	})
}

// Conditional update is atomic: concurrent identical requests with no match
// create one resource and update it, never two resources.
func TestConcurrentConditionalUpdate(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		const n = 10
		body := `{"resourceType":"Patient","identifier":[{"system":"urn:conc","value":"1"}]}`
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := a.do("PUT", "/Patient?identifier=urn:conc|1", body); r.status != 200 && r.status != 201 {
					t.Errorf("status %d: %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		b := a.want(a.do("GET", "/Patient?identifier=urn:conc|1", ""), 200).json(t)
		ids := matchIDs(t, b)
		if len(ids) != 1 {
			t.Fatalf("%d concurrent conditional updates made %d resources", n, len(ids))
		}
		if v := entries(t, b)[0]["resource"].(map[string]any)["meta"].(map[string]any)["versionId"]; v != fmt.Sprint(n) {
			t.Fatalf("version %v after %d updates", v, n)
		}
	})
}
