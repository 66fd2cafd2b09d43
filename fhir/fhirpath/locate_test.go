package fhirpath

import (
	"strings"
	"testing"
)

// TestLocate: FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html)
// changes the elements a path selects, so each selected element must come
// with its place in the JSON: the object holding it, the member (typed for a
// choice) and the array index.
func TestLocate(t *testing.T) {
	patient := decode(t, testPatient)
	names := patient["name"].([]any)
	tests := []struct {
		expr   string
		parent map[string]any
		keys   []string
		index  []int
	}{
		{"Patient", nil, []string{""}, []int{-1}},
		{"Patient.birthDate", patient, []string{"birthDate"}, []int{-1}},
		{"Patient.deceased", patient, []string{"deceasedDateTime"}, []int{-1}},
		{"Patient.name", patient, []string{"name", "name"}, []int{0, 1}},
		{"Patient.name.where(use = 'usual')", patient, []string{"name"}, []int{1}},
		{"Patient.name[0].given[1]", names[0].(map[string]any), []string{"given"}, []int{1}},
		{"Patient.name.given.where($this = 'Jim')", names[1].(map[string]any), []string{"given"}, []int{0}},
		{"Patient.extension('http://e/age').value", patient["extension"].([]any)[1].(map[string]any), []string{"valueAge"}, []int{-1}},
		{"Patient.photo", nil, nil, nil},
	}
	for _, tt := range tests {
		got, err := MustCompile(tt.expr).Locate(patient)
		if err != nil {
			t.Errorf("Locate(%s): %v", tt.expr, err)
			continue
		}
		if len(got) != len(tt.keys) {
			t.Errorf("Locate(%s) = %d matches, want %d", tt.expr, len(got), len(tt.keys))
			continue
		}
		for i, m := range got {
			if !sameMap(m.Parent, tt.parent) || m.Key != tt.keys[i] || m.Index != tt.index[i] {
				t.Errorf("Locate(%s)[%d] = %s[%d], want %s[%d]", tt.expr, i, m.Key, m.Index, tt.keys[i], tt.index[i])
			}
			if tt.parent != nil {
				v := m.Parent[m.Key]
				if m.Index >= 0 {
					v = v.([]any)[m.Index]
				}
				if render([]Node{{Type: m.Type, Value: v}})[0] != render([]Node{m.Node})[0] {
					t.Errorf("Locate(%s)[%d] points at %v, not at the node %v", tt.expr, i, v, m.Value)
				}
			}
		}
	}
	// Values computed by the expression are not elements of the resource.
	for _, expr := range []string{"Patient.name.exists()", "'x'", "Patient.generalPractitioner[0].resolve()"} {
		if _, err := MustCompile(expr).Locate(patient); err == nil || !strings.Contains(err.Error(), "not an element of the resource") {
			t.Errorf("Locate(%s) = %v, want an error", expr, err)
		}
	}
}

// TestElement: the model tells a patch the JSON shape of an element.
func TestElement(t *testing.T) {
	if e, ok := Element("Patient", "identifier"); !ok || !e.Repeats || e.Types[0] != "Identifier" {
		t.Errorf("Patient.identifier = %+v, %v", e, ok)
	}
	if e, ok := Element("Observation", "value"); !ok || e.Repeats || !e.Choice || e.Keys[0] != "valueQuantity" {
		t.Errorf("Observation.value = %+v, %v", e, ok)
	}
	if e, ok := Element("Patient.contact", "telecom"); !ok || !e.Repeats {
		t.Errorf("Patient.contact.telecom = %+v, %v", e, ok)
	}
	if _, ok := Element("Patient", "nonsense"); ok {
		t.Error("Patient.nonsense found")
	}
	if !IsPrimitive("date") || IsPrimitive("HumanName") || IsPrimitive("Nonsense") {
		t.Error("IsPrimitive wrong")
	}
}

func sameMap(a, b map[string]any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	// Maps are references: the same map sees the other's writes.
	a["\x00probe"] = true
	_, same := b["\x00probe"]
	delete(a, "\x00probe")
	return same
}
