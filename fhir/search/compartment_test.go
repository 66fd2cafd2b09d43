package search

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// https://hl7.org/fhir/R4/compartmentdefinition-patient.html: the
// transcribed table is exactly the published definition, so a typo cannot
// silently drop a type or parameter from $everything or $export.
func TestPatientCompartmentIsR4(t *testing.T) {
	const file = "../../.cache/r4-examples/package/CompartmentDefinition-patient.json"
	raw, err := os.ReadFile(file)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FHIR R4 package missing under CI: %v (make conformance-data)", err)
		}
		t.Skipf("SKIPPING: FHIR R4 package not available (%v); run make conformance-data", err)
	}
	var def struct {
		URL      string `json:"url"`
		Code     string `json:"code"`
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, r := range def.Resource {
		if len(r.Param) > 0 {
			want[r.Code] = r.Param
		}
	}
	if def.URL != PatientCompartment.URL || def.Code != PatientCompartment.Code {
		t.Errorf("url, code = %s, %s; published %s, %s", PatientCompartment.URL, PatientCompartment.Code, def.URL, def.Code)
	}
	if diff := cmp.Diff(want, PatientCompartment.Params); diff != "" {
		t.Errorf("PatientCompartment differs from the R4 definition (-want +got):\n%s", diff)
	}
}

// Members: the served types only, the focal type first, every listed
// parameter a served reference parameter; _type narrows it.
func TestCompartmentMembers(t *testing.T) {
	reg, err := NewRegistry([]string{"Observation", "Patient", "Immunization"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got := reg.Members(PatientCompartment, nil)
	want := []CompartmentMember{
		{Type: "Patient", Params: []string{"link"}},
		{Type: "Immunization", Params: []string{"patient"}},
		{Type: "Observation", Params: []string{"subject", "performer"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Members (-want +got):\n%s", diff)
	}
	got = reg.Members(PatientCompartment, []string{"Observation"})
	if diff := cmp.Diff(want[2:], got); diff != "" {
		t.Errorf("Members(Observation) (-want +got):\n%s", diff)
	}
}
