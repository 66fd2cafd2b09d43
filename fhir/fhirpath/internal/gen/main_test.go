package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestGeneratedModelUpToDate: the checked-in model is exactly what the
// generator makes from the official package (STYLE.md: generated code is
// reproducible), so nobody edits it by hand or forgets to regenerate.
func TestGeneratedModelUpToDate(t *testing.T) {
	const dir = "../../../../.cache/r4-examples/package"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FHIR R4 package missing under CI: %v (make conformance-data)", err)
		}
		t.Skipf("SKIPPING: FHIR R4 package not available (%v); run make conformance-data", err)
	}
	got, err := generate(dir, strings.Split(defaultResources, ","))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../model/model_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("model_gen.go is stale: run go generate ./fhir/fhirpath/...")
	}
}
