package resource

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

var p = func() *Parser {
	p, err := NewParser()
	if err != nil {
		panic(err)
	}
	return p
}()

// https://hl7.org/fhir/R4/resource.html#Meta: versionId and lastUpdated are
// the server's; the client's other meta (tags, security, profile) is kept,
// as are its member order and decimal digits.
func TestEncodeSplicesServerMeta(t *testing.T) {
	in := `{
	  "resourceType": "Observation", "id": "client",
	  "meta": {"versionId": "9", "lastUpdated": "2000-01-01T00:00:00Z", "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HIV"}]},
	  "status": "final", "code": {"text": "viral load"},
	  "valueQuantity": {"value": 1.50, "unit": "copies/mL"}
	}`
	r, err := p.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "Observation" || r.ID != "client" {
		t.Fatalf("type %q id %q", r.Type, r.ID)
	}
	at := time.Date(2026, 11, 24, 8, 0, 0, 123456000, time.FixedZone("ICT", 7*3600))
	got := string(r.Encode("srv-1", 3, at))
	want := `{"resourceType":"Observation","id":"srv-1","meta":{"versionId":"3","lastUpdated":"2026-11-24T01:00:00.123456Z",` +
		`"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]},` +
		`"status":"final","code":{"text":"viral load"},"valueQuantity":{"value":1.50,"unit":"copies/mL"}}`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("invalid JSON")
	}
	if r.MetaMember("security") == nil || r.Member("status") == nil || r.Member("meta") != nil {
		t.Fatal("member accessors")
	}
}

