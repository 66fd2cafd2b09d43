package fhirjson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examplesDir holds the official FHIR R4 example package, when downloaded.
const examplesDir = "../../.cache/r4-examples/package"

func TestScanOfficialExamples(t *testing.T) {
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Skipf("FHIR R4 examples not available: %v", err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") ||
			!(strings.HasPrefix(name, "Patient-") || strings.HasPrefix(name, "Observation-") || strings.HasPrefix(name, "Immunization-")) {
			continue
		}
		n++
		data, err := os.ReadFile(filepath.Join(examplesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		members, err := Scan(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		var se *Error
		syntaxErr := errors.As(err, &se) && len(se.Issues) > 0 && se.Issues[0].Syntax
		if valid := json.Valid(data); valid == syntaxErr {
			t.Errorf("%s: json.Valid = %v but Scan reports a syntax error: %v", name, valid, syntaxErr)
		}
		if err == nil {
			checkReassembly(t, data, members)
		}
	}
	if n == 0 {
		t.Skip("no Patient, Observation or Immunization examples found")
	}
	t.Logf("scanned %d examples", n)
}

func BenchmarkScan(b *testing.B) {
	for _, name := range []string{"Patient-example.json", "Observation-f001.json"} {
		data, err := os.ReadFile(filepath.Join(examplesDir, name))
		if err != nil {
			b.Skipf("FHIR R4 examples not available: %v", err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Scan(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONValid is a yardstick for BenchmarkScan: encoding/json's
// syntax check alone, on the same files.
func BenchmarkJSONValid(b *testing.B) {
	for _, name := range []string{"Patient-example.json", "Observation-f001.json"} {
		data, err := os.ReadFile(filepath.Join(examplesDir, name))
		if err != nil {
			b.Skipf("FHIR R4 examples not available: %v", err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if !json.Valid(data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
