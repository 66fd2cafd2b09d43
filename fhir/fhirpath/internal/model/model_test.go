package model

import (
	"slices"
	"testing"
)

// TestModel spot-checks the generated table against the R4 definitions
// (http://hl7.org/fhir/R4/observation.html, datatypes.html).
func TestModel(t *testing.T) {
	obs := Lookup("Observation")
	if obs == nil || !obs.Modelled || obs.Kind != Resource || obs.Base != "DomainResource" {
		t.Fatalf("Observation = %+v", obs)
	}
	v := obs.Element("value")
	if v == nil || !v.Choice || v.Types[0] != "Quantity" || v.Keys[0] != "valueQuantity" || !slices.Contains(v.Keys, "valueDateTime") {
		t.Errorf("Observation.value = %+v", v)
	}
	if c := obs.Element("component"); c == nil || c.Types[0] != "Observation.component" {
		t.Errorf("Observation.component = %+v", c)
	}
	if rr := Lookup("Observation.component").Element("referenceRange"); rr == nil || rr.Types[0] != "Observation.referenceRange" {
		t.Errorf("Observation.component.referenceRange (contentReference) = %+v", rr)
	}
	if e := Lookup("Extension").Element("url"); e == nil || e.Types[0] != "uri" {
		t.Errorf("Extension.url = %+v", e)
	}
	if Lookup("Practitioner").Modelled || Lookup("Practitioner").Kind != Resource {
		t.Errorf("Practitioner should be known by name only")
	}
	// Cardinality (max "*"), which a patch needs to add the first item of a list.
	for _, tt := range []struct {
		typ, name string
		repeats   bool
	}{
		{"Patient", "identifier", true},
		{"Patient", "birthDate", false},
		{"HumanName", "given", true},
		{"Observation", "value", false},
		{"Observation.component", "referenceRange", true},
		{"Patient.contact", "telecom", true},
		{"Patient.contact", "name", false},
	} {
		if e := Lookup(tt.typ).Element(tt.name); e == nil || e.Repeats != tt.repeats {
			t.Errorf("%s.%s = %+v, want Repeats %v", tt.typ, tt.name, e, tt.repeats)
		}
	}
	if Lookup("value[x]") != nil || Lookup("Observation").Element("valueQuantity") != nil {
		t.Errorf("JSON names leaked into the model")
	}
	for _, tt := range []struct {
		typ, base string
		want      bool
	}{
		{"Age", "Quantity", true},
		{"Quantity", "Age", false},
		{"Observation", "Resource", true},
		{"Observation", "DomainResource", true},
		{"Observation", "Patient", false},
		{"Observation.component", "BackboneElement", true},
		{"Observation.component", "Element", true},
		{"code", "string", true},
		{"string", "code", false},
		{"Nonsense", "Element", false},
	} {
		if got := IsA(tt.typ, tt.base); got != tt.want {
			t.Errorf("IsA(%s, %s) = %v", tt.typ, tt.base, got)
		}
	}
	if !IsResource("Practitioner") || IsResource("Quantity") || IsResource("Nonsense") {
		t.Errorf("IsResource wrong")
	}
}
