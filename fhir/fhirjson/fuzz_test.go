package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzScan checks Scan against encoding/json: it never panics, rejects all
// that json.Valid rejects, reports a syntax error exactly when the input is
// not valid JSON in valid UTF-8, and returns members that rebuild an
// equivalent, compacted document.
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`,
		"\xEF\xBB\xBF{\n  \"resourceType\": \"Observation\",\n  \"valueQuantity\": { \"value\": 1.50e3 }\n}",
		`{"resourceType":"Patient","id":"\u00e9\"\\","active":true,"a":[-0.0,1e-3,[[]]]}`,
		`{"resourceType":"Patient","gender":"male","gender":null,"meta":{},"x":""}`,
		`{"resourceType":"Patient","\u0061":1,"a":2}`,
		`[{"resourceType":1}]`,
		`{"resourceType":"Patient","a":01}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		members, err := Scan(data)

		body := bytes.TrimPrefix(data, []byte(bomStr)) // json.Valid does not skip a BOM
		valid := json.Valid(body)
		// json.Valid accepts invalid UTF-8 in strings; FHIR JSON does not.
		wellFormed := valid && utf8.Valid(body)
		if err == nil && !valid {
			t.Fatalf("Scan accepted input that json.Valid rejects")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Issues) == 0 || len(e.Issues) > maxIssues {
				t.Fatalf("error %v (%T) is not an *Error with 1 to %d issues", err, err, maxIssues)
			}
			if members != nil {
				t.Fatalf("members returned along with an error")
			}
			syntax := e.Issues[0].Syntax
			if syntax != !wellFormed {
				t.Fatalf("syntax error = %v, but json.Valid && utf8.Valid = %v: %v", syntax, wellFormed, err)
			}
			if syntax && len(e.Issues) != 1 {
				t.Fatalf("a syntax error must be reported alone: %v", err)
			}
			for _, is := range e.Issues {
				if is.Line < 1 || is.Column < 1 || is.Message == "" {
					t.Fatalf("bad issue %+v", is)
				}
			}
			_ = err.Error()
			return
		}
		if len(members) == 0 || members[0].Name == "" {
			t.Fatalf("no members for a valid resource")
		}
		rebuilt := reassemble(members)
		if !json.Valid(rebuilt) {
			t.Fatalf("reassembled members are not valid JSON: %s", rebuilt)
		}
		var compact bytes.Buffer
		for _, m := range members {
			compact.Reset()
			if json.Compact(&compact, m.Value) != nil || !bytes.Equal(compact.Bytes(), m.Value) {
				t.Fatalf("member %q value %s is not compact", m.Name, m.Value)
			}
		}
		if a, b := decode(t, body), decode(t, rebuilt); !reflect.DeepEqual(a, b) {
			t.Fatalf("reassembled members differ from the input:\n got %#v\nwant %#v", b, a)
		}
	})
}

func decode(t *testing.T, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}
