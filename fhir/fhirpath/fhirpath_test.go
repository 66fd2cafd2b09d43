package fhirpath

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testPatient = `{"resourceType": "Patient", "id": "p1",
 "meta": {"tag": [{"system": "http://x", "code": "t1"}], "profile": ["http://p/1"]},
 "extension": [
   {"url": "http://e/race", "valueCoding": {"code": "r"}},
   {"url": "http://e/age", "valueAge": {"value": 30, "unit": "a"}}],
 "active": true,
 "name": [
   {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
   {"use": "usual", "given": ["Jim", null], "_given": [null, {"extension": [{"url": "http://e/x", "valueString": "y"}]}]}],
 "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "a@b"}],
 "gender": "male",
 "birthDate": "1974-12-25",
 "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
 "deceasedDateTime": "2015-02-14T13:42:00+10:00",
 "contained": [{"resourceType": "Organization", "id": "org1", "name": "X"}],
 "generalPractitioner": [
   {"reference": "Practitioner/gp"},
   {"reference": "http://other/fhir/Organization/o1/_history/2"},
   {"reference": "#org1"},
   {"type": "Practitioner", "identifier": {"value": "x"}},
   {"reference": "urn:uuid:1234"},
   {"reference": "Unknown/1"},
   {"display": "just text"}],
 "managingOrganization": {"reference": "Organization/1"}}`

const testObservation = `{"resourceType": "Observation", "id": "o1", "status": "final",
 "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8"}]},
 "subject": {"reference": "Patient/p1"},
 "effectivePeriod": {"start": "2013-04-02T09:30:10+01:00"},
 "issued": "2013-04-03T15:30:10+01:00",
 "valueQuantity": {"value": 6.3, "unit": "mmol/l"},
 "component": [
   {"code": {"text": "a"}, "valueQuantity": {"value": 1.0}},
   {"code": {"text": "b"}, "valueString": "x"},
   {"code": {"text": "c"}, "valueDateTime": "2020-01-01"},
   {"code": {"text": "a"}, "valueQuantity": {"value": 1}}]}`

