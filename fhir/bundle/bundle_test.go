package bundle

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// https://hl7.org/fhir/R4/bundle.html: a history Bundle's entries carry request and response (bdl-3, bdl-4).
func TestJSONCopiesResourcesVerbatim(t *testing.T) {
	res := []byte(`{"resourceType":"Patient","id":"a","meta":{"versionId":"2"},"birthDate":"1990"}`)
	b := Bundle{Type: "history", Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Links: []Link{{Relation: "self", URL: "http://x/fhir/_history"}},
		Entries: []Entry{
			{FullURL: "http://x/fhir/Patient/a", Resource: res, Request: &Request{Method: "PUT", URL: "Patient/a"}, Response: &Response{Status: "200 OK", Etag: `W/"2"`}},
			{FullURL: "http://x/fhir/Patient/b", Request: &Request{Method: "DELETE", URL: "Patient/b"}, Response: &Response{Status: "204 No Content"}},
		}}
	out := b.JSON()
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	want := map[string]any{
		"resourceType": "Bundle", "type": "history", "timestamp": "2026-01-01T00:00:00.000000Z",
		"link": []any{map[string]any{"relation": "self", "url": "http://x/fhir/_history"}},
		"entry": []any{
			map[string]any{"fullUrl": "http://x/fhir/Patient/a",
				"resource": map[string]any{"resourceType": "Patient", "id": "a", "meta": map[string]any{"versionId": "2"}, "birthDate": "1990"},
				"request":  map[string]any{"method": "PUT", "url": "Patient/a"},
				"response": map[string]any{"status": "200 OK", "etag": `W/"2"`}},
			map[string]any{"fullUrl": "http://x/fhir/Patient/b",
				"request":  map[string]any{"method": "DELETE", "url": "Patient/b"},
				"response": map[string]any{"status": "204 No Content"}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// https://hl7.org/fhir/R4/patient-operation-match.html: a $match entry
// carries search.mode match, search.score and the match-grade extension.
func TestMatchEntry(t *testing.T) {
	score := 0.9876
	b := Bundle{Type: "searchset", Entries: []Entry{{FullURL: "http://x/fhir/Patient/a", Resource: []byte(`{"resourceType":"Patient","id":"a"}`),
		Mode: "match", Score: &score, MatchGrade: "probable"}, {Resource: []byte(`{"resourceType":"OperationOutcome"}`), Mode: "outcome"}}}
	var got map[string]any
	if err := json.Unmarshal(b.JSON(), &got); err != nil {
		t.Fatal(err)
	}
	search := got["entry"].([]any)[0].(map[string]any)["search"]
	want := map[string]any{"mode": "match", "score": 0.9876,
		"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/match-grade", "valueCode": "probable"}}}
	if d := cmp.Diff(want, search); d != "" {
		t.Errorf("search (-want +got):\n%s", d)
	}
	if s := got["entry"].([]any)[1].(map[string]any)["search"]; cmp.Diff(map[string]any{"mode": "outcome"}, s) != "" {
		t.Errorf("outcome entry search: %v", s)
	}
}
