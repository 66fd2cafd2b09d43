package dhis2

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

func sample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The shipped example configuration loads, and the ConceptMap covers every
// option set it declares.
func TestExampleConfig(t *testing.T) {
	cfg := ExampleConfig()
	if len(cfg.Programs) != 2 || len(cfg.Attributes) != 10 {
		t.Fatalf("example config: %d programs, %d attributes", len(cfg.Programs), len(cfg.Attributes))
	}
	for _, os := range cfg.OptionSets {
		if len(cfg.Terminology.Translate(os.System, "NEGATIVE"))+len(cfg.Terminology.Translate(os.System, "NORMAL"))+
			len(cfg.Terminology.Translate(os.System, "MTB_DETECTED"))+len(cfg.Terminology.Translate(os.System, "RIF_DETECTED"))+
			len(cfg.Terminology.Translate(os.System, "SINOVAC")) == 0 {
			t.Errorf("no crosswalk for option set %s (%s)", os.OptionSet, os.System)
		}
	}
}

// Issue 6, "To FHIR": the sample payload becomes valid R4 meeting the profiles.
func TestDecodeSample(t *testing.T) {
	res, err := Decode(bytes.NewReader(sample(t)), ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects)+len(res.Unmapped)+len(res.Warnings) > 0 {
		t.Fatalf("rejects %v unmapped %v warnings %v", res.Rejects, res.Unmapped, res.Warnings)
	}
	if len(res.Persons) != 2 {
		t.Fatalf("%d persons", len(res.Persons))
	}
	p := res.Persons[0]
	if len(p.Immunizations) != 3 || len(p.Observations) != 6 || len(p.Episodes) != 2 {
		t.Errorf("first person: %d immunizations, %d observations, %d episodes", len(p.Immunizations), len(p.Observations), len(p.Episodes))
	}
	bundle := res.Bundle()
	if n := mappingtest.CheckBundle(t, bundle); n < 12 {
		t.Errorf("only %d resources declare a profile", n)
	}
	mappingtest.Golden(t, filepath.Join("testdata", "sample.bundle.json"), bundle)
}

