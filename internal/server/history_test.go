package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func entries(t testing.TB, bundle map[string]any) []map[string]any {
	t.Helper()
	raw, _ := bundle["entry"].([]any)
	out := make([]map[string]any, len(raw))
	for i, e := range raw {
		out[i] = e.(map[string]any)
	}
	return out
}

func link(bundle map[string]any, rel string) string {
	links, _ := bundle["link"].([]any)
	for _, l := range links {
		m := l.(map[string]any)
		if m["relation"] == rel {
			return m["url"].(string)
		}
	}
	return ""
}

// https://hl7.org/fhir/R4/http.html#history: instance, type and system
// history as Bundles of type history, newest first, with _count, next links
// and _since.
func TestHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/h", `{"resourceType":"Patient","id":"h","gender":"male"}`), 201)
		a.want(a.do("PUT", "/Patient/h", `{"resourceType":"Patient","id":"h","gender":"female"}`), 200)
		a.want(a.do("POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`), 201)
		mid := time.Now().UTC()
		time.Sleep(5 * time.Millisecond)
		a.want(a.do("DELETE", "/Patient/h", ""), 200)

		inst := a.want(a.do("GET", "/Patient/h/_history", ""), 200).json(t)
		if inst["type"] != "history" {
			t.Fatalf("bundle type %v", inst["type"])
		}
		es := entries(t, inst)
		if len(es) != 3 {
			t.Fatalf("instance history has %d entries", len(es))
		}
		wantMethods := []string{"DELETE", "PUT", "PUT"}
		for i, e := range es {
			req := e["request"].(map[string]any)
			if req["method"] != wantMethods[i] || e["response"] == nil {
				t.Fatalf("entry %d: %v", i, e)
			}
		}
		if es[0]["resource"] != nil || es[1]["resource"].(map[string]any)["gender"] != "female" {
			t.Fatalf("newest first with delete first: %v", es)
		}
		if n := len(entries(t, a.want(a.do("GET", "/Patient/_history", ""), 200).json(t))); n != 3 {
			t.Fatalf("type history %d entries", n)
		}
		if n := len(entries(t, a.want(a.do("GET", "/_history", ""), 200).json(t))); n != 4 {
			t.Fatalf("system history %d entries", n)
		}
		since := a.want(a.do("GET", "/_history?_since="+url.QueryEscape(mid.Format(time.RFC3339Nano)), ""), 200).json(t)
		if n := len(entries(t, since)); n != 1 {
			t.Fatalf("_since gave %d entries, want 1", n)
		}
		a.want(a.do("GET", "/Patient/never/_history", ""), 404)
		is := a.want(a.do("GET", "/_history?_since=yesterday", ""), 400).issue(t)
		if is["expression"].([]any)[0] != "_since" {
			t.Fatalf("issue %v", is)
		}
		a.want(a.do("GET", "/_history?_count=0", ""), 400)
		a.want(a.do("GET", "/_history?_count=x", ""), 400)
		a.want(a.do("GET", "/_history?_cursor=zzz", ""), 400)
	})
}

// Paging by next links visits every version once, even while new versions
// are written between pages.
func TestHistoryPaging(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		for i := 0; i < 7; i++ {
			a.want(a.do("PUT", fmt.Sprintf("/Patient/pg%d", i), fmt.Sprintf(`{"resourceType":"Patient","id":"pg%d"}`, i)), 201)
		}
		next := a.base + "/_history?_count=3"
		var seen []string
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			b := a.want(a.do("GET", next, ""), 200).json(t)
			for _, e := range entries(t, b) {
				seen = append(seen, e["fullUrl"].(string))
			}
			next = link(b, "next")
			if pages == 0 {
				if !strings.Contains(next, "_count=3") {
					t.Fatalf("next link lost _count: %s", next)
				}
				a.want(a.do("PUT", "/Patient/late", `{"resourceType":"Patient","id":"late"}`), 201)
			}
		}
		if len(seen) != 7 {
			t.Fatalf("paged through %d entries, want 7: %v", len(seen), seen)
		}
		for i := 0; i < 7; i++ {
			if !strings.HasSuffix(seen[i], fmt.Sprintf("/Patient/pg%d", 6-i)) {
				t.Fatalf("entry %d is %s", i, seen[i])
			}
		}
	})
}
