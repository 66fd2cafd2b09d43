package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// Every write is validated for R4 (https://hl7.org/fhir/R4/validation.html);
// a rejected write stores nothing and its OperationOutcome names the element.
func TestInvalidWritesAreRejected(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	tests := []struct {
		name, body string
		status     int
		expression string
		diag       string
	}{
		{"malformed JSON", `{"resourceType":"Patient",`, 400, "", "line 1"},
		{"not an object", `[1]`, 400, "", "object"},
		{"no resourceType", `{"id":"x"}`, 400, "", "resourceType"},
		{"unknown resource type", `{"resourceType":"Bogus"}`, 400, "", "Bogus"},
		{"unknown element", `{"resourceType":"Patient","nickname":"x"}`, 400, "Patient.nickname", `unknown element "nickname", found "x"`},
		{"nested unknown element", `{"resourceType":"Patient","name":[{"fooBar":1}]}`, 400, "Patient.name[0].fooBar", `unknown element "fooBar", found 1`},
		{"impossible date", `{"resourceType":"Patient","birthDate":"1990-13-01"}`, 400, "Patient.birthDate", `the date "1990-13-01" does not exist`},
		{"impossible day", `{"resourceType":"Patient","birthDate":"1990-02-30"}`, 400, "Patient.birthDate", `the date "1990-02-30" does not exist`},
		{"bad date", `{"resourceType":"Patient","birthDate":"01/04/1990"}`, 400, "Patient.birthDate", "YYYY-MM-DD"},
		{"bad dateTime", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2020-01-01T25:00:00Z"}`, 400, "Observation.effective", "dateTime"},
		{"decimal as string", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1.0"}}`, 400, "Observation.valueQuantity.value", "decimal"},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`, 400, "Patient.active", "boolean"},
		{"bad code", `{"resourceType":"Patient","gender":"man"}`, 400, "Patient.gender", "code"},
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, 400, "Patient.id", "FHIR id"},
		{"empty array", `{"resourceType":"Patient","name":[]}`, 400, "Patient.name", "empty array"},
		{"empty string", `{"resourceType":"Patient","gender":""}`, 400, "Patient.gender", "empty"},
		{"null member", `{"resourceType":"Patient","gender":null}`, 400, "Patient.gender", "null"},
		{"duplicate key", `{"resourceType":"Patient","gender":"male","gender":"female"}`, 400, "Patient.gender", "duplicate"},
		{"two choice types", `{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020"}`, 400, "Patient", "deceased"},
		{"missing required", `{"resourceType":"Observation","status":"final"}`, 422, "Observation", "code"},
		{"wrong reference target", `{"resourceType":"Immunization","status":"completed","vaccineCode":{"text":"x"},"patient":{"reference":"Observation/1"},"occurrenceString":"x"}`, 422, "Immunization.patient", "want Patient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := "Patient"
			if strings.Contains(tc.body, `"Observation"`) {
				typ = "Observation"
			} else if strings.Contains(tc.body, `"Immunization"`) {
				typ = "Immunization"
			}
			r := a.want(a.do("POST", "/"+typ, tc.body), tc.status)
			is := r.issue(t)
			if tc.expression != "" {
				expr, _ := is["expression"].([]any)
				if len(expr) == 0 || !strings.HasPrefix(expr[0].(string), tc.expression) {
					t.Errorf("expression %v, want %q", is["expression"], tc.expression)
				}
			}
			if d, _ := is["diagnostics"].(string); !strings.Contains(d, tc.diag) {
				t.Errorf("diagnostics %q should mention %q", d, tc.diag)
			}
		})
	}
	h := a.want(a.do("GET", "/_history", ""), 200).json(t)
	if h["entry"] != nil {
		t.Fatalf("rejected writes were stored: %v", h["entry"])
	}
}

