package fhirpath

import (
	"testing"
)

// FuzzCompile: Compile takes expressions from SearchParameter resources,
// outside input, so it must reject, never panic; whatever compiles must
// evaluate without panicking too.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"Patient.name.given",
		"(Observation.value as Quantity) | (Observation.component.value as SampledData)",
		"Observation.subject.where(resolve() is Patient)",
		"Patient.deceased.exists() and Patient.deceased != false",
		"Patient.telecom.where(system='email')",
		"value.as(DateTime) | value.as(Period)",
		"extension('http://x').value.ofType(FHIR.Coding)",
		"Patient.`name`.where($this.given.first() = 'a\\u00e9' or {}).exists()",
		"%resource.id // comment",
		"/* c */ 1.5 = 1",
		"@2020-01-01T10:00Z", "4 'mg'", "a[0]", "'\\",
	} {
		f.Add(s)
	}
	patient := decode(f, testPatient)
	observation := decode(f, testObservation)
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Compile(%q) returned %T, want *Error", expr, err)
			}
			return
		}
		if e.String() != expr {
			t.Fatalf("String() = %q, want %q", e.String(), expr)
		}
		_, _ = e.Evaluate(patient)
		_, _ = e.Evaluate(observation)
	})
}
