package match

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestParsePatient reads every member the matcher uses, including a
// doubtful identifier as CONTRACTS.md §7 writes it.
func TestParsePatient(t *testing.T) {
	body := `{"resourceType":"Patient","id":"p1",
	  "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality","extension":[{"url":"code","valueCodeableConcept":{"coding":[{"system":"https://terms.sil-th.org/core/CodeSystem/cs-thcc-nationality","code":"264"}]}}]}],
	  "identifier":[
	    {"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"},
	    {"extension":[{"url":"https://mekong-fhir.github.io/fhir/StructureDefinition/identifier-doubt","extension":[{"url":"system","valueUri":"https://terms.sil-th.org/id/th-cid"},{"url":"reason","valueString":"check digit"}]}],
	     "system":"https://mekong-fhir.github.io/fhir/sid/doubtful-identifier","value":"1101700123457"},
	    {"system":"","value":"no system"}],
	  "name":[{"family":"Sok","given":["Dara"]},{"use":"old","family":"Chan"},{"text":"សុខ ដារ៉ា"}],
	  "gender":"male","birthDate":"1992-04-17"}`
	got, err := ParsePatient("", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Record{ID: "p1", Names: []Name{{Family: "Sok", Given: []string{"Dara"}}, {Text: "សុខ ដារ៉ា"}},
		BirthDate: "1992-04-17", Gender: "male", Nationality: "KHM",
		Identifiers: []Identifier{{System: "http://hl7.org/fhir/sid/passport-KHM", Value: "N0123456"},
			{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457", Doubtful: true}}}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Record{})); d != "" {
		t.Errorf("ParsePatient (-want +got):\n%s", d)
	}
}

func TestParsePatientErrors(t *testing.T) {
	for _, body := range []string{`{`, `[]`, `{"resourceType":"Observation"}`, `{"name":[]}`} {
		if _, err := ParsePatient("x", []byte(body)); err == nil {
			t.Errorf("ParsePatient(%s): no error", body)
		}
	}
	// Broken members cost only themselves.
	r, err := ParsePatient("x", []byte(`{"resourceType":"Patient","name":"Sok","birthDate":"1992-13-01","gender":"m","identifier":[{"system":"s","value":"1"}]}`))
	if err != nil || len(r.Names) != 0 || r.BirthDate != "" || r.Gender != "" || len(r.Identifiers) != 1 {
		t.Errorf("got %+v, %v", r, err)
	}
}

// TestParsePatientBounds: what a Record takes from a Patient is bounded
// whatever the Patient holds.
func TestParsePatientBounds(t *testing.T) {
	var names, ids []string
	for i := 0; i < 100; i++ {
		names = append(names, `{"family":"`+strings.Repeat("ស", 500)+`","given":["a","b","c","d","e","f","g","h"]}`)
		ids = append(ids, `{"system":"s","value":"v`+strings.Repeat("1", i)+`"}`)
	}
	body := `{"resourceType":"Patient","name":[` + strings.Join(names, ",") + `],"identifier":[` + strings.Join(ids, ",") + `]}`
	r, err := ParsePatient("x", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Names) != maxNames || len(r.Identifiers) != maxIdentifiers || len(r.Names[0].Given) != maxGiven || len(r.Names[0].Family) > maxField {
		t.Errorf("names %d, identifiers %d, given %d, family %d bytes", len(r.Names), len(r.Identifiers), len(r.Names[0].Given), len(r.Names[0].Family))
	}
}

// TestMappingSamples: the Patients the real mappings write (their golden
// Bundles) read back with names, dates, gender, nationality and identifiers.
func TestMappingSamples(t *testing.T) {
	for _, f := range []string{"th43/testdata/sample.bundle.json", "iom/testdata/sample.bundle.json", "dhis2/testdata/sample.bundle.json"} {
		b, err := os.ReadFile(filepath.Join("../../mappings", f))
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range bundle.Entry {
			r, err := ParsePatient("", e.Resource)
			if err != nil {
				continue // not a Patient
			}
			n++
			if len(r.Names) == 0 || r.BirthDate == "" || r.Gender == "" || len(r.Identifiers) == 0 || r.Nationality == "" {
				t.Errorf("%s: incomplete record %+v", f, r)
			}
		}
		if n == 0 {
			t.Errorf("%s: no Patient", f)
		}
	}
}

// FuzzParsePatient: Patient JSON is outside input.
func FuzzParsePatient(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","name":[{"family":"សុខ","given":["ដារ៉ា"]}],"birthDate":"1992-04","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N1"}]}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"text":"สุข ดารา"}],"birthDate":"1992","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality","extension":[{"url":"code","valueCodeableConcept":{"coding":[{"system":"urn:iso:std:iso:3166","code":"KHM"}]}}]}]}`))
	f.Add([]byte(`{"resourceType":"Patient","identifier":[{"extension":[{"url":"https://mekong-fhir.github.io/fhir/StructureDefinition/identifier-doubt"}],"system":"https://mekong-fhir.github.io/fhir/sid/doubtful-identifier","value":"1"}]}`))
	m, err := New(DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	probe := Record{Names: []Name{{Family: "Sok", Given: []string{"Dara"}}}, BirthDate: "1992-04-17", Gender: "male"}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParsePatient("x", body)
		if err != nil {
			return
		}
		if len(r.Names) > maxNames || len(r.Identifiers) > maxIdentifiers {
			t.Fatalf("unbounded record %+v", r)
		}
		if r.BirthDate != "" && !validDate(r.BirthDate) {
			t.Fatalf("birth date %q", r.BirthDate)
		}
		keys := m.Keys(r)
		if len(keys) > m.cfg.Blocking.MaxKeys {
			t.Fatalf("%d keys", len(keys))
		}
		for _, k := range append(keys, m.ProbeKeys(r)...) {
			if len(k) > maxKeyLen {
				t.Fatalf("key of %d bytes", len(k))
			}
		}
		res := m.Compare(r, probe)
		if res.Score < 0 || res.Score > 1 {
			t.Fatalf("score %v", res.Score)
		}
	})
}

// CONTRACTS §7: a doubtful identifier is kept under the doubtful-identifier
// system followed by "/" and the meant system; it is doubtful even if its
// identifier-doubt extension was lost, and gives no blocking key.
func TestParsePatientDoubtfulSystemPerMeantSystem(t *testing.T) {
	r, err := ParsePatient("x", []byte(`{"resourceType":"Patient","identifier":[`+
		`{"system":"`+DoubtfulSystem+`/https://terms.sil-th.org/hcode/5/10742/PID","value":"12/34"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Identifiers) != 1 || !r.Identifiers[0].Doubtful {
		t.Fatalf("identifiers %+v, want one doubtful", r.Identifiers)
	}
	m, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range m.Keys(r) {
		if strings.Contains(k, "12/34") {
			t.Errorf("blocking key %q from a doubtful identifier", k)
		}
	}
}
