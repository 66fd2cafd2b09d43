// Package conformance checks Mekong against official HL7 FHIR R4 material:
// the examples of hl7.org/fhir (fetched by `make conformance-data` into the
// git-ignored .cache/) must round-trip through the API on every store.
package conformance

import (
	"os"
	"path/filepath"
	"runtime"
)

// ExamplesDir is where `make conformance-data` unpacks hl7.fhir.r4.examples;
// MEKONG_FHIR_EXAMPLES overrides it.
func ExamplesDir() string {
	if d := os.Getenv("MEKONG_FHIR_EXAMPLES"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", ".cache", "r4-examples", "package")
}
