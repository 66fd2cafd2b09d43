package fhirjson

import (
	"errors"
	"strings"
	"testing"
)

func TestScanMembers(t *testing.T) {
	in := bomStr + `{
  "resourceType" : "Patient",
  "id": "p1",
  "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">a b  c</div>" },
  "name": [
    {
      "given": [ "Ren\u00e9e", null ],
      "_given": [ null, { "id": "g2" } ]
    }
  ],
  "multipleBirthInteger": -0,
  "weight": 1.50e+2,
  "\u0061ctive"	:	true
}
`
	members, err := Scan([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{"resourceType", []byte(`"Patient"`)},
		{"id", []byte(`"p1"`)},
		{"text", []byte(`{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a b  c</div>"}`)},
		{"name", []byte(`[{"given":["Ren\u00e9e",null],"_given":[null,{"id":"g2"}]}]`)},
		{"multipleBirthInteger", []byte(`-0`)},
		{"weight", []byte(`1.50e+2`)},
		{"active", []byte(`true`)}, // the name is decoded
	}
	if len(members) != len(want) {
		t.Fatalf("got %d members, want %d: %q", len(members), len(want), members)
	}
	for i, w := range want {
		if members[i].Name != w.Name || string(members[i].Value) != string(w.Value) {
			t.Errorf("member %d = %q: %s, want %q: %s", i, members[i].Name, members[i].Value, w.Name, w.Value)
		}
	}

	// Values share one buffer; appending to one must not overwrite the next.
	_ = append(members[0].Value, "XXXX"...)
	if string(members[1].Value) != `"p1"` {
		t.Errorf("appending to a Value clobbered the next one: %s", members[1].Value)
	}
	// Values must not alias the input, which the caller may reuse.
	data := []byte(`{"resourceType":"Patient","id":"abc"}`)
	members, err = Scan(data)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, strings.Repeat("x", len(data)))
	if string(members[1].Value) != `"abc"` || members[0].Name != "resourceType" {
		t.Errorf("members changed with the input: %q", members)
	}
}

func TestErrorString(t *testing.T) {
	_, err := Scan([]byte("{\"resourceType\":\"Patient\",\n\"id\":\"\",\"gender\":null}"))
	want := `fhirjson: Patient.id: empty string is not allowed in FHIR JSON (omit the element instead) (line 2, column 6); ` +
		`Patient.gender: null is not allowed as the value of member "gender"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err, want)
	}

	_, err = Scan([]byte("{\n"))
	want = `fhirjson: invalid JSON: unexpected end of input, expected a member name (a string) (line 2, column 1)`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}

	_, err = Scan([]byte(`{"resourceType":"Patient","a":[` + strings.Repeat(`"",`, 20) + `1]}`))
	if err == nil || !strings.HasSuffix(err.Error(), "; and 10 more") {
		t.Errorf("Error() = %q, want it cut after 10 issues", err)
	}
	var e *Error
	if !errors.As(err, &e) || len(e.Issues) != 20 {
		t.Errorf("want all 20 issues in Issues, got %v", err)
	}
}
