package patch

import (
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// TestJSONPatch runs the examples of RFC 6902 Appendix A
// (https://www.rfc-editor.org/rfc/rfc6902#appendix-A) and the cases FHIR
// adds (https://hl7.org/fhir/R4/http.html#patch): member order and decimal
// digits kept, errors naming the operation, its path and the element.
func TestJSONPatch(t *testing.T) {
	tests := []struct {
		name, doc, patch string
		want             string // patched JSON, compact
		status           int    // or the error's status
		diag, expr       string // substrings of the error
	}{
		{name: "A.1 add member", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux"}]`, want: `{"foo":"bar","baz":"qux"}`},
		{name: "A.2 add array element", doc: `{"foo":["bar","baz"]}`, patch: `[{"op":"add","path":"/foo/1","value":"qux"}]`, want: `{"foo":["bar","qux","baz"]}`},
		{name: "A.3 remove member", doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"remove","path":"/baz"}]`, want: `{"foo":"bar"}`},
		{name: "A.4 remove array element", doc: `{"foo":["bar","qux","baz"]}`, patch: `[{"op":"remove","path":"/foo/1"}]`, want: `{"foo":["bar","baz"]}`},
		{name: "A.5 replace", doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"replace","path":"/baz","value":"boo"}]`, want: `{"baz":"boo","foo":"bar"}`},
		{name: "A.6 move member", doc: `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, patch: `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			want: `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{name: "A.7 move array element", doc: `{"foo":["all","grass","cows","eat"]}`, patch: `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, want: `{"foo":["all","cows","eat","grass"]}`},
		{name: "A.8 test success", doc: `{"baz":"qux","foo":["a",2,"c"]}`, patch: `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`, want: `{"baz":"qux","foo":["a",2,"c"]}`},
		{name: "A.9 test failure", doc: `{"baz":"qux"}`, patch: `[{"op":"test","path":"/baz","value":"bar"}]`, status: 422, diag: "operation 0 (test /baz)", expr: "Resource.baz"},
		{name: "A.10 nested object", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`, want: `{"foo":"bar","child":{"grandchild":{}}}`},
		{name: "A.11 unknown members ignored", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`, want: `{"foo":"bar","baz":"qux"}`},
		{name: "A.12 add to missing parent", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz/bat","value":"qux"}]`, status: 422, diag: "/baz does not exist"},
		{name: "A.13 duplicate op member", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux","op":"remove"}]`, status: 400, diag: `duplicate member "op"`},
		{name: "A.14 ~ escape order", doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":10}]`, want: `{"/":9,"~1":10}`},
		{name: "A.15 string is not number", doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":"10"}]`, status: 422, diag: "test failed"},
		{name: "A.16 add array value", doc: `{"foo":["bar"]}`, patch: `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`, want: `{"foo":["bar",["abc","def"]]}`},
		// Further cases of each operation.
		{name: "~1 escape", doc: `{"a/b":1}`, patch: `[{"op":"replace","path":"/a~1b","value":2}]`, want: `{"a/b":2}`},
		{name: "add replaces existing member", doc: `{"a":1,"b":2}`, patch: `[{"op":"add","path":"/a","value":3}]`, want: `{"a":3,"b":2}`},
		{name: "add at end index", doc: `{"a":[1]}`, patch: `[{"op":"add","path":"/a/1","value":2}]`, want: `{"a":[1,2]}`},
		{name: "add past end", doc: `{"a":[1]}`, patch: `[{"op":"add","path":"/a/2","value":2}]`, status: 422, diag: "index 2 is out of range: the array has 1 items"},
		{name: "add whole document", doc: `{"a":1}`, patch: `[{"op":"add","path":"","value":{"b":2}}]`, want: `{"b":2}`},
		{name: "remove missing", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/b"}]`, status: 422, diag: "/b does not exist", expr: "Resource.b"},
		{name: "remove whole document", doc: `{"a":1}`, patch: `[{"op":"remove","path":""}]`, status: 422, diag: "whole resource"},
		{name: "remove with -", doc: `{"a":[1]}`, patch: `[{"op":"remove","path":"/a/-"}]`, status: 422, diag: `"-" (past the end) names no item`},
		{name: "leading zero index", doc: `{"a":[1,2]}`, patch: `[{"op":"remove","path":"/a/01"}]`, status: 422, diag: `"01" is not an array index`},
		{name: "replace missing", doc: `{"a":1}`, patch: `[{"op":"replace","path":"/b","value":1}]`, status: 422, diag: "/b does not exist"},
		{name: "replace array item", doc: `{"a":[1,2]}`, patch: `[{"op":"replace","path":"/a/1","value":3}]`, want: `{"a":[1,3]}`},
		{name: "navigate through scalar", doc: `{"a":"x"}`, patch: `[{"op":"replace","path":"/a/b","value":1}]`, status: 422, diag: "/a is not an object or array"},
		{name: "copy deep", doc: `{"a":{"x":[1]},"b":{}}`, patch: `[{"op":"copy","from":"/a","path":"/b/c"},{"op":"add","path":"/a/x/-","value":2}]`, want: `{"a":{"x":[1,2]},"b":{"c":{"x":[1]}}}`},
		{name: "copy bomb", doc: `{"a":[1,2,3,4,5,6,7,8]}`, patch: `[` + strings.Repeat(`{"op":"copy","from":"","path":"/a/-"},`, 40) + `{"op":"test","path":"","value":1}]`,
			status: 422, diag: "more than 100000 values"},
		{name: "copy from missing", doc: `{"a":1}`, patch: `[{"op":"copy","from":"/z","path":"/b"}]`, status: 422, diag: "from: /z does not exist"},
		{name: "move into own child", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/a/c"}]`, status: 400, diag: "into its own child"},
		{name: "move onto itself", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/a"}]`, want: `{"a":1}`},
		{name: "test numbers by value", doc: `{"a":1.0}`, patch: `[{"op":"test","path":"/a","value":1}]`, want: `{"a":1.0}`},
		{name: "test objects unordered", doc: `{"a":{"x":1,"y":[true,null]}}`, patch: `[{"op":"test","path":"/a","value":{"y":[true,null],"x":1}}]`, want: `{"a":{"x":1,"y":[true,null]}}`},
		{name: "test arrays ordered", doc: `{"a":[1,2]}`, patch: `[{"op":"test","path":"/a","value":[2,1]}]`, status: 422, diag: "test failed"},
		{name: "all or nothing", doc: `{"a":1}`, patch: `[{"op":"remove","path":"/a"},{"op":"remove","path":"/a"}]`, status: 422, diag: "operation 1 (remove /a)"},
		// Malformed documents: 400 naming the operation.
		{name: "not JSON", doc: `{}`, patch: `[{"op":`, status: 400, diag: "not valid JSON"},
		{name: "not an array", doc: `{}`, patch: `{"op":"add"}`, status: 400, diag: "JSON array of operations"},
		{name: "trailing data", doc: `{}`, patch: `[] []`, status: 400, diag: "not valid JSON"},
		{name: "operation not object", doc: `{}`, patch: `[1]`, status: 400, diag: "operation 0: an operation is a JSON object"},
		{name: "unknown op", doc: `{}`, patch: `[{"op":"delete","path":"/a"}]`, status: 400, diag: `unknown op "delete"`},
		{name: "missing op", doc: `{}`, patch: `[{"path":"/a"}]`, status: 400, diag: `"op" must be a string`},
		{name: "missing path", doc: `{}`, patch: `[{"op":"remove"}]`, status: 400, diag: `"path" must be a JSON Pointer`},
		{name: "missing value", doc: `{}`, patch: `[{"op":"add","path":"/a"}]`, status: 400, diag: `add needs a "value"`},
		{name: "missing from", doc: `{}`, patch: `[{"op":"copy","path":"/a"}]`, status: 400, diag: `copy needs "from"`},
		{name: "pointer without slash", doc: `{}`, patch: `[{"op":"remove","path":"a"}]`, status: 400, diag: "starts with '/'"},
		{name: "bad escape", doc: `{}`, patch: `[{"op":"remove","path":"/a~2"}]`, status: 400, diag: "'~' must be followed by 0 or 1"},
		{name: "second op malformed", doc: `{}`, patch: `[{"op":"add","path":"/a","value":1},{"op":"add","path":"/b"}]`, status: 400, diag: "operation 1"},
		// FHIR resources: order and digits kept, expression names the element.
		{name: "FHIR order and decimals kept", doc: `{"resourceType":"Observation","id":"o","status":"final","valueQuantity":{"value":6.30,"unit":"mmol/l"}}`,
			patch: `[{"op":"replace","path":"/status","value":"amended"},{"op":"add","path":"/valueQuantity/code","value":"mmol/L"}]`,
			want:  `{"resourceType":"Observation","id":"o","status":"amended","valueQuantity":{"value":6.30,"unit":"mmol/l","code":"mmol/L"}}`},
		{name: "FHIR narrative not HTML-escaped", doc: `{"resourceType":"Patient","id":"p"}`,
			patch: `[{"op":"add","path":"/text","value":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Sok &amp; Dara</div>"}}]`,
			want:  `{"resourceType":"Patient","id":"p","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Sok &amp; Dara</div>"}}`},
		{name: "FHIR expression", doc: `{"resourceType":"Patient","name":[{"family":"Sok"}]}`, patch: `[{"op":"remove","path":"/name/0/given"}]`,
			status: 422, diag: "operation 0 (remove /name/0/given)", expr: "Patient.name[0].given"},
		{name: "FHIR Khmer text", doc: `{"resourceType":"Patient","name":[{"text":"សុខ"}]}`, patch: `[{"op":"add","path":"/name/0/given","value":["ដារា"]}]`,
			want: `{"resourceType":"Patient","name":[{"text":"សុខ","given":["ដារា"]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JSONPatch([]byte(tt.doc), []byte(tt.patch))
			checkResult(t, got, err, tt.want, tt.status, tt.diag, tt.expr)
		})
	}
}

func checkResult(t *testing.T, got []byte, err error, want string, status int, diag, expr string) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("error %v, want %s", err, want)
		}
		if string(got) != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		return
	}
	e, ok := outcome.As(err)
	if !ok {
		t.Fatalf("got %s, %v; want a %d outcome", got, err, status)
	}
	if e.Status != status || !strings.Contains(e.Issues[0].Diagnostics, diag) {
		t.Fatalf("got %d %q, want %d containing %q", e.Status, e.Issues[0].Diagnostics, status, diag)
	}
	if expr != "" && (len(e.Issues[0].Expression) == 0 || e.Issues[0].Expression[0] != expr) {
		t.Fatalf("expression %v, want %q", e.Issues[0].Expression, expr)
	}
}
