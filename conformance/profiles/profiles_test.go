package profiles

import (
	"testing"

	"github.com/mekong-fhir/mekong/fhir/profile"
	"github.com/mekong-fhir/mekong/fhir/resource"
)

// The embedded profiles are valid R4 StructureDefinitions that fhir/profile
// enforces completely (https://hl7.org/fhir/R4/structuredefinition.html).
func TestAll(t *testing.T) {
	all := All()
	if len(all) != 5 {
		t.Fatalf("%d profiles, want 5", len(all))
	}
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	for _, sd := range all {
		if _, err := p.Parse(sd); err != nil {
			t.Error(err)
		}
		prof, err := profile.Parse(sd)
		if err != nil {
			t.Fatal(err)
		}
		if len(prof.Unenforced) > 0 {
			t.Errorf("%s: not enforced: %v", prof.URL, prof.Unenforced)
		}
	}
}
