package iom

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Issue 6, "To FHIR": the sample becomes valid R4 that meets Mekong's
// profiles, with nothing rejected or left untranslated.
func TestDecodeSample(t *testing.T) {
	res, err := DecodeCSV(bytes.NewReader(read(t, "sample.csv")), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects)+len(res.Warnings) > 0 {
		t.Fatalf("rejects %v, warnings %v", res.Rejects, res.Warnings)
	}
	if len(res.Unmapped) != 0 {
		t.Errorf("unmapped: %v", res.Unmapped)
	}
	if len(res.Persons) != 3 {
		t.Fatalf("%d persons, want 3", len(res.Persons))
	}
	bundle := res.Bundle()
	if n := mappingtest.CheckBundle(t, bundle); n < 20 {
		t.Errorf("only %d resources declare a profile", n)
	}
	for _, b := range res.Bundles() {
		mappingtest.CheckBundle(t, b)
	}
	mappingtest.Golden(t, filepath.Join("testdata", "sample.bundle.json"), bundle)

	// The JSON export of the same assessments yields the same FHIR.
	jres, err := DecodeJSON(bytes.NewReader(read(t, "sample.json")), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jres.Rejects) > 0 {
		t.Fatalf("JSON rejects: %v", jres.Rejects)
	}
	if diff := cmp.Diff(string(bundle), string(jres.Bundle())); diff != "" {
		t.Errorf("CSV and JSON differ (-csv +json):\n%s", diff)
	}
}

// Issue 6, "Every mapped field survives the round trip": source → FHIR
// Bundle → Records → source gives the sample back byte for byte.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		decode func([]byte) (*mapping.Result, error)
		encode func(*bytes.Buffer, []mapping.Record) ([]mapping.Omission, error)
	}{
		{"sample.csv",
			func(b []byte) (*mapping.Result, error) { return DecodeCSV(bytes.NewReader(b), Config{}) },
			func(w *bytes.Buffer, r []mapping.Record) ([]mapping.Omission, error) {
				return EncodeCSV(w, r, Config{})
			}},
		{"sample.json",
			func(b []byte) (*mapping.Result, error) { return DecodeJSON(bytes.NewReader(b), Config{}) },
			func(w *bytes.Buffer, r []mapping.Record) ([]mapping.Omission, error) {
				return EncodeJSON(w, r, Config{})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := read(t, tc.name)
			res, err := tc.decode(in)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := mapping.RecordsFromBundle(res.Bundle())
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			omitted, err := tc.encode(&out, recs)
			if err != nil {
				t.Fatal(err)
			}
			if len(omitted) > 0 {
				t.Errorf("omissions: %v", omitted)
			}
			if diff := cmp.Diff(string(in), out.String()); diff != "" {
				t.Errorf("round trip (-source +re-encoded):\n%s", diff)
			}
		})
	}
}

// Renamed columns are read and written under the file's names.
func TestColumnNames(t *testing.T) {
	cfg := Config{Columns: map[string]string{"case_number": "CaseNo", "passport_number": "PassportNo", "vaccine1_cvx": "Vacc1"}}
	in := strings.Replace(string(read(t, "sample.csv")), "case_number,passport_number", "CaseNo,PassportNo", 1)
	in = strings.Replace(in, "vaccine1_cvx", "Vacc1", 1)
	res, err := DecodeCSV(strings.NewReader(in), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects)+len(res.Warnings) > 0 || len(res.Persons) != 3 {
		t.Fatalf("rejects %v warnings %v persons %d", res.Rejects, res.Warnings, len(res.Persons))
	}
	recs, _ := mapping.RecordsFromBundle(res.Bundle())
	var out bytes.Buffer
	if _, err := EncodeCSV(&out, recs, cfg); err != nil {
		t.Fatal(err)
	}
	if out.String() != in {
		t.Errorf("renamed columns did not round-trip:\n%s", out.String())
	}
}

// Rows from other sources land in IOM columns by LOINC and SNOMED CT code,
// and what has no IOM column is reported.
func TestEncodeForeignRecord(t *testing.T) {
	rec, err := mapping.NewRecord(
		[]byte(`{"resourceType":"Patient","identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"1234567890121"},{"system":"https://hl7.org/fhir/sid/passport-KHM","value":"N7"}],
		 "name":[{"family":"สมชาย","given":["ใจดี"]},{"family":"SOMCHAI","given":["JAIDEE"]}],"gender":"male","birthDate":"1990-01-01"}`),
		[]byte(`{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"1"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},
		 "effectiveDateTime":"2024-01-02","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260373001"}]}}`),
		[]byte(`{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"2"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24467-3"}]},
		 "effectiveDateTime":"2024-01-02","valueQuantity":{"value":350}}`),
		[]byte(`{"resourceType":"Immunization","identifier":[{"system":"urn:x","value":"3"}],"status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
		 "patient":{"reference":"Patient/1"},"occurrenceDateTime":"2021-05-01","protocolApplied":[{"doseNumberPositiveInt":1}]}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	omitted, err := EncodeCSV(&out, []mapping.Record{rec}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want header and one row:\n%s", out.String())
	}
	want := ",N7,KHM,SOMCHAI,JAIDEE,สมชาย,ใจดี,M,1990-01-01,,2024-01-02,"
	if !strings.HasPrefix(lines[1], want) || !strings.Contains(lines[1], ",pcr,2024-01-02,detected,") || !strings.Contains(lines[1], ",511,2021-05-01,1,") {
		t.Errorf("row = %s", lines[1])
	}
	var reasons []string
	for _, o := range omitted {
		reasons = append(reasons, o.Resource+": "+o.Reason)
	}
	joined := strings.Join(reasons, "\n")
	if !strings.Contains(joined, "urn:x|2: no IOM column") || !strings.Contains(joined, "no IOM case number") {
		t.Errorf("omissions:\n%s", joined)
	}
}
