package fhirjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks Parse and Encode against encoding/json: Parse never
// panics, accepts only valid JSON, refuses valid JSON only for a duplicate
// member or too deep nesting, and Encode writes compact JSON holding the
// same values, which parses back to the same bytes.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"id":"x"}]}]}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1.50e3},"text":{"div":"<div>&lt;</div>"}}`,
		`{"a":1,"a":2}`,
		`["\u2028\ud800",-0.0,true,false,null,{}]`,
		`{} []`,
		strings.Repeat("[", 70),
		"\"\xff\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			if json.Valid(data) && !strings.Contains(err.Error(), "appears twice") && !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("Parse refused valid JSON: %v", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON")
		}
		out := Encode(v)
		var compact bytes.Buffer
		if err := json.Compact(&compact, out); err != nil || !bytes.Equal(compact.Bytes(), out) {
			t.Fatalf("Encode wrote JSON that is not compact: %s", out)
		}
		if a, b := decode(t, data), decode(t, out); !reflect.DeepEqual(a, b) {
			t.Fatalf("Encode changed the values:\n got %#v\nwant %#v", b, a)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse refused what Encode wrote: %v", err)
		}
		if out2 := Encode(again); !bytes.Equal(out, out2) {
			t.Fatalf("Encode is not stable: %s then %s", out, out2)
		}
	})
}