func TestEncodeWithoutMeta(t *testing.T) {
	r, err := p.Parse([]byte(`{"resourceType":"Patient","gender":"female"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(r.Encode("a\"b", 1, time.Unix(0, 0)))
	want := `{"resourceType":"Patient","id":"a\"b","meta":{"versionId":"1","lastUpdated":"1970-01-01T00:00:00.000000Z"},"gender":"female"}`
	if got != want {
		t.Fatalf("got %s", got)
	}
}

// 400 for what cannot be read as R4, 422 for a readable resource breaking a rule.
func TestParseErrorStatus(t *testing.T) {
	tests := []struct {
		body   string
		status int
		code   outcome.IssueType
		expr   string
	}{
		{`{"resourceType":"Patient","birthDate":"1990-02-30"}`, http.StatusBadRequest, outcome.CodeValue, "Patient.birthDate"},
		{`{"resourceType":"Patient","foo":1}`, http.StatusBadRequest, outcome.CodeStructure, "Patient.foo"},
		{`{"resourceType":"Patient","id":"a b"}`, http.StatusBadRequest, outcome.CodeValue, "Patient.id"},
		{`{"resourceType":"Observation","status":"final"}`, http.StatusUnprocessableEntity, outcome.CodeRequired, "Observation"},
		{`{"resourceType":"Patient","generalPractitioner":[{"reference":"Observation/x"}]}`, http.StatusUnprocessableEntity, outcome.CodeValue, "Patient.generalPractitioner[0]"},
		{"{\"resourceType\":\"Patient\",\n\"name\":[{}]}", http.StatusBadRequest, outcome.CodeStructure, "Patient.name[0]"},
	}
	for _, tc := range tests {
		_, err := p.Parse([]byte(tc.body))
		e, ok := outcome.As(err)
		if !ok {
			t.Errorf("%s: error %v", tc.body, err)
			continue
		}
		is := e.Issues[0]
		if e.Status != tc.status || is.Code != tc.code || len(is.Expression) == 0 || is.Expression[0] != tc.expr {
			t.Errorf("%s: got %d %s %v (%s), want %d %s %s", tc.body, e.Status, is.Code, is.Expression, is.Diagnostics, tc.status, tc.code, tc.expr)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"a": true, "A-1.b": true, "": false, "a_b": false, "a/b": false,
		"0123456789012345678901234567890123456789012345678901234567890123":  true,
		"01234567890123456789012345678901234567890123456789012345678901234": false} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) != %v", id, want)
		}
	}
}

// TestParseErrorsNameEachProblem: every problem is its own issue with the
// full FHIRPath of the element (https://hl7.org/fhir/R4/operationoutcome-definitions.html#OperationOutcome.issue.expression)
// and a message naming the element and the value (issue 14 items 2 and 3).
func TestParseErrorsNameEachProblem(t *testing.T) {
	type want struct{ expr, says string }
	tests := []struct {
		body string
		want []want
	}{
		{`{"resourceType":"Patient","foo":1}`, []want{{"Patient.foo", `unknown element "foo", found 1`}}},
		{`{"resourceType":"Patient","name":[{"fooBar":"x"}]}`, []want{{"Patient.name[0].fooBar", `unknown element "fooBar", found "x"`}}},
		{`{"resourceType":"Patient","name":[{"family":"Sok"},{"fooBar":"x"}]}`, []want{{"Patient.name[1].fooBar", `unknown element "fooBar", found "x": FHIR R4 defines no element fooBar in Patient.name[1]`}}},
		{`{"resourceType":"Patient","foo":1,"birthDate":"1990-13-01","gender":"bogus"}`, []want{
			{"Patient.birthDate", `the date "1990-13-01" does not exist (there is no month 13)`},
			{"Patient.foo", `unknown element "foo"`},
			{"Patient.gender", `code "bogus" is not one of the codes`},
		}},
		{`{"resourceType":"Patient","birthDate":"1990-02-30"}`, []want{{"Patient.birthDate", `the date "1990-02-30" does not exist (1990-02 has 28 days)`}}},
		{`{"resourceType":"Patient","birthDate":"2000-02-29","deceasedDateTime":"2001-02-29T10:00:00+07:00"}`, []want{{"Patient.deceasedDateTime", `the dateTime "2001-02-29T10:00:00+07:00" does not exist (2001-02 has 28 days)`}}},
		{`{"resourceType":"Observation","status":"final","code":{"text":"x"},"issued":"2026-04-31T10:00:00Z"}`, []want{{"Observation.issued", `the instant "2026-04-31T10:00:00Z" does not exist (2026-04 has 30 days)`}}},
		{`{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2026-03-01T24:30:00Z"}`, []want{{"Observation.effectiveDateTime", `there is no hour 24`}}},
		{`{"resourceType":"Patient","birthDate":"1990/04/01"}`, []want{{"Patient.birthDate", `expected date, found "1990/04/01": a FHIR date is YYYY`}}},
		{`{"resourceType":"Patient","active":"yes","name":[{"given":[1]}]}`, []want{
			{"Patient.active", `expected boolean, found "yes"`},
			{"Patient.name[0].given[0]", `expected string, found 1`},
		}},
		{`{"resourceType":"Patient","contained":[{"resourceType":"Patient","foo":true}]}`, []want{{"Patient.contained[0].foo", `unknown element "foo", found true`}}},
		{`{"resourceType":"Patient","multipleBirthInteger":1e400}`, []want{{"Patient.multipleBirthInteger", `number 1e400 is out of range`}}},
	}
	for _, tc := range tests {
		_, err := p.Parse([]byte(tc.body))
		e, ok := outcome.As(err)
		if !ok || e.Status != http.StatusBadRequest {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if len(e.Issues) != len(tc.want) {
			t.Errorf("%s: %d issues, want %d: %v", tc.body, len(e.Issues), len(tc.want), e)
			continue
		}
		for i, w := range tc.want {
			is := e.Issues[i]
			if len(is.Expression) != 1 || is.Expression[0] != w.expr || !strings.Contains(is.Diagnostics, w.says) {
				t.Errorf("%s: issue %d is %v %q, want %s saying %q", tc.body, i, is.Expression, is.Diagnostics, w.expr, w.says)
			}
		}
	}
}