// Issue 6, "Every mapped field survives the round trip": payload → FHIR →
// payload gives the sample back byte for byte.
func TestRoundTrip(t *testing.T) {
	in := sample(t)
	res, err := Decode(bytes.NewReader(in), ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := mapping.RecordsFromBundle(res.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	omitted, err := Encode(&out, recs, ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(omitted) > 0 {
		t.Errorf("omissions: %v", omitted)
	}
	if diff := cmp.Diff(string(in), out.String()); diff != "" {
		t.Errorf("round trip (-source +re-encoded):\n%s", diff)
	}
}

// What Thai hospitals record reaches DHIS2: CVX + the option crosswalk read
// backwards give the option code; a result with no data element is reported.
func TestEncodeForeignRecord(t *testing.T) {
	rec, err := mapping.NewRecord(
		[]byte(`{"resourceType":"Patient","identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"1"},{"system":"https://hl7.org/fhir/sid/passport-KHM","value":"N7"}],
		 "name":[{"family":"SOK","given":["DARA"]},{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"km"}],"family":"សុខ","given":["ដារ៉ា"]}],"gender":"male","birthDate":"1992-04-17"}`),
		[]byte(`{"resourceType":"Immunization","identifier":[{"system":"urn:x","value":"1"}],"status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"208"},{"system":"https://terms.sil-th.org/core/CodeSystem/cs-thcc-vaccine-code","code":"CP3"}]},
		 "patient":{"reference":"urn:uuid:p"},"occurrenceDateTime":"2022-01-20","protocolApplied":[{"doseNumberPositiveInt":3}]}`),
		[]byte(`{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"2"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"30745-4"}]},
		 "effectiveDateTime":"2024-05-02","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"707308007"}]}}`),
		[]byte(`{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"3"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"97097-0"}]},
		 "effectiveDateTime":"2024-05-02","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260415000"}]}}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, omitted, err := EncodePayload([]mapping.Record{rec}, ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(omitted) != 1 || omitted[0].Resource != "Observation urn:x|3" {
		t.Errorf("omissions %v", omitted)
	}
	te := p.TrackedEntities[0]
	if te.TrackedEntity != "" || te.OrgUnit != "LE9WVxuXbrF" || len(te.Attributes) != 7 || len(te.Enrollments) != 2 {
		t.Fatalf("tracked entity %+v", te)
	}
	vac := te.Enrollments[1].Events[0]
	if vac.DataValues[0].Value != "PFIZER" || vac.DataValues[1].Value != "3" || vac.OccurredAt != "2022-01-20T00:00:00.000" {
		t.Errorf("vaccination event %+v", vac)
	}
	if cxr := te.Enrollments[0].Events[0]; cxr.DataValues[0].Value != "NORMAL" || te.Enrollments[0].EnrolledAt != "2024-05-02T00:00:00.000" {
		t.Errorf("screening %+v", te.Enrollments[0])
	}
}

func TestLoadConfigRejects(t *testing.T) {
	base := string(exampleConfig)
	for name, edit := range map[string][2]string{
		"bad UID":                    {`"trackedEntityType": "YK0fFWqcajQ"`, `"trackedEntityType": "YK0f"`},
		"unknown role":               {`"maps": "phone"`, `"maps": "email"`},
		"no identifier":              {`"maps": "identifier"`, `"maps": "phone"`},
		"unknown option set":         {`"optionSet": "k70sJaNC9dl",`, `"optionSet": "zzzzzzzzzzz",`},
		"UID used twice":             {`"dataElement": "i08m67CEXCC"`, `"dataElement": "NySMruPzFUY"`},
		"bad timezone":               {`"timezone": "+07:00"`, `"timezone": "ICT"`},
		"observation no code":        {`"code": {`, `"kode": {`},
		"org unit name of a non-UID": {`"BC7xcTfp0MO": "Poipet`, `"BC7xc": "Poipet`},
		"empty org unit name":        {`"Poipet Referral Hospital (example)"`, `" "`},
	} {
		in := strings.ReplaceAll(base, edit[0], edit[1])
		if in == base {
			t.Fatalf("%s: edit did not apply", name)
		}
		if _, err := LoadConfig([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A payload names an organisation unit by UID only; the configuration's
// orgUnitNames give the clinic the place (the display of each reference).
func TestOrgUnitNames(t *testing.T) {
	res, err := Decode(bytes.NewReader(sample(t)), ExampleConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := string(res.Bundle())
	if !strings.Contains(b, `"display": "Poipet Referral Hospital (example)"`) {
		t.Error("the references to BC7xcTfp0MO carry no name")
	}
	cfg, err := LoadConfig([]byte(strings.Replace(string(exampleConfig), `"BC7xcTfp0MO": "Poipet Referral Hospital (example)"`, `"LE9WVxuXbrG": "Elsewhere"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	res, err = Decode(bytes.NewReader(sample(t)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.Bundle()), "Poipet") {
		t.Error("a unit the configuration does not name got a name")
	}
}

func TestTimes(t *testing.T) {
	zone := ExampleConfig().zone
	for in, want := range map[string]string{
		"2021-06-10":                    "2021-06-10",
		"2021-06-10T00:00:00.000":       "2021-06-10",
		"2021-06-10T09:30:00.000":       "2021-06-10T09:30:00+07:00",
		"2021-06-10T09:30":              "2021-06-10T09:30:00+07:00",
		"2021-06-10T02:30:00.000Z":      "2021-06-10T09:30:00+07:00",
		"2021-06-10T09:30:00.123+07:00": "2021-06-10T09:30:00+07:00",
	} {
		got, err := fhirTime(in, zone)
		if err != nil || got != want {
			t.Errorf("fhirTime(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"10/06/2021", "2021-02-30", "2021-06-10T25:00:00", ""} {
		if _, err := fhirTime(bad, zone); err == nil {
			t.Errorf("fhirTime(%q) accepted", bad)
		}
	}
}