// https://hl7.org/fhir/R4/resource-operation-validate.html
func TestValidateOperation(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	ok := a.want(a.do("POST", "/Patient/$validate", passport), 200).issue(t)
	if ok["severity"] != "information" {
		t.Fatalf("valid resource: %v", ok)
	}
	bad := a.want(a.do("POST", "/Observation/$validate", `{"resourceType":"Observation","status":"final"}`), 200).issue(t)
	if bad["severity"] != "error" || bad["code"] != "required" {
		t.Fatalf("invalid resource: %v", bad)
	}
	params := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","birthDate":"x"}},{"name":"mode","valueCode":"create"}]}`
	if is := a.want(a.do("POST", "/Patient/$validate", params), 200).issue(t); is["expression"].([]any)[0] != "Patient.birthDate" {
		t.Fatalf("Parameters form: %v", is)
	}
	a.want(a.do("POST", "/Patient/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"bogus"}]}`), 400)
	// A profile Mekong cannot check is refused, not silently skipped.
	a.want(a.do("POST", "/Patient/$validate", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"profile","valueCanonical":"http://example.org/StructureDefinition/x"}]}`), 400)
	if h := a.want(a.do("GET", "/_history", ""), 200).json(t); h["entry"] != nil {
		t.Fatal("$validate stored something")
	}
}

// TestSeveralProblemsSeveralIssues: issue 14 item 2. One write with three
// problems gets three issues, each with its element's FHIRPath, on every
// write path (create, update, $validate, a transaction entry).
func TestSeveralProblemsSeveralIssues(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	body := `{"resourceType":"Patient","id":"p1","foo":1,"birthDate":"1990-13-01","gender":"bogus"}`
	want := [][2]string{
		{"Patient.birthDate", `the date "1990-13-01" does not exist`},
		{"Patient.foo", `unknown element "foo", found 1`},
		{"Patient.gender", `code "bogus"`},
	}
	check := func(what string, r resp) {
		t.Helper()
		var oo struct {
			Issue []struct {
				Diagnostics string
				Expression  []string
			}
		}
		if err := json.Unmarshal(r.body, &oo); err != nil || len(oo.Issue) != len(want) {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		for i, w := range want {
			is := oo.Issue[i]
			if len(is.Expression) != 1 || is.Expression[0] != w[0] || !strings.Contains(is.Diagnostics, w[1]) || strings.Contains(is.Diagnostics, "\n") {
				t.Errorf("%s: issue %d %v %q, want %s %q", what, i, is.Expression, is.Diagnostics, w[0], w[1])
			}
		}
	}
	check("create", a.want(a.do("POST", "/Patient", body), 400))
	check("update", a.want(a.do("PUT", "/Patient/p1", body), 400))
	check("$validate", a.want(a.do("POST", "/Patient/$validate", body), 200))
	// In a transaction, each issue names its entry and its element.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + body + `,"request":{"method":"PUT","url":"Patient/p1"}}]}`
	var oo struct {
		Issue []struct{ Expression []string }
	}
	if r := a.want(a.do("POST", "", tx), 400); json.Unmarshal(r.body, &oo) != nil || len(oo.Issue) != len(want) {
		t.Fatalf("transaction: %s", r.body)
	}
	for i, w := range want {
		// One full FHIRPath from the Bundle, as FHIR validators write it.
		full := "Bundle.entry[0].resource.ofType(Patient)" + strings.TrimPrefix(w[0], "Patient")
		if got := oo.Issue[i].Expression; len(got) != 1 || got[0] != full {
			t.Errorf("transaction issue %d: %v, want [%s]", i, got, full)
		}
	}
	// A patch that makes the resource invalid is 422 (https://hl7.org/fhir/R4/http.html#patch)
	// and names the patched element.
	a.want(a.do("PUT", "/Patient/p1", `{"resourceType":"Patient","id":"p1","name":[{"family":"Sok"}]}`), 201)
	r := a.do("PATCH", "/Patient/p1", `[{"op":"add","path":"/name/0/fooBar","value":"x"}]`, "Content-Type", "application/json-patch+json")
	if is := a.want(r, 422).issue(t); fmt.Sprint(is["expression"]) != "[Patient.name[0].fooBar]" || !strings.Contains(is["diagnostics"].(string), `unknown element "fooBar", found "x"`) {
		t.Errorf("patch: %v", is)
	}
}

// TestImpossibleDatesInParameters: _since of history, $everything and
// $export names a date that does not exist as such, like search does.
func TestImpossibleDatesInParameters(t *testing.T) {
	a := newAPI(t, storetest.OpenSQLite(t), server.Config{})
	a.want(a.do("PUT", "/Patient/p", `{"resourceType":"Patient","id":"p"}`), 201)
	for _, p := range []string{"/_history?_since=2026-02-30T00:00:00Z", "/Patient/p/$everything?_since=2026-02-30", "/Patient/_history?_since=2026-13-01"} {
		is := a.want(a.do("GET", p, ""), 400).issue(t)
		if d := is["diagnostics"].(string); !strings.Contains(d, "does not exist") && !strings.Contains(d, "out of range") {
			t.Errorf("%s: %s", p, d)
		}
	}
}
