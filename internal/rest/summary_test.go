package rest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// FuzzSummaryParams: whatever a client sends as $summary's query or
// Parameters body is either accepted or a 400 OperationOutcome naming
// where it went wrong, never a panic or another status
// (http://hl7.org/fhir/uv/ips/STU2/OperationDefinition-summary.html).
func FuzzSummaryParams(f *testing.F) {
	f.Add("identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", "", "")
	f.Add("profile=http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips|2.0.0", "", "p1")
	f.Add("identifer=a|b&identifier=a|b", "", "")
	f.Add("_since=x", "", "p1")
	f.Add("", `{"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":{"system":"s","value":"v"}}]}`, "")
	f.Add("", `{"resourceType":"Parameters","parameter":[{"name":"profile","valueUri":"x"},{"name":"profile","valueCanonical":"y"}]}`, "p1")
	f.Add("", `{"resourceType":"Patient"}`, "p1")
	f.Add("", `[`, "")
	f.Fuzz(func(t *testing.T, query, body, id string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p, err := summaryParamsOf(Request{Type: "Patient", ID: id, Query: q, Body: []byte(body)})
		if err != nil {
			e, ok := outcome.As(err)
			if !ok || e.Status != http.StatusBadRequest || len(e.Issues) == 0 || len(e.Issues[0].Expression) == 0 {
				t.Fatalf("error %v is not a 400 naming its parameter", err)
			}
			return
		}
		if id != "" && p.identifier != "" {
			t.Fatal("identifier accepted at instance level")
		}
	})
}
