package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/store"
)

// The record cache keeps the most recent n Patients, answers only for the
// version it holds, and never goes back to an older version.
func TestRecordCache(t *testing.T) {
	c := newRecordCache(2)
	c.put("a", 1, match.Record{ID: "a"})
	c.put("b", 1, match.Record{ID: "b"})
	if _, ok := c.get("a", 2); ok {
		t.Fatal("a newer version was answered from the cache")
	}
	if _, ok := c.get("a", 1); !ok {
		t.Fatal("a not cached")
	}
	c.put("c", 1, match.Record{ID: "c"}) // b is the least recently used
	if _, ok := c.get("b", 1); ok {
		t.Fatal("b not evicted")
	}
	c.put("a", 3, match.Record{ID: "a", BirthDate: "3"})
	c.put("a", 2, match.Record{ID: "a", BirthDate: "2"})
	if r, ok := c.get("a", 3); !ok || r.BirthDate != "3" {
		t.Fatalf("a went back to an older version: %+v %v", r, ok)
	}
	var off *recordCache
	off.put("x", 1, match.Record{})
	if _, ok := newRecordCache(-1).get("x", 1); ok {
		t.Fatal("a disabled cache answered")
	}
}

// linkedPath finds a shortest path of linked pairs, never through review
// or distinct pairs.
func TestLinkedPath(t *testing.T) {
	ps := []store.Pair{
		{A: "a", B: "b", State: store.PairLinked}, {A: "b", B: "c", State: store.PairLinked},
		{A: "c", B: "d", State: store.PairReview}, {A: "a", B: "c", State: store.PairLinked}, {A: "d", B: "e", State: store.PairLinked},
	}
	path := linkedPath(ps, "a", "c")
	if len(path) != 1 || path[0].A != "a" || path[0].B != "c" {
		t.Fatalf("a–c: %+v", path)
	}
	if linkedPath(ps, "a", "d") != nil || linkedPath(ps, "a", "e") != nil {
		t.Fatal("a path through a review pair")
	}
	if p := linkedPath(ps, "b", "b"); len(p) != 0 {
		t.Fatalf("b–b: %+v", p)
	}
}

// keepLinks: a written Patient keeps the server's links of the version it
// replaces and its own, and cannot bring server links of its own.
func TestKeepLinks(t *testing.T) {
	ext := `"extension":[{"url":"` + linkExtension + `","valueCode":"level3"}]`
	prior := []byte(`{"resourceType":"Patient","id":"a","link":[{` + ext + `,"other":{"reference":"Patient/b"},"type":"seealso"}]}`)
	body := `{"resourceType":"Patient","id":"a","link":[{"other":{"reference":"Patient/z"},"type":"refer"},` +
		`{` + ext + `,"other":{"reference":"Patient/forged"},"type":"seealso"}]}`
	res, err := resource.Stored([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	keepLinks(res, prior)
	got := string(res.Member("link"))
	if !strings.Contains(got, "Patient/z") || !strings.Contains(got, "Patient/b") || strings.Contains(got, "forged") {
		t.Fatalf("links after a write: %s", got)
	}
	res, _ = resource.Stored([]byte(body))
	keepLinks(res, nil)
	if got := string(res.Member("link")); strings.Contains(got, "forged") || !strings.Contains(got, "Patient/z") {
		t.Fatalf("a new Patient's links: %s", got)
	}
	res, _ = resource.Stored([]byte(`{"resourceType":"Patient","id":"a","link":[{` + ext + `,"other":{"reference":"Patient/forged"},"type":"seealso"}]}`))
	keepLinks(res, nil)
	if res.Member("link") != nil {
		t.Fatalf("only a forged link: %s", res.Member("link"))
	}
}

// FuzzMatchInput: $match's input is outside input. Whatever the body and
// query, reading it returns a probe or a 400 naming a parameter, never
// panics, and a probe is always a JSON Patient with a count in range.
func FuzzMatchInput(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"Sok"}]}},{"name":"count","valueInteger":3}]}`), "")
	f.Add([]byte(`{"resourceType":"Patient","birthDate":"1990"}`), "count=5&onlyCertainMatches=true")
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"resource"}]}`), "")
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":-1}]}`), "count=x")
	f.Add([]byte(`[]`), "")
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		in, err := matchInput(Request{Body: body, Query: q})
		if err != nil {
			e, ok := outcome.As(err)
			if !ok || e.Status != http.StatusBadRequest || len(e.Issues) == 0 || len(e.Issues[0].Expression) != 1 {
				t.Fatalf("not a 400 naming a parameter: %v", err)
			}
			return
		}
		var p struct{ ResourceType string }
		if json.Unmarshal(in.probe, &p) != nil || p.ResourceType != "Patient" || in.count < 1 || in.count > MaxMatchCount {
			t.Fatalf("accepted %q (count %d)", in.probe, in.count)
		}
		if _, err := match.ParsePatient("", in.probe); err != nil {
			t.Fatalf("accepted a probe the matcher cannot read: %v", err)
		}
	})
}

// FuzzDecisionInput: the steward operations' Parameters are outside input.
func FuzzDecisionInput(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/a"}},{"name":"other","valueReference":{"reference":"Patient/b"}},{"name":"reason","valueString":"r"}]}`))
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"patient","valueString":"x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ps, err := operationInput(body, "identity-link", "patient", "other", "reason")
		if err != nil {
			e, ok := outcome.As(err)
			if !ok || e.Status != http.StatusBadRequest || len(e.Issues[0].Expression) != 1 {
				t.Fatalf("not a 400 naming a parameter: %v", err)
			}
			return
		}
		for name := range ps {
			if !slices.Contains([]string{"patient", "other", "reason"}, name) {
				t.Fatalf("accepted parameter %q", name)
			}
		}
	})
}
