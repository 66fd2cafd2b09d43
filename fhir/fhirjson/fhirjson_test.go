package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// want is an expected issue; msg lists substrings the message must contain.
type want struct {
	expr      string
	line, col int
	syntax    bool
	msg       []string
}

func checkIssues(t *testing.T, in string, err error, wants []want) {
	t.Helper()
	if len(wants) == 0 {
		if err != nil {
			t.Fatalf("Scan(%q) = %v, want no error", in, err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Scan(%q) error = %v (%T), want *Error", in, err, err)
	}
	if len(e.Issues) != len(wants) {
		t.Fatalf("Scan(%q) got %d issues, want %d:\n%s", in, len(e.Issues), len(wants), dump(e.Issues))
	}
	for i, w := range wants {
		got := e.Issues[i]
		if got.Expression != w.expr || got.Line != w.line || got.Column != w.col || got.Syntax != w.syntax {
			t.Errorf("Scan(%q) issue %d = {%q %d:%d syntax=%v}, want {%q %d:%d syntax=%v}\n%s",
				in, i, got.Expression, got.Line, got.Column, got.Syntax, w.expr, w.line, w.col, w.syntax, dump(e.Issues))
		}
		for _, m := range w.msg {
			if !strings.Contains(got.Message, m) {
				t.Errorf("Scan(%q) issue %d message %q does not contain %q", in, i, got.Message, m)
			}
		}
		if w.syntax {
			pos := fmt.Sprintf("(line %d, column %d)", w.line, w.col)
			if !strings.HasPrefix(got.Message, "invalid JSON: ") || !strings.HasSuffix(got.Message, pos) {
				t.Errorf("syntax message %q should start with \"invalid JSON: \" and end with %q", got.Message, pos)
			}
		}
	}
}

func dump(is []Issue) string {
	var b strings.Builder
	for _, i := range is {
		fmt.Fprintf(&b, "\t%q %d:%d syntax=%v %s\n", i.Expression, i.Line, i.Column, i.Syntax, i.Message)
	}
	return b.String()
}

const bomStr = "\xEF\xBB\xBF"

func TestScanIssues(t *testing.T) {
	deep := func(n int) string { // a member "a" holding n nested arrays
		return `{"resourceType":"Patient","a":` + strings.Repeat("[", n) + `"x"` + strings.Repeat("]", n) + `}`
	}
	manyEmpty := `{"resourceType":"Patient","a":[` + strings.Repeat(`"",`, 150) + `"x"]}`
	deepExpr := "Patient.a" + strings.Repeat("[0]", 63)

	tests := []struct {
		name  string
		in    string
		wants []want
	}{
		// Rule 1: well-formed JSON.
		{"empty input", ``, []want{{"", 1, 1, true, []string{"unexpected end of input", "expected a JSON value"}}}},
		{"only whitespace", "  \n ", []want{{"", 2, 2, true, []string{"unexpected end of input"}}}},
		{"only BOM", bomStr, []want{{"", 1, 1, true, []string{"unexpected end of input"}}}},
		{"truncated", "{\n  \"resourceType\": \"Patient\",\n", []want{{"Patient", 3, 1, true, []string{"unexpected end of input", "expected a member name"}}}},
		{"truncated in string", `{"resourceType":"Pat`, []want{{"resourceType", 1, 21, true, []string{"unexpected end of input", `'"' to end the string`}}}},
		{"missing comma", `{"resourceType":"Patient" "id":"x"}`, []want{{"Patient", 1, 27, true, []string{`unexpected '"'`, "expected ',' or '}'"}}}},
		{"missing colon", `{"resourceType" "Patient"}`, []want{{"resourceType", 1, 17, true, []string{"expected ':'"}}}},
		{"trailing comma in object", `{"resourceType":"Patient",}`, []want{{"Patient", 1, 27, true, []string{"trailing commas are not allowed"}}}},
		{"trailing comma in array", `{"resourceType":"Patient","name":[{"given":["a",]}]}`, []want{{"Patient.name[0].given[1]", 1, 49, true, []string{"trailing commas are not allowed"}}}},
		{"single quotes", `{'resourceType':'Patient'}`, []want{{"", 1, 2, true, []string{`unexpected '\''`, "expected a member name"}}}},
		{"unquoted name", `{"resourceType":"Patient",id:"x"}`, []want{{"Patient", 1, 27, true, []string{"unexpected 'i'", "expected a member name"}}}},
		{"bad literal", `{"resourceType":"Patient","active":tru}`, []want{{"Patient.active", 1, 39, true, []string{"unexpected '}'", "expected the literal true"}}}},
		{"capitalised literal", `{"resourceType":"Patient","active":True}`, []want{{"Patient.active", 1, 36, true, []string{"unexpected 'T'", "expected a JSON value"}}}},
		{"leading zero", `{"resourceType":"Patient","a":01}`, []want{{"Patient.a", 1, 32, true, []string{"leading zeros"}}}},
		{"missing fraction", `{"resourceType":"Patient","a":1.}`, []want{{"Patient.a", 1, 33, true, []string{"expected a digit after the decimal point"}}}},
		{"missing exponent", `{"resourceType":"Patient","a":1e+}`, []want{{"Patient.a", 1, 34, true, []string{"expected a digit in the exponent"}}}},
		{"lone minus", `{"resourceType":"Patient","a":-}`, []want{{"Patient.a", 1, 32, true, []string{"expected a digit after '-'"}}}},
		{"plus sign", `{"resourceType":"Patient","a":+1}`, []want{{"Patient.a", 1, 31, true, []string{"unexpected '+'", "expected a JSON value"}}}},
		{"tab in string", "{\"resourceType\":\"Pat\tient\"}", []want{{"resourceType", 1, 21, true, []string{"control character U+0009", "must be escaped"}}}},
		{"newline in string", "{\"resourceType\":\"Patient\",\n\"id\":\"a\nb\"}", []want{{"Patient.id", 2, 8, true, []string{"control character U+000A"}}}},
		{"bad escape", `{"resourceType":"Patient","id":"a\x"}`, []want{{"Patient.id", 1, 35, true, []string{`invalid escape 'x'`}}}},
		{"bad unicode escape", `{"resourceType":"Patient","id":"\u12G4"}`, []want{{"Patient.id", 1, 37, true, []string{"unexpected 'G'", `4 hex digits after "\u"`}}}},
		{"invalid UTF-8", "{\"resourceType\":\"Patient\",\"id\":\"a\xff\"}", []want{{"Patient.id", 1, 34, true, []string{"invalid UTF-8", "byte 0xFF"}}}},
		{"non-ASCII outside strings", "{\"resourceType\":\"Patient\",\"a\":é}", []want{{"Patient.a", 1, 31, true, []string{"unexpected U+00E9 'é'"}}}},
		{"data after value", `{"resourceType":"Patient"} x`, []want{{"Patient", 1, 28, true, []string{"unexpected 'x'", "expected end of input"}}}},
		{"two objects", "{\"resourceType\":\"Patient\"}\n{}", []want{{"Patient", 2, 1, true, []string{"expected end of input"}}}},
		{"BOM then syntax error", bomStr + `{"resourceType":1,}`, []want{{"", 1, 19, true, []string{"trailing commas"}}}},
		{"BOM in the middle", `{"resourceType":"Patient"}` + bomStr, []want{{"Patient", 1, 27, true, []string{"unexpected U+FEFF"}}}},
		{"CRLF lines", "{\r\n\"resourceType\":\"Patient\",\r\n\"a\":]\r\n}", []want{{"Patient.a", 3, 5, true, []string{"unexpected ']'"}}}},
		{"syntax error hides rule issues", `{"resourceType":"Patient","a":"","b":[],"c":`, []want{{"Patient.c", 1, 45, true, []string{"unexpected end of input"}}}},
		{"syntax error beyond depth limit", `{"resourceType":"Patient","a":` + strings.Repeat("[", 70) + `1,]`, []want{{deepExpr, 1, 103, true, []string{"trailing commas"}}}},
		{"syntax error in non-object", `[1,2`, []want{{"", 1, 5, true, []string{"unexpected end of input", "expected ',' or ']'"}}}},

		// Rule 2: the top-level value is an object.
		{"array resource", `[{"resourceType":"Patient"}]`, []want{{"", 1, 1, false, []string{"must be a JSON object", "found an array"}}}},
		{"string resource", ` "Patient"`, []want{{"", 1, 2, false, []string{"must be a JSON object", "found a string"}}}},
		{"null resource", "\nnull", []want{{"", 2, 1, false, []string{"must be a JSON object", "found null"}}}},

		// Rule 3: resourceType.
		{"missing resourceType", `{"id":"x"}`, []want{{"", 1, 1, false, []string{`"resourceType"`}}}},
		{"empty resource", "  {}", []want{{"", 1, 3, false, []string{`"resourceType"`}}}},
		{"missing resourceType sorts first", `{"id":""}`, []want{
			{"", 1, 1, false, []string{`"resourceType"`}},
			{"id", 1, 7, false, []string{"empty string"}},
		}},
		{"empty resourceType", `{"resourceType":""}`, []want{{"resourceType", 1, 17, false, []string{"non-empty string", "found an empty string"}}}},
		{"numeric resourceType", `{"resourceType":42}`, []want{{"resourceType", 1, 17, false, []string{"found a number"}}}},
		{"null resourceType", `{"resourceType":null}`, []want{{"resourceType", 1, 17, false, []string{"found null"}}}},
		{"object resourceType", `{"resourceType":{}}`, []want{
			{"resourceType", 1, 17, false, []string{"empty object"}},
			{"resourceType", 1, 17, false, []string{"found an object"}},
		}},
		{"nested resourceType does not count", `{"contained":[{"resourceType":"Patient"}]}`, []want{{"", 1, 1, false, []string{`"resourceType"`}}}},

		// Rule 4: duplicate member names.
		{"duplicate", `{"resourceType":"Patient","gender":"male","gender":"female"}`, []want{{"Patient.gender", 1, 43, false, []string{`duplicate member "gender"`, "first occurrence at line 1, column 27"}}}},
		{"duplicate nested", "{\"resourceType\":\"Patient\",\n\"name\":[{\"family\":\"a\",\n\"family\":\"b\"}]}", []want{{"Patient.name[0].family", 3, 1, false, []string{`duplicate member "family"`, "line 2, column 10"}}}},
		{"duplicate spelled with escape", `{"resourceType":"Patient","id":"a","\u0069d":"b"}`, []want{{"Patient.id", 1, 36, false, []string{`duplicate member "id"`}}}},
		{"duplicate resourceType", `{"resourceType":"Patient","resourceType":"Observation"}`, []want{{"Patient.resourceType", 1, 27, false, []string{`duplicate member "resourceType"`}}}},
		{"same name in sibling objects is fine", `{"resourceType":"Patient","name":[{"family":"a"},{"family":"b"}],"family":"c"}`, nil},

		// Rule 5: empty objects, arrays and strings.
		{"empty string", `{"resourceType":"Patient","name":[{"given":["a",""]}]}`, []want{{"Patient.name[0].given[1]", 1, 49, false, []string{"empty string is not allowed in FHIR JSON (omit the element instead)"}}}},
		{"empty object", `{"resourceType":"Patient","meta":{}}`, []want{{"Patient.meta", 1, 34, false, []string{"empty object is not allowed in FHIR JSON (omit the element instead)"}}}},
		{"empty array", "{\"resourceType\":\"Patient\",\n  \"name\": [ ]\n}", []want{{"Patient.name", 2, 11, false, []string{"empty array is not allowed in FHIR JSON (omit the element instead)"}}}},
		{"empty array in array", `{"resourceType":"Patient","a":[[],1]}`, []want{{"Patient.a[0]", 1, 32, false, []string{"empty array"}}}},
		{"empty member name", `{"resourceType":"Patient","":"x"}`, []want{{"Patient", 1, 27, false, []string{"empty member name"}}}},
		{"issue before resourceType is rooted", `{"id":"","resourceType":"Patient"}`, []want{{"Patient.id", 1, 7, false, []string{"empty string"}}}},
		{"columns count bytes", `{"resourceType":"Patient","name":[{"text":"សុខា","family":""}]}`, []want{{"Patient.name[0].family", 1, 67, false, []string{"empty string"}}}},
		{"BOM is not counted", bomStr + `{"resourceType":"Patient","id":""}`, []want{{"Patient.id", 1, 32, false, []string{"empty string"}}}},
		{"at most 100 issues", manyEmpty, func() []want {
			ws := make([]want, maxIssues)
			for i := range ws {
				ws[i] = want{fmt.Sprintf("Patient.a[%d]", i), 1, 32 + 3*i, false, []string{"empty string"}}
			}
			return ws
		}()},

		// Rule 6: null.
		{"null member", `{"resourceType":"Patient","gender":null}`, []want{{"Patient.gender", 1, 36, false, []string{`null is not allowed as the value of member "gender"`}}}},
		{"null nested member", `{"resourceType":"Patient","name":[{"family":null}]}`, []want{{"Patient.name[0].family", 1, 45, false, []string{"null is not allowed"}}}},
		{"only nulls", `{"resourceType":"Patient","name":[{"given":["a"],"_given":[null]}]}`, []want{{"Patient.name[0]._given", 1, 59, false, []string{"only nulls"}}}},
		{"nested only nulls", `{"resourceType":"Patient","a":[[null,null],[1]]}`, []want{{"Patient.a[0]", 1, 32, false, []string{"only nulls"}}}},

		// Rule 7: nesting depth.
		{"depth 64 is fine", deep(63), nil},
		{"depth 65", deep(64), []want{{deepExpr, 1, 94, false, []string{"deeper than 64 levels"}}}},
		{"issues after a too-deep value", deep(100)[:len(deep(100))-1] + `,"b":""}`, []want{
			{deepExpr, 1, 94, false, []string{"deeper than 64 levels"}},
			{"Patient.b", 1, 239, false, []string{"empty string"}},
		}},
		{"deep objects", `{"resourceType":"Patient","a":` + strings.Repeat(`{"b":`, 70) + "1" + strings.Repeat("}", 70) + "}",
			[]want{{"Patient.a" + strings.Repeat(".b", 63), 1, 31 + 5*63, false, []string{"deeper than 64 levels"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			members, err := Scan([]byte(tt.in))
			checkIssues(t, tt.in, err, tt.wants)
			if err != nil && members != nil {
				t.Errorf("Scan returned members with an error")
			}
		})
	}
}

func TestScanValid(t *testing.T) {
	tests := map[string]string{
		"pretty unicode patient": `{
  "resourceType": "Patient",
  "id": "km-1",
  "name": [
    {
      "family": "សុខា",
      "given": [ "สมชาย", null, "Ren\u00e9e" ],
      "_given": [ null, { "extension": [ { "url": "http://example.org/x", "valueString": "a \"quoted\" \\ word" } ] }, null ]
    }
  ],
  "birthDate": "1970-01-01",
  "_birthDate": { "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1970-01-01T08:00:00+07:00" } ] },
  "extension": [ { "url": "http://example.org/n", "valueDecimal": 1.50 }, { "url": "u", "valueDecimal": -0.0 }, { "url": "u", "valueDecimal": 1e3 }, { "url": "u", "valueDecimal": -12.5E-3 } ],
  "active": true,
  "deceasedBoolean": false
}`,
		"BOM":                     bomStr + `{"resourceType":"Patient"}`,
		"BOM and whitespace":      bomStr + "\r\n\t {\"resourceType\" : \"Patient\" } \n",
		"nested arrays":           `{"resourceType":"Basic","a":[[1,[2,[3]]],[[["x"]]]]}`,
		"escaped resourceType":    `{"resourceType":"Pati\u0065nt","id":"\/\b\f\n\r\t"}`,
		"lone surrogate escape":   `{"resourceType":"Patient","id":"\ud800"}`,
		"space-only string":       `{"resourceType":"Patient","id":" "}`,
		"nulls around a value":    `{"resourceType":"Patient","a":[null,1,null]}`,
		"Khmer name":              `{"resourceType":"សុខា"}`,
		"large object":            `{"resourceType":"Basic"` + manyMembers(100) + `}`,
		"contained empty payload": `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"1"}}]}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			members, err := Scan([]byte(in))
			if err != nil {
				t.Fatalf("Scan = %v", err)
			}
			checkReassembly(t, []byte(in), members)
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `,"m%d":%d`, i, i)
	}
	return b.String()
}

func TestScanLargeObjectDuplicate(t *testing.T) {
	// Past 32 members duplicates are found through a map; check both paths.
	for _, n := range []int{5, 31, 32, 33, 100} {
		in := `{"resourceType":"Basic"` + manyMembers(n) + `,"m3":1}`
		_, err := Scan([]byte(in))
		checkIssues(t, in, err, []want{{"Basic.m3", 1, len(in) - 6, false, []string{`duplicate member "m3"`}}})
	}
}

// checkReassembly checks that the members rebuild exactly the compacted input.
func checkReassembly(t *testing.T, in []byte, members []Member) {
	t.Helper()
	var want bytes.Buffer
	if err := json.Compact(&want, bytes.TrimPrefix(in, []byte(bomStr))); err != nil {
		t.Fatalf("json.Compact: %v", err)
	}
	if got := reassemble(members); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("reassembled members\n got %s\nwant %s", got, want.Bytes())
	}
}

// reassemble rebuilds the top-level object from its members.
func reassemble(members []Member) []byte {
	b := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(m.Name)
		b = append(b, name...)
		b = append(b, ':')
		b = append(b, m.Value...)
	}
	return append(b, '}')
}
