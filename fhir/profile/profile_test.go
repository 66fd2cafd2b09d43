package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/resource"
)

// A small profile exercising every construct Check enforces
// (https://hl7.org/fhir/R4/profiling.html#slicing, #elementdefinition).
const testProfile = `{
  "resourceType": "StructureDefinition",
  "url": "http://example.org/StructureDefinition/obs",
  "name": "Obs", "status": "draft", "kind": "resource", "abstract": false,
  "type": "Observation",
  "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
  "derivation": "constraint",
  "differential": {"element": [
    {"id": "Observation", "path": "Observation"},
    {"id": "Observation.identifier", "path": "Observation.identifier", "min": 1, "max": "2"},
    {"id": "Observation.status", "path": "Observation.status", "fixedCode": "final"},
    {"id": "Observation.code.coding", "path": "Observation.code.coding",
     "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "open"}},
    {"id": "Observation.code.coding:loinc", "path": "Observation.code.coding", "sliceName": "loinc",
     "min": 1, "max": "1", "patternCoding": {"system": "http://loinc.org"}},
    {"id": "Observation.code.coding:loinc.display", "path": "Observation.code.coding.display", "min": 1},
    {"id": "Observation.category", "path": "Observation.category", "min": 1,
     "patternCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category"}]}},
    {"id": "Observation.subject", "path": "Observation.subject", "min": 1,
     "type": [{"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Patient"]}]},
    {"id": "Observation.value[x]", "path": "Observation.value[x]", "min": 1, "type": [{"code": "CodeableConcept"}]},
    {"id": "Observation.interpretation", "path": "Observation.interpretation",
     "binding": {"strength": "required", "valueSet": "http://example.org/vs"}}
  ]}
}`

const good = `{"resourceType":"Observation","identifier":[{"system":"s","value":"1"}],"status":"final",
 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
 "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA"},{"system":"urn:src","code":"x"}]},
 "subject":{"reference":"Patient/1"},"valueCodeableConcept":{"text":"Detected"}}`

func TestCheck(t *testing.T) {
	p, err := Parse([]byte(testProfile))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Unenforced) != 1 || !strings.Contains(p.Unenforced[0], "binding") {
		t.Errorf("Unenforced = %v, want the binding", p.Unenforced)
	}
	if issues := p.Check([]byte(good)); len(issues) != 0 {
		t.Fatalf("conforming resource: %v", issues)
	}
	tests := []struct {
		name, from, to string
		want           string // substring of the diagnostics
	}{
		{"min cardinality", `"identifier":[{"system":"s","value":"1"}],`, ``, "Observation.identifier: at least 1"},
		{"max cardinality", `"identifier":[{"system":"s","value":"1"}]`, `"identifier":[{"value":"1"},{"value":"2"},{"value":"3"}]`, "at most 2"},
		{"fixed value", `"status":"final"`, `"status":"preliminary"`, `must be "final"`},
		{"required slice", `"system":"http://loinc.org"`, `"system":"http://snomed.info/sct"`, "Observation.code.coding:loinc: at least 1"},
		{"slice max", `{"system":"urn:src","code":"x"}`, `{"system":"http://loinc.org","code":"1-8","display":"x"}`, "Observation.code.coding:loinc: at most 1"},
		{"element inside a slice", `,"display":"SARS-CoV-2 RNA"`, ``, "Observation.code.coding:loinc.display: at least 1"},
		{"pattern", `"system":"http://terminology.hl7.org/CodeSystem/observation-category"`, `"system":"urn:other"`, "must match"},
		{"choice type", `"valueCodeableConcept":{"text":"Detected"}`, `"valueQuantity":{"value":1}`, "type Quantity is not allowed"},
		{"missing choice", `,"valueCodeableConcept":{"text":"Detected"}`, ``, "Observation.value[x]: at least 1"},
		{"reference target", `"Patient/1"`, `"Group/1"`, "a reference to Group is not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(good, tc.from, tc.to, 1)
			if body == good {
				t.Fatalf("replacement of %q did not apply", tc.from)
			}
			issues := p.Check([]byte(body))
			var all []string
			for _, is := range issues {
				all = append(all, is.Diagnostics)
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Fatalf("issues %q do not mention %q", all, tc.want)
			}
			for _, is := range issues {
				if len(is.Expression) == 0 {
					t.Errorf("issue without location: %+v", is)
				}
			}
		})
	}
	if p.Validate([]byte(`{"resourceType":"Patient"}`)) == nil {
		t.Error("a Patient must not pass an Observation profile")
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"resourceType":"StructureDefinition","url":"u","type":"Patient"}`,
		`{"resourceType":"StructureDefinition","url":"u","type":"Patient","differential":{"element":[{"path":"Observation.code"}]}}`,
		`not json`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) succeeded", in)
		}
	}
}

// Mekong's published profiles are valid R4 StructureDefinitions, parse here,
// and state nothing this package would skip.
func TestMekongProfiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "conformance", "profiles", "*.json"))
	if err != nil || len(files) != 5 {
		t.Fatalf("profiles: %v %v", files, err)
	}
	parser, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	var all [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(b); err != nil {
			t.Errorf("%s: not valid R4: %v", f, err)
		}
		p, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(p.Unenforced) > 0 {
			t.Errorf("%s states constraints Check skips: %v", f, p.Unenforced)
		}
		all = append(all, b)
	}
	set, err := NewSet(all...)
	if err != nil {
		t.Fatal(err)
	}
	hiv := `{"resourceType":"Observation","meta":{"profile":["https://mekong-fhir.github.io/fhir/StructureDefinition/mekong-hiv-observation"]},
	 "identifier":[{"system":"s","value":"1"}],"status":"final",
	 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
	 "code":{"coding":[{"system":"http://loinc.org","code":"56888-1"}]},"subject":{"reference":"urn:uuid:1"},
	 "effectiveDateTime":"2024-01-02","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}`
	issues := set.CheckDeclared([]byte(hiv))
	if len(issues) != 2 { // the restricted and the HIV label
		t.Fatalf("HIV result without security labels: got %v", issues)
	}
	if !strings.Contains(issues[0].Diagnostics+issues[1].Diagnostics, "security") {
		t.Errorf("issues %v do not name the security labels", issues)
	}
}
