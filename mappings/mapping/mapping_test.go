package mapping

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// RFC 9562 version-5 UUIDs: deterministic, well-formed, distinct per name.
func TestNameUUID(t *testing.T) {
	a, b := NameUUID("Patient|x|1"), NameUUID("Patient|x|2")
	if a != NameUUID("Patient|x|1") || a == b {
		t.Fatalf("%s %s", a, b)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Fatalf("%s is not a v5 UUID", a)
	}
}

// https://hl7.org/fhir/R4/search.html#escaping
func TestMatchEscapes(t *testing.T) {
	p := Person{Patient: &Patient{Identifier: []Identifier{{System: "urn:a", Value: `x|y,z$\`}, {System: "urn:b", Value: "2"}}}}
	if got, want := p.Match(), `identifier=urn:a|x\|y\,z\$\\,urn:b|2`; got != want {
		t.Fatalf("Match() = %s, want %s", got, want)
	}
}

func patient(bd, gender string, ids ...string) *Patient {
	p := &Patient{ResourceType: "Patient", BirthDate: bd, Gender: gender}
	for _, id := range ids {
		sys, val, _ := strings.Cut(id, "|")
		p.Identifier = append(p.Identifier, Identifier{System: sys, Value: val})
	}
	return p
}

func obs(key string) *Observation {
	return &Observation{ResourceType: "Observation", Identifier: []Identifier{{System: "urn:obs", Value: key}}}
}

// The matching rule inside one input: a shared identifier merges, a
// contradicting birth date or sex vetoes, a repeated source key is a duplicate.
func TestBuilder(t *testing.T) {
	b := NewBuilder()
	if _, err := b.Add(patient("1990-01-01", "male", "urn:case|1", "urn:pp|A"), "row 2", obs("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(patient("", "male", "urn:case|2", "urn:pp|A"), "row 3", obs("2")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(patient("1990-01-02", "", "urn:case|3", "urn:pp|A"), "row 4", obs("3")); err == nil || !strings.Contains(err.Error(), "birth date differs") {
		t.Fatalf("conflict not vetoed: %v", err)
	}
	if _, err := b.Add(patient("", "female", "urn:case|1"), "row 5"); err == nil || !strings.Contains(err.Error(), "sex differs") {
		t.Fatalf("conflict not vetoed: %v", err)
	}
	if _, err := b.Add(patient("", "", "urn:case|9"), "row 6", obs("1")); err == nil || !strings.Contains(err.Error(), "duplicate of row 2") {
		t.Fatalf("duplicate not caught: %v", err)
	}
	// A person bridging two earlier persons merges them.
	h, _ := b.Add(patient("", "", "urn:case|7"), "row 7")
	if _, err := b.Add(patient("", "", "urn:case|7", "urn:case|2"), "row 8"); err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(h, "row 9", obs("9")); err != nil {
		t.Fatal(err)
	}
	got := b.Result()
	if len(got) != 1 {
		t.Fatalf("%d persons, want 1", len(got))
	}
	p := got[0]
	if len(p.Patient.Identifier) != 4 || len(p.Observations) != 3 || p.Patient.BirthDate != "1990-01-01" {
		t.Errorf("merged person: %+v, %d observations", p.Patient, len(p.Observations))
	}
	if row9 := b.Result()[0].Observations[2].Identifier[0].Value; row9 != "9" {
		t.Errorf("attach to a merged person went to %s", row9)
	}
}

func TestMergePatient(t *testing.T) {
	stored := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:case","value":"1","period":{"start":"2020"}}],
		"name":[{"family":"SOK","given":["DARA"],"prefix":["Mr"]}],"address":[{"city":"Phnom Penh"}],"birthDate":"1992-04-17"}`
	incoming := `{"resourceType":"Patient","identifier":[{"system":"urn:cid","value":"9"},{"system":"urn:case","value":"1"}],
		"name":[{"family":"SOK","given":["DARA"]},{"family":"สุข"}],"gender":"male","birthDate":"1999-01-01"}`
	merged, changed, err := MergePatient([]byte(stored), []byte(incoming))
	if err != nil || !changed {
		t.Fatal(err, changed)
	}
	var m map[string]any
	_ = json.Unmarshal(merged, &m)
	ids, names := m["identifier"].([]any), m["name"].([]any)
	if len(ids) != 2 || len(names) != 2 || m["gender"] != "male" || m["birthDate"] != "1992-04-17" || m["address"] == nil || m["id"] != "p1" {
		t.Fatalf("merged: %s", merged)
	}
	if !strings.Contains(string(merged), `"period"`) || !strings.Contains(string(merged), `"prefix"`) {
		t.Errorf("stored members were lost: %s", merged)
	}
	if _, changed, _ := MergePatient(merged, []byte(incoming)); changed {
		t.Error("merging twice changed the patient again")
	}
	if _, _, err := MergePatient([]byte(stored), []byte(`{"resourceType":"Observation"}`)); err == nil {
		t.Error("merging a non-Patient must fail")
	}
}

func TestRecordsFromBundle(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[
	 {"fullUrl":"https://x.org/fhir/Patient/a","resource":{"resourceType":"Patient","id":"a"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{},"subject":{"reference":"Patient/a/_history/3"}}},
	 {"resource":{"resourceType":"Immunization","status":"completed","vaccineCode":{},"patient":{"reference":"https://x.org/fhir/Patient/a"}}},
	 {"resource":{"resourceType":"Encounter"}}]}`
	recs, err := RecordsFromBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(recs[0].Observations) != 1 || len(recs[0].Immunizations) != 1 {
		t.Fatalf("%+v", recs)
	}
	orphan := strings.Replace(bundle, "Patient/a/_history/3", "Patient/b", 1)
	if _, err := RecordsFromBundle([]byte(orphan)); err == nil || !strings.Contains(err.Error(), "Patient/b") {
		t.Fatalf("orphan reference: %v", err)
	}
}

func TestScriptLanguage(t *testing.T) {
	for in, want := range map[string]string{"សុខ": "km", "สมชาย": "th", "ສົມ": "lo", "အောင်": "my", "SOK": "en", "123": ""} {
		if got := ScriptLanguage(in); got != want {
			t.Errorf("ScriptLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeSystem(t *testing.T) {
	for in, want := range map[string]string{
		"https://hl7.org/fhir/sid/passport-THA":                    "http://hl7.org/fhir/sid/passport-THA",
		"https://terms.sil-th.org/CodeSystem/cs-thcc-vaccine-code": THCCVaccine,
		LOINC: LOINC,
	} {
		if got := NormalizeSystem(in); got != want {
			t.Errorf("NormalizeSystem(%s) = %s", in, got)
		}
	}
}
