package server_test

import (
	"strings"
	"sync"
	"testing"
)

const passport = `{"resourceType":"Patient","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N7"}]}`

// https://hl7.org/fhir/R4/http.html#ccreate: no match creates (201), one
// match returns it (200, nothing created), several are 412.
func TestConditionalCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		cond := "identifier=http://hl7.org/fhir/sid/passport-KHM|N7"
		first := a.want(a.do("POST", "/Patient", passport, "If-None-Exist", cond), 201).json(t)["id"]
		again := a.want(a.do("POST", "/Patient", passport, "If-None-Exist", cond), 200)
		if again.json(t)["id"] != first {
			t.Fatalf("matched create returned %s, want %v", again.body, first)
		}
		a.want(a.do("POST", "/Patient", passport, "If-None-Exist", "_id="+first.(string)), 200)
		a.want(a.do("POST", "/Patient", passport, "If-None-Exist", "identifier=N7"), 200)
		a.want(a.do("POST", "/Patient", passport), 201) // unconditional duplicate
		is := a.want(a.do("POST", "/Patient", passport, "If-None-Exist", cond), 412).issue(t)
		if is["code"] != "multiple-matches" {
			t.Fatalf("issue %v", is)
		}
		// Unknown parameters are refused: ignoring one would create blindly.
		is = a.want(a.do("POST", "/Patient", passport, "If-None-Exist", "nickname=Sok"), 400).issue(t)
		if !strings.Contains(is["diagnostics"].(string), "nickname") {
			t.Fatalf("issue %v", is)
		}
		// Any search parameter works as a condition.
		a.want(a.do("POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Sok"}]}`, "If-None-Exist", "family=sok"), 201)
		a.want(a.do("POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Sok"}]}`, "If-None-Exist", "family=sok"), 200)
		a.want(a.do("POST", "/Patient", passport, "If-None-Exist", "identifier=a|b|c"), 400)
	})
}

// Two identical concurrent conditional creates store exactly one resource.
func TestConcurrentConditionalCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		body := `{"resourceType":"Patient","identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"1103700012345"}]}`
		cond := "identifier=https://terms.sil-th.org/id/th-cid|1103700012345"
		const n = 12
		var wg sync.WaitGroup
		ids := make(chan any, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := a.do("POST", "/Patient", body, "If-None-Exist", cond)
				if r.status != 200 && r.status != 201 {
					t.Errorf("status %d: %s", r.status, r.body)
					return
				}
				ids <- r.json(t)["id"]
			}()
		}
		wg.Wait()
		close(ids)
		distinct := map[any]bool{}
		for id := range ids {
			distinct[id] = true
		}
		if len(distinct) != 1 {
			t.Fatalf("%d concurrent conditional creates made %d resources", n, len(distinct))
		}
	})
}
