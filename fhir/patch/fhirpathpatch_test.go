package patch

import (
	"strings"
	"testing"
)

const testPatient = `{"resourceType":"Patient","id":"p",` +
	`"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"},{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"}],` +
	`"name":[{"use":"official","family":"Sok","given":["Dara","Vanna"],"_given":[null,{"extension":[{"url":"http://x","valueString":"y"}]}]}],` +
	`"gender":"male","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"}}]}`

// op renders one operation parameter from parts given as JSON members.
func op(parts ...string) string {
	return `{"name":"operation","part":[` + strings.Join(parts, ",") + `]}`
}

func params(ops ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ops, ",") + `]}`
}

func typ(s string) string   { return `{"name":"type","valueCode":"` + s + `"}` }
func path(s string) string  { return `{"name":"path","valueString":"` + s + `"}` }
func name(s string) string  { return `{"name":"name","valueString":"` + s + `"}` }
func index(n string) string { return `{"name":"index","valueInteger":` + n + `}` }
func value(member string) string {
	return `{"name":"value",` + member + `}`
}

// TestFHIRPathPatch checks each operation of the table in
// https://hl7.org/fhir/R4/fhirpatch.html (add, insert, delete, replace,
// move) and its rules: the path must select one element except for delete,
// where nothing is fine; add takes any value[x] or nested parts; indexes
// are 0-based and insert's may equal the list's length.
func TestFHIRPathPatch(t *testing.T) {
	const (
		head   = `{"resourceType":"Patient","id":"p",`
		ids    = `"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"},{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"}],`
		name0  = `"name":[{"use":"official","family":"Sok","given":["Dara","Vanna"],"_given":[null,{"extension":[{"url":"http://x","valueString":"y"}]}]}],`
		rest   = `"gender":"male","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"}}]}`
		ext    = `{"extension":[{"url":"http://x","valueString":"y"}]}`
		noDate = `"gender":"male","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"}}]}`
	)
	tests := []struct {
		name, doc, patch string
		want             string
		status           int
		diag, expr       string
	}{
		// add: to the element the path selects, under name.
		{name: "add primitive", doc: strings.Replace(testPatient, `"birthDate":"1990-04-01",`, "", 1),
			patch: params(op(typ("add"), path("Patient"), name("birthDate"), value(`"valueDate":"1990"`))),
			want:  head + ids + name0 + noDate[:len(noDate)-1] + `,"birthDate":"1990"}`},
		{name: "add to a list appends", patch: params(op(typ("add"), path("Patient"), name("identifier"), value(`"valueIdentifier":{"system":"urn:iom","value":"IOM-7"}`))),
			want: head + `"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"},{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"},{"system":"urn:iom","value":"IOM-7"}],` + name0 + rest},
		{name: "add the first item of a list makes an array", patch: params(op(typ("add"), path("Patient"), name("telecom"), value(`"valueContactPoint":{"system":"phone","value":"+66 81"}`))),
			want: head + ids + name0 + rest[:len(rest)-1] + `,"telecom":[{"system":"phone","value":"+66 81"}]}`},
		{name: "add primitive to a list with extensions", patch: params(op(typ("add"), path("Patient.name[0]"), name("given"), value(`"valueString":"Sopheap"`))),
			want: head + ids + `"name":[{"use":"official","family":"Sok","given":["Dara","Vanna","Sopheap"],"_given":[null,` + ext + `,null]}],` + rest},
		{name: "add a backbone element from parts", patch: params(op(typ("add"), path("Patient"), name("contact"), `{"name":"value","part":[`+
			`{"name":"relationship","valueCodeableConcept":{"text":"employer"}},{"name":"name","valueHumanName":{"family":"Wong"}},{"name":"telecom","valueContactPoint":{"system":"phone","value":"02"}}]}`)),
			want: head + ids + name0 + `"gender":"male","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"}},` +
				`{"relationship":[{"text":"employer"}],"name":{"family":"Wong"},"telecom":[{"system":"phone","value":"02"}]}]}`},
		{name: "add a choice takes the value's type", doc: strings.Replace(testPatient, `,"deceasedBoolean":false`, "", 1),
			patch: params(op(typ("add"), path("Patient"), name("deceased"), value(`"valueDateTime":"2026-01-02"`))),
			want:  head + ids + name0 + `"gender":"male","birthDate":"1990-04-01","contact":[{"name":{"family":"Chan"}}],"deceasedDateTime":"2026-01-02"}`},
		{name: "add a choice of a wrong type", doc: strings.Replace(testPatient, `,"deceasedBoolean":false`, "", 1),
			patch:  params(op(typ("add"), path("Patient"), name("deceased"), value(`"valueString":"yes"`))),
			status: 422, diag: `Patient.deceased[x] takes one of boolean, dateTime, not "string"`, expr: "Parameters.parameter[0]"},
		{name: "add to a single element that has a value", patch: params(op(typ("add"), path("Patient"), name("birthDate"), value(`"valueDate":"1991"`))),
			status: 422, diag: "Patient.birthDate already has a value; use replace"},
		{name: "add a choice that has a value of another type", patch: params(op(typ("add"), path("Patient"), name("deceased"), value(`"valueDateTime":"2026"`))),
			status: 422, diag: "Patient.deceased already has a value"},
		{name: "add an unknown element", patch: params(op(typ("add"), path("Patient"), name("nickname"), value(`"valueString":"D"`))),
			status: 422, diag: `Patient has no element "nickname"`},
		{name: "add under several elements", patch: params(op(typ("add"), path("Patient.identifier"), name("use"), value(`"valueCode":"official"`))),
			status: 422, diag: `path "Patient.identifier" matches 2 elements; it must match one`},
		{name: "add under a primitive", patch: params(op(typ("add"), path("Patient.gender"), name("x"), value(`"valueCode":"y"`))),
			status: 422, diag: "path selects a code, which has no child elements"},
		// insert: into the list the path names, at index.
		{name: "insert at 0", patch: params(op(typ("insert"), path("Patient.identifier"), index("0"), value(`"valueIdentifier":{"value":"X"}`))),
			want: head + `"identifier":[{"value":"X"},{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"},{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"}],` + name0 + rest},
		{name: "insert at the length appends", patch: params(op(typ("insert"), path("Patient.identifier"), index("2"), value(`"valueIdentifier":{"value":"X"}`))),
			want: head + `"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"},{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"},{"value":"X"}],` + name0 + rest},
		{name: "insert past the end", patch: params(op(typ("insert"), path("Patient.identifier"), index("3"), value(`"valueIdentifier":{"value":"X"}`))),
			status: 422, diag: "index 3 is past the end of Patient.identifier (2 items)"},
		{name: "insert into an absent list", patch: params(op(typ("insert"), path("Patient.contact[0].telecom"), index("0"), value(`"valueContactPoint":{"system":"email","value":"c@x"}`))),
			want: head + ids + name0 + `"gender":"male","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"},"telecom":[{"system":"email","value":"c@x"}]}]}`},
		{name: "insert keeps primitive extensions aligned", patch: params(op(typ("insert"), path("Patient.name[0].given"), index("1"), value(`"valueString":"Mony"`))),
			want: head + ids + `"name":[{"use":"official","family":"Sok","given":["Dara","Mony","Vanna"],"_given":[null,null,` + ext + `]}],` + rest},
		{name: "insert into a single element", patch: params(op(typ("insert"), path("Patient.birthDate"), index("0"), value(`"valueDate":"1990"`))),
			status: 422, diag: "Patient.birthDate is not a list"},
		{name: "insert on a path that names no list", patch: params(op(typ("insert"), path("Patient.identifier.where(value='N1')"), index("0"), value(`"valueIdentifier":{"value":"X"}`))),
			status: 422, diag: "path must name a list"},
		// delete: one element or none.
		{name: "delete a single element", patch: params(op(typ("delete"), path("Patient.birthDate"))),
			want: head + ids + name0 + noDate},
		{name: "delete a list item with its extension", patch: params(op(typ("delete"), path("Patient.name[0].given[1]"))),
			want: head + ids + `"name":[{"use":"official","family":"Sok","given":["Dara"]}],` + rest},
		{name: "delete the last item drops the list", patch: params(op(typ("delete"), path("Patient.contact[0]"))),
			want: head + ids + name0 + `"gender":"male","birthDate":"1990-04-01","deceasedBoolean":false}`},
		{name: "delete by filter", patch: params(op(typ("delete"), path("Patient.identifier.where(system='http://hl7.org/fhir/sid/passport-KHM')"))),
			want: head + `"identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"}],` + name0 + rest},
		{name: "delete nothing is fine", patch: params(op(typ("delete"), path("Patient.photo"))), want: testPatient},
		{name: "delete several", patch: params(op(typ("delete"), path("Patient.name.given"))),
			status: 422, diag: "matches 2 elements; delete removes one"},
		{name: "delete the resource", patch: params(op(typ("delete"), path("Patient"))), status: 422, diag: "use DELETE"},
		// replace: the one element the path selects.
		{name: "replace a primitive", patch: params(op(typ("replace"), path("Patient.gender"), value(`"valueCode":"female"`))),
			want: head + ids + name0 + `"gender":"female","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"}}]}`},
		{name: "replace a list item and its extension", patch: params(op(typ("replace"), path("Patient.name[0].given[1]"), value(`"valueString":"Vannak"`))),
			want: head + ids + `"name":[{"use":"official","family":"Sok","given":["Dara","Vannak"]}],` + rest},
		{name: "replace a complex value", patch: params(op(typ("replace"), path("Patient.identifier[1]"), value(`"valueIdentifier":{"system":"urn:iom","value":"I9"}`))),
			want: head + `"identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"},{"system":"urn:iom","value":"I9"}],` + name0 + rest},
		{name: "replace a choice with another type", patch: params(op(typ("replace"), path("Patient.deceased"), value(`"valueDateTime":"2026-02-03"`))),
			want: head + ids + name0 + `"gender":"male","birthDate":"1990-04-01","contact":[{"name":{"family":"Chan"}}],"deceasedDateTime":"2026-02-03"}`},
		{name: "replace with parts", patch: params(op(typ("replace"), path("Patient.contact[0]"), `{"name":"value","part":[{"name":"gender","valueCode":"female"}]}`)),
			want: head + ids + name0 + `"gender":"male","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"gender":"female"}]}`},
		{name: "replace nothing", patch: params(op(typ("replace"), path("Patient.photo"), value(`"valueAttachment":{"url":"x"}`))),
			status: 422, diag: `path "Patient.photo" matches no element`},
		{name: "replace several", patch: params(op(typ("replace"), path("Patient.identifier.value"), value(`"valueString":"x"`))),
			status: 422, diag: "matches 2 elements; it must match one"},
		// move: within one list.
		{name: "move", patch: params(op(typ("move"), path("Patient.identifier"), `{"name":"source","valueInteger":0}`, `{"name":"destination","valueInteger":1}`)),
			want: head + `"identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"T2"},{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"}],` + name0 + rest},
		{name: "move with extensions", patch: params(op(typ("move"), path("Patient.name[0].given"), `{"name":"source","valueInteger":1}`, `{"name":"destination","valueInteger":0}`)),
			want: head + ids + `"name":[{"use":"official","family":"Sok","given":["Vanna","Dara"],"_given":[` + ext + `,null]}],` + rest},
		{name: "move out of range", patch: params(op(typ("move"), path("Patient.identifier"), `{"name":"source","valueInteger":0}`, `{"name":"destination","valueInteger":2}`)),
			status: 422, diag: "must both be below the length"},
		// Several operations apply in order, all or nothing.
		{name: "in order", patch: params(op(typ("delete"), path("Patient.identifier[0]")), op(typ("replace"), path("Patient.identifier[0].value"), value(`"valueString":"T3"`))),
			want: head + `"identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"T3"}],` + name0 + rest},
		{name: "second fails", patch: params(op(typ("delete"), path("Patient.birthDate")), op(typ("replace"), path("Patient.birthDate"), value(`"valueDate":"1990"`))),
			status: 422, diag: "FHIRPath Patch operation 1 (replace Patient.birthDate)", expr: "Parameters.parameter[1]"},
		{name: "unknown parts are ignored", patch: params(op(typ("replace"), path("Patient.gender"), value(`"valueCode":"female"`), `{"name":"pathLabel","valueString":"Gender"}`)),
			want: head + ids + name0 + `"gender":"female","birthDate":"1990-04-01","deceasedBoolean":false,"contact":[{"name":{"family":"Chan"}}]}`},
		// Malformed: 400 naming the parameter.
		{name: "not Parameters", patch: `{"resourceType":"Patient"}`, status: 400, diag: "is a Parameters resource", expr: "resourceType"},
		{name: "no operations", patch: `{"resourceType":"Parameters"}`, status: 400, diag: "no operation parameters"},
		{name: "not operation", patch: params(`{"name":"resource","valueString":"x"}`), status: 400, diag: `every parameter is named "operation"`, expr: "Parameters.parameter[0]"},
		{name: "unknown type", patch: params(op(typ("copy"), path("Patient"))), status: 400, diag: `type "copy" is not add, insert, delete, replace or move`},
		{name: "missing value", patch: params(op(typ("replace"), path("Patient.gender"))), status: 400, diag: `replace needs the part "value"`},
		{name: "missing index", patch: params(op(typ("insert"), path("Patient.identifier"), value(`"valueIdentifier":{"value":"X"}`))), status: 400, diag: `insert needs the part "index"`},
		{name: "negative index", patch: params(op(typ("insert"), path("Patient.identifier"), index("-1"), value(`"valueIdentifier":{"value":"X"}`))), status: 400, diag: "is not a list index"},
		{name: "duplicate part", patch: params(op(typ("delete"), path("Patient.gender"), path("Patient.birthDate"))), status: 400, diag: `part "path" is given twice`},
		{name: "two values", patch: params(op(typ("replace"), path("Patient.gender"), value(`"valueCode":"female","valueString":"f"`))), status: 400, diag: "give one of value[x], resource or part"},
		{name: "bad path", patch: params(op(typ("delete"), path("Patient.name.count()"))), status: 400, diag: "function count() is not supported", expr: "Parameters.parameter[0]"},
		{name: "path to a computed value", patch: params(op(typ("delete"), path("Patient.name.exists()"))), status: 422, diag: "not an element of the resource"},
		{name: "not JSON", patch: `{"resourceType":`, status: 400, diag: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.doc
			if doc == "" {
				doc = testPatient
			}
			got, err := FHIRPathPatch([]byte(doc), []byte(tt.patch))
			checkResult(t, got, err, tt.want, tt.status, tt.diag, tt.expr)
		})
	}
}
