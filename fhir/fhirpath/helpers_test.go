package fhirpath

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examplesDir holds the official FHIR R4 package (make conformance-data).
const examplesDir = "../../.cache/r4-examples/package"

// decode parses JSON as the server does, with UseNumber.
func decode(t testing.TB, data string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

func readExample(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(data))
}

// render shows a collection as "Type json" lines, compact for want tables.
func render(ns []Node) []string {
	out := []string{}
	for _, n := range ns {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(n.Value)
		out = append(out, n.Type+" "+strings.TrimSpace(b.String()))
	}
	return out
}

// requireExamples skips when the official package is absent, except in CI,
// where its absence means the build is broken.
func requireExamples(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(examplesDir, "Bundle-searchParams.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("FHIR R4 package missing under CI: %v (make conformance-data)", err)
		}
		t.Skipf("SKIPPING: FHIR R4 package not available (%v); run make conformance-data", err)
	}
}
