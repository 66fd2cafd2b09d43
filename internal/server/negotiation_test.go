package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// https://hl7.org/fhir/R4/http.html#mime-type: JSON only; 406 for other
// requested formats, 415 for other bodies.
func TestContentNegotiation(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	a.want(a.do("PUT", "/Patient/n", `{"resourceType":"Patient","id":"n"}`), 201)
	tests := []struct {
		name, path string
		headers    []string
		status     int
		ctype      string
	}{
		{"no Accept", "/Patient/n", nil, 200, "application/fhir+json"},
		{"fhir+json", "/Patient/n", []string{"Accept", "application/fhir+json"}, 200, "application/fhir+json"},
		{"json", "/Patient/n", []string{"Accept", "application/json"}, 200, "application/json"},
		{"browser", "/Patient/n", []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, 200, "application/fhir+json"},
		{"fhirVersion 4.0", "/Patient/n", []string{"Accept", "application/fhir+json; fhirVersion=4.0"}, 200, "application/fhir+json"},
		{"xml", "/Patient/n", []string{"Accept", "application/fhir+xml"}, 406, ""},
		{"fhirVersion 3.0", "/Patient/n", []string{"Accept", "application/fhir+json; fhirVersion=3.0"}, 406, ""},
		{"_format=json", "/Patient/n?_format=json", []string{"Accept", "application/fhir+xml"}, 200, "application/fhir+json"},
		{"_format=application/json", "/Patient/n?_format=application/json", nil, 200, "application/json"},
		{"_format=xml", "/Patient/n?_format=xml", nil, 406, ""},
		{"_pretty bogus", "/Patient/n?_pretty=yes", nil, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.want(a.do("GET", tc.path, "", tc.headers...), tc.status)
			if tc.ctype != "" && !strings.HasPrefix(r.header.Get("Content-Type"), tc.ctype) {
				t.Fatalf("Content-Type %q, want %q", r.header.Get("Content-Type"), tc.ctype)
			}
			if tc.status >= 400 {
				r.issue(t) // every error is an OperationOutcome
			}
		})
	}
	t.Run("_pretty=true indents", func(t *testing.T) {
		r := a.want(a.do("GET", "/Patient/n?_pretty=true", ""), 200)
		if !strings.Contains(string(r.body), "\n  \"id\": \"n\"") {
			t.Fatalf("not indented: %s", r.body)
		}
	})
	for _, ct := range []string{"application/xml", "text/plain", "application/fhir+json; charset=latin1", "application/x-www-form-urlencoded"} {
		t.Run("body "+ct, func(t *testing.T) {
			a.want(a.do("POST", "/Patient", `{"resourceType":"Patient"}`, "Content-Type", ct), 415).issue(t)
		})
	}
	t.Run("body without Content-Type", func(t *testing.T) {
		a.want(a.do("POST", "/Patient", `{"resourceType":"Patient"}`, "Content-Type", ""), 415)
	})
	t.Run("application/json body", func(t *testing.T) {
		a.want(a.do("POST", "/Patient", `{"resourceType":"Patient"}`, "Content-Type", "application/json; charset=UTF-8"), 201)
	})
}

// A body over the limit is 413 with an OperationOutcome, and nothing is stored.
func TestBodyLimit(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{MaxBody: 200})
	big := `{"resourceType":"Patient","id":"big","name":[{"text":"` + strings.Repeat("x", 300) + `"}]}`
	is := a.want(a.do("PUT", "/Patient/big", big), http.StatusRequestEntityTooLarge).issue(t)
	if is["code"] != "too-long" {
		t.Fatalf("issue %v", is)
	}
	// Without Content-Length (chunked), the limit still holds while reading.
	req, _ := http.NewRequest("PUT", a.base+"/Patient/big", strings.NewReader(big))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/fhir+json")
	res, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d", res.StatusCode)
	}
	a.want(a.do("GET", "/Patient/big", ""), 404)
}

func TestRoutingErrors(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	r := a.want(a.do("POST", "/Patient/x", `{}`), 405)
	if r.header.Get("Allow") == "" || r.issue(t)["code"] != "not-supported" {
		t.Fatalf("405: %v %s", r.header, r.body)
	}
	a.want(a.do("DELETE", "/metadata", ""), 405).issue(t)
	is := a.want(a.do("GET", "/Encounter/1", ""), 404).issue(t)
	if !strings.Contains(is["diagnostics"].(string), "Encounter") {
		t.Fatalf("issue %v", is)
	}
	a.want(a.do("POST", "/Encounter", `{"resourceType":"Encounter","status":"planned","class":{"code":"x"}}`), 404)
	a.want(a.do("GET", a.srv.URL+"/nowhere", ""), 404).issue(t)
	a.want(a.do("GET", "/Patient/bad$id", ""), 400).issue(t)
}
