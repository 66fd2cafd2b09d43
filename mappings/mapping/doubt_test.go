package mapping_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Issue 11: "A row is rejected only when nothing identifies the person at
// all." Two hospitals each send a person whose only identifier is a
// malformed PID, and both wrote it "12/34". Each person is kept; the
// doubted PIDs stay apart because their systems name the hospital's PID
// system they were meant for (CONTRACTS §7), so neither the Builder nor the
// server's conditional create can take one person for the other, while
// re-sending the same row finds the same person.
func TestDoubtedIdentifiersOnlyKeepThePersonApart(t *testing.T) {
	row := func(hcode, name string) *mapping.Patient {
		id := mapping.Doubtful(mapping.Identifier{System: mapping.ThaiLocal(hcode, "PID"), Value: "12/34"}, "not 1-15 letters or digits")
		return &mapping.Patient{ResourceType: "Patient", Identifier: []mapping.Identifier{id},
			Name: []mapping.HumanName{{Family: name}}, Gender: "female", BirthDate: "1990-01-01"}
	}
	a, b := row("10742", "Sok"), row("10743", "Chan")
	if !a.Identifier[0].IsDoubtful() || a.Identifier[0].MeantSystem() != mapping.ThaiLocal("10742", "PID") {
		t.Fatalf("doubted identifier %+v", a.Identifier[0])
	}
	if a.Identifier[0].Key() == b.Identifier[0].Key() {
		t.Fatalf("two hospitals' doubted PIDs share the key %s", a.Identifier[0].Key())
	}
	bld := mapping.NewBuilder()
	for i, p := range []*mapping.Patient{a, b} {
		if _, err := bld.Add(p, "PERSON.txt:"+string(rune('2'+i))); err != nil {
			t.Fatalf("row %d rejected: %v", i, err)
		}
	}
	// The same row of the first hospital again joins its person.
	if _, err := bld.Add(row("10742", "Sok"), "PERSON.txt:4"); err != nil {
		t.Fatal(err)
	}
	persons := bld.Result()
	if len(persons) != 2 {
		t.Fatalf("%d persons, want 2", len(persons))
	}
	m0, m1 := persons[0].Match(), persons[1].Match()
	if m0 == m1 || persons[0].PatientURL() == persons[1].PatientURL() {
		t.Errorf("conditional keys collide: %s", m0)
	}
	v, err := url.ParseQuery(m0)
	if err != nil {
		t.Fatal(err)
	}
	want := mapping.DoubtfulSystem + "/" + mapping.ThaiLocal("10742", "PID") + "|12/34"
	if got := v["identifier"]; len(got) != 1 || got[0] != want || v.Get("birthdate") != "1990-01-01" || v.Get("gender") != "female" {
		t.Errorf("conditional key %s, want identifier=%s with birth date and sex", m0, want)
	}
	// A row with no identifier at all is still rejected, saying so.
	if _, err := bld.Add(&mapping.Patient{ResourceType: "Patient"}, "PERSON.txt:5"); err == nil || !strings.Contains(err.Error(), "no identifier") {
		t.Errorf("a row without identifiers: %v", err)
	}
}

// A doubted value may hold what a query string gives a meaning to; the
// conditional key still parses back to the exact stored value.
func TestDoubtedMatchEscapesQuery(t *testing.T) {
	id := mapping.Doubtful(mapping.Identifier{System: mapping.IOMCaseNumber, Value: "A&B+C %1,2|3"}, "not 1-64 letters")
	p := mapping.Person{Patient: &mapping.Patient{ResourceType: "Patient", Identifier: []mapping.Identifier{id}}}
	v, err := url.ParseQuery(p.Match())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Get("identifier"), mapping.DoubtfulSystemFor(mapping.IOMCaseNumber)+`|A&B+C %1\,2\|3`; got != want {
		t.Errorf("identifier=%s, want %s", got, want)
	}
}

// A Patient stored before doubted identifiers were kept per meant system
// (bare DoubtfulSystem, meant system in the extension) gains no second copy
// of the same doubted CID when the same row is ingested again.
func TestMergePatientOldDoubtfulForm(t *testing.T) {
	ext := `"extension":[{"url":"` + mapping.ExtIdentifierDoubt + `","extension":[{"url":"system","valueUri":"` + mapping.ThaiCID + `"},{"url":"reason","valueString":"check digit"}]}]`
	stored := `{"resourceType":"Patient","identifier":[{"system":"https://mekong-fhir.github.io/fhir/sid/iom-case-number","value":"K1"},` +
		`{` + ext + `,"system":"` + mapping.DoubtfulSystem + `","value":"1101700123457"}]}`
	incoming := `{"resourceType":"Patient","identifier":[{"system":"https://mekong-fhir.github.io/fhir/sid/iom-case-number","value":"K1"},` +
		`{` + ext + `,"system":"` + mapping.DoubtfulSystemFor(mapping.ThaiCID) + `","value":"1101700123457"}]}`
	if merged, changed, err := mapping.MergePatient([]byte(stored), []byte(incoming)); err != nil || changed {
		t.Errorf("changed %v (%v): %s", changed, err, merged)
	}
	// A doubted value of another meant system is another identifier.
	other := strings.Replace(incoming, mapping.DoubtfulSystemFor(mapping.ThaiCID), mapping.DoubtfulSystemFor(mapping.ThaiPassport), 1)
	other = strings.Replace(other, `"valueUri":"`+mapping.ThaiCID, `"valueUri":"`+mapping.ThaiPassport, 1)
	if _, changed, _ := mapping.MergePatient([]byte(stored), []byte(other)); !changed {
		t.Error("a doubted passport with the CID's value was taken for the CID")
	}
}