// TestEvaluate checks each construct against a small resource. Every case
// names the section of FHIRPath N1 (http://hl7.org/fhirpath/N1/) or of
// FHIR R4 (http://hl7.org/fhir/R4/fhirpath.html) that it protects.
func TestEvaluate(t *testing.T) {
	patient, observation := decode(t, testPatient), decode(t, testObservation)
	tests := []struct {
		spec, expr string
		on         map[string]any
		want       []string
	}{
		// N1 §3 Path selection: children, flattened in document order.
		{"N1 §3", "Patient.name.given", patient, []string{`string "Peter"`, `string "James"`, `string "Jim"`}},
		{"N1 §3", "name.family", patient, []string{`string "Chalmers"`}},
		{"N1 §3", "Patient.birthDate", patient, []string{`date "1974-12-25"`}},
		{"N1 §3", "Patient.active", patient, []string{`boolean true`}},
		{"N1 §3", "Patient.gender", patient, []string{`code "male"`}},
		{"N1 §3", "Patient.nosuchelement", patient, []string{}},
		{"N1 §3", "Patient.name.given.family", patient, []string{}},
		// R4 fhirpath.html: the JSON split of primitives is invisible.
		{"R4 fhirpath primitives", "Patient._birthDate", patient, []string{}},
		// R4 fhirpath.html: an expression may start with a resource type name,
		// which filters; its base types match too.
		{"R4 fhirpath type prefix", "Observation.status", patient, []string{}},
		{"R4 fhirpath type prefix", "Resource.id", patient, []string{`string "p1"`}},
		{"R4 fhirpath type prefix", "DomainResource.meta.profile", patient, []string{`canonical "http://p/1"`}},
		{"R4 fhirpath type prefix", "AllergyIntolerance.code | Observation.code", observation, []string{`CodeableConcept {"coding":[{"code":"15074-8","system":"http://loinc.org"}]}`}},
		// R4 fhirpath.html: choice elements are named without their type.
		{"R4 fhirpath choice", "Observation.value", observation, []string{`Quantity {"unit":"mmol/l","value":6.3}`}},
		{"R4 fhirpath choice", "Observation.effective", observation, []string{`Period {"start":"2013-04-02T09:30:10+01:00"}`}},
		{"R4 fhirpath choice", "Patient.deceased", patient, []string{`dateTime "2015-02-14T13:42:00+10:00"`}},
		{"R4 fhirpath choice", "Observation.valueQuantity", observation, []string{}},
		{"R4 fhirpath choice", "Observation.component.value", observation, []string{`Quantity {"value":1.0}`, `string "x"`, `dateTime "2020-01-01"`, `Quantity {"value":1}`}},
		{"R4 fhirpath contained", "Patient.contained", patient, []string{`Organization {"id":"org1","name":"X","resourceType":"Organization"}`}},
		{"R4 backbone", "Observation.component.first()", observation, []string{`Observation.component {"code":{"text":"a"},"valueQuantity":{"value":1.0}}`}},
		// N1 §6.6.1 Indexer: 0-based, empty past the end.
		{"N1 §6.6.1", "Patient.name[1].use", patient, []string{`code "usual"`}},
		{"N1 §6.6.1", "Patient.name.given[2]", patient, []string{`string "Jim"`}},
		{"N1 §6.6.1", "Patient.name[0].given[1]", patient, []string{`string "James"`}},
		{"N1 §6.6.1", "Patient.name[5]", patient, []string{}},
		// N1 §4.1 Literals.
		{"N1 §4.1", "'a\\'b'", patient, []string{`string "a'b"`}},
		{"N1 §4.1", "12", patient, []string{`integer 12`}},
		{"N1 §4.1", "1.50", patient, []string{`decimal 1.50`}},
		{"N1 §4.1", "false", patient, []string{`boolean false`}},
		{"N1 §4.1", "{}", patient, []string{}},
		// N1 §6.4.1 | (union): duplicates removed (by =, so 1.0 = 1).
		{"N1 §6.4.1", "Patient.name.use | Patient.gender", patient, []string{`code "official"`, `code "usual"`, `code "male"`}},
		{"N1 §6.4.1", "Observation.component.code | Observation.component.code", observation, []string{`CodeableConcept {"text":"a"}`, `CodeableConcept {"text":"b"}`, `CodeableConcept {"text":"c"}`}},
		{"N1 §6.4.1", "(Observation.component.value as Quantity)", observation, []string{`Quantity {"value":1.0}`, `Quantity {"value":1}`}},
		{"N1 §6.4.1", "(Observation.component.value as Quantity) | {}", observation, []string{`Quantity {"value":1.0}`}},
		// N1 §5.2 where(criteria), with $this the item under test.
		{"N1 §5.2 where", "Patient.telecom.where(system='email').value", patient, []string{`string "a@b"`}},
		{"N1 §5.2 where", "Patient.telecom.where(system = 'fax')", patient, []string{}},
		{"N1 §5.2 where", "Patient.name.given.where($this = 'Jim')", patient, []string{`string "Jim"`}},
		// N1 §5.1 Existence.
		{"N1 §5.1 exists", "Patient.name.exists()", patient, []string{`boolean true`}},
		{"N1 §5.1 exists", "Patient.photo.exists()", patient, []string{`boolean false`}},
		{"N1 §5.1 exists", "Patient.name.exists(use = 'usual')", patient, []string{`boolean true`}},
		{"N1 §5.1 exists", "Patient.name.exists(use = 'nickname')", patient, []string{`boolean false`}},
		{"N1 §5.1 empty", "Patient.photo.empty()", patient, []string{`boolean true`}},
		{"N1 §5.1 empty", "Patient.name.empty()", patient, []string{`boolean false`}},
		// N1 §5.3 Subsetting.
		{"N1 §5.3 first", "Patient.name.given.first()", patient, []string{`string "Peter"`}},
		{"N1 §5.3 last", "Patient.name.given.last()", patient, []string{`string "Jim"`}},
		{"N1 §5.3 first", "Patient.photo.first()", patient, []string{}},
		// N1 §6.5 not().
		{"N1 §6.5 not", "Patient.active.not()", patient, []string{`boolean false`}},
		{"N1 §6.5 not", "Patient.photo.not()", patient, []string{}},
		{"N1 §6.5 not", "Patient.name.exists().not()", patient, []string{`boolean false`}},
		// N1 §6.1 Equality.
		{"N1 §6.1.1 =", "Patient.gender = 'male'", patient, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Patient.gender = 'female'", patient, []string{`boolean false`}},
		{"N1 §6.1.1 =", "Patient.gender != 'female'", patient, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Patient.photo = 'x'", patient, []string{}},
		{"N1 §6.1.1 =", "Patient.active = true", patient, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Patient.deceased != false", patient, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Observation.value.value = 6.30", observation, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Observation.value.value = 6", observation, []string{`boolean false`}},
		{"N1 §6.1.1 =", "1 = 1.0", patient, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Patient.name.given = Patient.name.given", patient, []string{`boolean true`}},
		{"N1 §6.1.1 =", "Patient.name.given = 'Peter'", patient, []string{`boolean false`}},
		{"N1 §6.1.1 = complex", "Observation.component.first().value = Observation.component.last().value", observation, []string{`boolean true`}},
		{"N1 §6.1.1 = dates", "Patient.birthDate = Patient.birthDate", patient, []string{`boolean true`}},
		{"N1 §6.1.1 = dates", "Observation.issued = Observation.effective.start", observation, []string{`boolean false`}},
		{"N1 §6.1.1 = dates", "Patient.birthDate = Observation.issued", patient, []string{}},
		// N1 §6.5 Boolean logic: three-valued and/or.
		{"N1 §6.5 and", "true and true", patient, []string{`boolean true`}},
		{"N1 §6.5 and", "true and false", patient, []string{`boolean false`}},
		{"N1 §6.5 and", "true and {}", patient, []string{}},
		{"N1 §6.5 and", "false and {}", patient, []string{`boolean false`}},
		{"N1 §6.5 and", "{} and false", patient, []string{`boolean false`}},
		{"N1 §6.5 or", "false or false", patient, []string{`boolean false`}},
		{"N1 §6.5 or", "false or true", patient, []string{`boolean true`}},
		{"N1 §6.5 or", "{} or true", patient, []string{`boolean true`}},
		{"N1 §6.5 or", "false or {}", patient, []string{}},
		{"N1 §4.5 singleton", "Patient.gender and true", patient, []string{`boolean true`}},
		{"R4 Patient-deceased", "Patient.deceased.exists() and Patient.deceased != false", patient, []string{`boolean true`}},
		// N1 §6.3 Types: is, as; N1 §5.2 ofType. A subtype matches (Age is a
		// Quantity); System types match the FHIR primitives of that kind.
		{"N1 §6.3 as", "(Observation.value as Quantity)", observation, []string{`Quantity {"unit":"mmol/l","value":6.3}`}},
		{"N1 §6.3 as", "(Observation.value as CodeableConcept)", observation, []string{}},
		{"N1 §6.3 as", "(Observation.value as CodeableConcept).text", observation, []string{}},
		{"N1 §6.3 as", "Observation.component.value.as(string)", observation, []string{`string "x"`}},
		{"N1 §6.3 as", "Observation.component.value.as(DateTime)", observation, []string{`dateTime "2020-01-01"`}},
		{"N1 §6.3 as", "Observation.component.value.as(System.String)", observation, []string{`string "x"`}},
		{"N1 §6.3 as", "Observation.component.value.as(FHIR.dateTime)", observation, []string{`dateTime "2020-01-01"`}},
		{"N1 §6.3 as", "Observation.issued.as(DateTime)", observation, []string{`instant "2013-04-03T15:30:10+01:00"`}},
		{"N1 §6.3 as", "Observation.issued.as(dateTime)", observation, []string{}},
		{"N1 §5.2 ofType", "Patient.extension.value.ofType(Quantity)", patient, []string{`Age {"unit":"a","value":30}`}},
		{"N1 §5.2 ofType", "Patient.extension.value.ofType(Coding).code", patient, []string{`code "r"`}},
		{"N1 §5.2 ofType", "Patient.gender.ofType(String)", patient, []string{`code "male"`}},
		{"N1 §5.2 ofType", "Patient.gender.ofType(string)", patient, []string{`code "male"`}},
		{"N1 §5.2 ofType", "Patient.ofType(DomainResource).id", patient, []string{`string "p1"`}},
		{"N1 §6.3 is", "Observation.value is Quantity", observation, []string{`boolean true`}},
		{"N1 §6.3 is", "Observation.value is Period", observation, []string{`boolean false`}},
		{"N1 §6.3 is", "Observation.value.is(Quantity)", observation, []string{`boolean true`}},
		{"N1 §6.3 is", "Patient.photo is Attachment", patient, []string{}},
		{"N1 §6.3 is", "Patient.birthDate is Date", patient, []string{`boolean true`}},
		{"N1 §6.3 is", "Patient.birthDate is DateTime", patient, []string{`boolean false`}},
		{"N1 §6.3 is", "true is Boolean", patient, []string{`boolean true`}},
		{"N1 §6.3 is", "Observation.component.first() is BackboneElement", observation, []string{`boolean true`}},
		// R4 fhirpath.html "Additional functions": extension(url), and the long form.
		{"R4 extension()", "Patient.extension('http://e/race').value", patient, []string{`Coding {"code":"r"}`}},
		{"R4 extension()", "Patient.extension('http://e/none')", patient, []string{}},
		{"R4 extension()", "Patient.extension.where(url = 'http://e/age').value.value", patient, []string{`decimal 30`}},
		{"R4 extension()", "extension('http://e/age').value is Age", patient, []string{`boolean true`}},
		// R4 fhirpath.html "Additional functions": resolve(), by reference type only.
		{"R4 resolve()", "Patient.generalPractitioner.resolve()", patient, []string{
			`Practitioner {"id":"gp","resourceType":"Practitioner"}`,
			`Organization {"id":"o1","resourceType":"Organization"}`,
			`Organization {"id":"org1","name":"X","resourceType":"Organization"}`,
			`Practitioner {"resourceType":"Practitioner"}`}},
		{"R4 resolve()", "Patient.generalPractitioner.where(resolve() is Organization).reference", patient, []string{`string "http://other/fhir/Organization/o1/_history/2"`, `string "#org1"`}},
		{"R4 resolve()", "Observation.subject.where(resolve() is Patient)", observation, []string{`Reference {"reference":"Patient/p1"}`}},
		{"R4 resolve()", "Patient.managingOrganization.where(resolve() is Patient)", patient, []string{}},
		{"R4 resolve()", "Patient.name.resolve()", patient, []string{}},
		// R4 fhirpath.html "Variables": %resource; N1 §5.2 $this.
		{"R4 %resource", "Patient.name.where(%resource.active).family", patient, []string{`string "Chalmers"`}},
		{"N1 $this", "$this.id", patient, []string{`string "p1"`}},
		{"N1 comments", "Patient.id // trailing\n", patient, []string{`string "p1"`}},
		{"N1 delimited", "Patient.`gender`", patient, []string{`code "male"`}},
	}
	for _, tt := range tests {
		e, err := Compile(tt.expr)
		if err != nil {
			t.Errorf("%s: Compile(%q): %v", tt.spec, tt.expr, err)
			continue
		}
		got, err := e.Evaluate(tt.on)
		if err != nil {
			t.Errorf("%s: %q: %v", tt.spec, tt.expr, err)
			continue
		}
		if diff := cmp.Diff(tt.want, render(got)); diff != "" {
			t.Errorf("%s: %q (-want +got):\n%s", tt.spec, tt.expr, diff)
		}
	}
}

// TestEvaluateNode covers composite components, evaluated against each
// result of the main expression (R4 search.html, "Composite Search Parameters").
func TestEvaluateNode(t *testing.T) {
	obs := decode(t, testObservation)
	main := MustCompile("Observation | Observation.component")
	code := MustCompile("code")
	value := MustCompile("value.as(Quantity)")
	this := MustCompile("$this.code.text | %resource.id")
	roots, err := main.Evaluate(obs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range roots {
		c, err := code.EvaluateNode(obs, n)
		if err != nil {
			t.Fatal(err)
		}
		v, err := value.EvaluateNode(obs, n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := this.EvaluateNode(obs, n)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n.Type+": "+strings.Join(render(c), ",")+" / "+strings.Join(render(v), ",")+" / "+strings.Join(render(s), ","))
	}
	want := []string{
		`Observation: CodeableConcept {"coding":[{"code":"15074-8","system":"http://loinc.org"}]} / Quantity {"unit":"mmol/l","value":6.3} / string "o1"`,
		`Observation.component: CodeableConcept {"text":"a"} / Quantity {"value":1.0} / string "a",string "o1"`,
		`Observation.component: CodeableConcept {"text":"b"} /  / string "b",string "o1"`,
		`Observation.component: CodeableConcept {"text":"c"} /  / string "c",string "o1"`,
		// The fourth component equals the first (1 = 1.0), and | removes
		// duplicates (N1 §6.4.1).
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestEvaluateErrors: evaluation fails loudly rather than guessing.
func TestEvaluateErrors(t *testing.T) {
	tests := []struct{ expr, resource, want string }{
		{"Patient.name.given.not()", testPatient, "expected a single boolean, got 3 items"},           // N1 §4.5
		{"Patient.name.where(given)", testPatient, "where(): expected a single boolean, got 2 items"}, // N1 §4.5
		{"Patient.name.where(given = given)", testPatient, ""},
		{"Patient.telecom.system is code", testPatient, "expected one item, got 2"}, // N1 §6.3
		{"Patient.id", `{"id": "x"}`, "resource has no resourceType"},
		{"Patient.id", `{"resourceType": "Nonsense"}`, `unknown resource type "Nonsense"`},
		{"Patient.id", `{"resourceType": "Practitioner"}`, "not in the generated model"},
	}
	for _, tt := range tests {
		_, err := MustCompile(tt.expr).Evaluate(decode(t, tt.resource))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tt.expr, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want one containing %q", tt.expr, err, tt.want)
		}
	}
}

// TestParseReference: the literal reference forms of FHIR R4
// R4 references.html "Literal references" (relative, absolute, versioned) and the ones
// that name no resource type.
func TestParseReference(t *testing.T) {
	tests := []struct{ ref, typ, id string }{
		{"Patient/1", "Patient", "1"},
		{"Patient/1/_history/2", "Patient", "1"},
		{"http://x/fhir/Patient/1", "Patient", "1"},
		{"https://x/fhir/Observation/a.b-c/_history/7", "Observation", "a.b-c"},
		{"Patient/", "", ""},
		{"Patient", "", ""},
		{"Nonsense/1", "", ""},
		{"Resource/1", "", ""},
		{"urn:uuid:9d9f1b3c-0000-4000-8000-000000000000", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if typ, id := parseReference(tt.ref); typ != tt.typ || id != tt.id {
			t.Errorf("parseReference(%q) = %q, %q; want %q, %q", tt.ref, typ, id, tt.typ, tt.id)
		}
	}
	root := decode(t, `{"resourceType": "Patient", "id": "p", "link": [{"other": {"reference": "#"}}]}`)
	got, err := MustCompile("Patient.link.other.resolve().id").Evaluate(root)
	if err != nil || len(got) != 1 || got[0].Value != "p" {
		t.Errorf(`"#" should resolve to the containing resource, got %v, %v`, render(got), err)
	}
}

// TestConcurrentEvaluate: the server indexes writes in parallel with the
// same compiled expressions (run with -race).
func TestConcurrentEvaluate(t *testing.T) {
	e := MustCompile("Observation.subject.where(resolve() is Patient) | (Observation.component.value as Quantity) | Observation.code")
	done := make(chan []string)
	for range 4 {
		obs := decode(t, testObservation) // one resource per writer
		go func() {
			var last []Node
			for range 200 {
				last, _ = e.Evaluate(obs)
			}
			done <- render(last)
		}()
	}
	first := <-done
	for range 3 {
		if diff := cmp.Diff(first, <-done); diff != "" {
			t.Errorf("(-first +other):\n%s", diff)
		}
	}
}
