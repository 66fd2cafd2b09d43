package server_test

import (
	"net/url"
	"sort"
	"strings"
	"testing"
)

// matchIDs returns the ids of a searchset's match entries, in order.
func matchIDs(t *testing.T, b map[string]any) []string {
	t.Helper()
	var ids []string
	for _, e := range entries(t, b) {
		if s, _ := e["search"].(map[string]any); s["mode"] == "match" {
			ids = append(ids, e["resource"].(map[string]any)["id"].(string))
		}
	}
	return ids
}

// The search table: every parameter type, prefix and modifier, against one
// fixture set, on both stores (so both answer every search identically).
// https://hl7.org/fhir/R4/search.html
var searchCases = []struct {
	query string
	want  string // sorted ids, comma-separated; "" for none
}{
	// string (#string): prefix, case- and accent-insensitive; :exact; :contains; Thai and Khmer.
	{"Patient?family=sok", "p1,p4"},
	{"Patient?family=SOK", "p1,p4"},
	{"Patient?family:exact=Sok", "p1"},
	{"Patient?family:exact=sok", ""},
	{"Patient?family:contains=okh", "p4"},
	{"Patient?family=muller", "p2"},
	{"Patient?family=MÜLLER", "p2"},
	{"Patient?given=elodie", "p2"},
	{"Patient?name=ใจดี", "p3"},
	{"Patient?name=ใจ", "p3"},
	{"Patient?name=สมชาย", "p3"},
	{"Patient?name:contains=ดี", "p3"},
	{"Patient?name=សុខ", "p1"},
	{"Patient?name=somchai", "p3"},
	{"Patient?family=sok,jaidee", "p1,p3,p4"},
	{"Patient?family=sok&given=bopha", "p4"},
	{"Patient?address-city=poipet", "p1"},
	{"Patient?address=kh", "p1"},
	// token (#token): code, system|code, |code, system|, :not, :of-type, :text, case-sensitive.
	{"Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", "p1"},
	{"Patient?identifier=N0123456", "p1"},
	{"Patient?identifier=n0123456", ""},
	{"Patient?identifier=|N0123456", ""},
	{"Patient?identifier=https://terms.sil-th.org/id/th-cid|", "p1,p3"},
	{"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|PPN|N0123456", "p1"},
	{"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|PPN|AA111", ""},
	{"Patient?identifier:not=https://terms.sil-th.org/id/th-cid|3100500012345", "p1,p2,p4"},
	{"Patient?gender=male", "p1,p3"},
	{"Patient?gender=http://hl7.org/fhir/administrative-gender|female", "p2,p4"},
	{"Patient?gender:not=male", "p2,p4"},
	{"Patient?active=true", "p1"},
	{"Patient?phone=%2B85512345678", "p1"},
	{"Patient?_id=p1,p3", "p1,p3"},
	{"Patient?_tag=urn:tag|mig", "p1"},
	{"Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", "p2"},
	{"Patient?_security:not=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", "p1,p3,p4"},
	// uri (#uri): exact, :below, :above, :missing.
	{"Patient?_profile=http://mekong.example.org/fhir/StructureDefinition/migrant-patient", "p1"},
	{"Patient?_profile=http://mekong.example.org/fhir/StructureDefinition/migrant", ""},
	{"Patient?_profile:below=http://mekong.example.org/fhir/", "p1"},
	{"Patient?_profile:above=http://mekong.example.org/fhir/StructureDefinition/migrant-patient/v2", "p1"},
	{"Patient?_profile:missing=false", "p1"},
	{"Patient?_source=https://iom.example.org/mha%23poipet", "p1"},
	{"Observation?code=94500-6", "o1,o6"},
	{"Observation?code=http://loinc.org|94500-6", "o1,o6"},
	{"Observation?code=http://snomed.info/sct|94500-6", ""},
	{"Observation?code:text=sars-cov", "o1,o6"},
	{"Observation?code:text=xpert", "o3"},
	{"Observation?status=preliminary", "o3"},
	{"Observation?status:not=final", "o3"},
	{"Observation?category=laboratory", "o1,o2"},
	{"Observation?value-concept=http://snomed.info/sct|260385009", "o1"},
	{"Immunization?vaccine-code=http://hl7.org/fhir/sid/cvx|511", "i1"},
	{"Immunization?lot-number=CV-2107A", "i1"},
	{"Immunization?status=completed", "i1,i2"},
	// :missing (#missing) on several types.
	{"Observation?performer:missing=false", "o6"},
	{"Observation?value-quantity:missing=false", "o2,o5"},
	{"Patient?address-city:missing=true", "p2,p3,p4"},
	{"Patient?birthdate:missing=true", ""},
	{"Observation?code:missing=false", "o1,o2,o3,o4,o5,o6"},
	// date (#date): every prefix, partial dates, Period, and the +07:00 policy.
	{"Patient?birthdate=1990", "p1"},
	{"Patient?birthdate=1990-04", "p1"},
	{"Patient?birthdate=1990-04-01", "p1"},
	{"Patient?birthdate=1985", "p2"},
	{"Patient?birthdate=1985-06", ""},
	{"Patient?birthdate=ge1985-06", "p1,p2,p4"},
	{"Patient?birthdate=gt1990-04-01", "p4"},
	{"Patient?birthdate=lt1980", "p3"},
	{"Patient?birthdate=le1985", "p2,p3"},
	{"Patient?birthdate=ne1990-04-01", "p2,p3,p4"},
	{"Patient?birthdate=sa1989-12-31", "p1,p4"},
	{"Patient?birthdate=eb1985-01-01", "p3"},
	{"Patient?birthdate=ge1980&birthdate=lt1995", "p1,p2"},
	{"Observation?date=2026-03-14", "o1"},
	{"Observation?date=2026-03-15", "o5"}, // 18:00Z is 01:00 the next day in +07:00
	{"Observation?date=2026-03-14T18:00:00Z", "o5"},
	{"Observation?date=2026-03", "o1,o5,o6"},
	{"Observation?date=ge2026-03-15", "o5,o6"},
	{"Observation?date=lt2024-01-03", "o3"},
	{"Observation?date=2024-01-03", ""},
	{"Observation?date=2024-01", "o3"},
	{"Observation?date=ap2024-01-03", "o3"},
	{"Observation?date=2025-06-01", "o2"},
	{"Immunization?date=2021", "i1,i2"},
	{"Patient?_lastUpdated=gt2000-01-01", "p1,p2,p3,p4"},
	{"Patient?_lastUpdated=lt2000-01-01", ""},
	// quantity (#quantity) and implicit precision.
	{"Observation?value-quantity=40", "o2"},
	{"Observation?value-quantity=62.5", "o5"},
	{"Observation?value-quantity=62", ""},
	{"Observation?value-quantity=ge60|http://unitsofmeasure.org|kg", "o5"},
	{"Observation?value-quantity=lt100||kg", "o5"},
	{"Observation?value-quantity=lt100", "o2,o5"},
	{"Observation?value-quantity=gt50", "o5"},
	{"Observation?value-quantity=ap60", "o5"},
	{"Observation?value-quantity=le40", "o2"},
	{"Observation?value-quantity=ne40", "o5"},
	{"Observation?value-quantity=sa50", "o5"},
	{"Observation?value-quantity=eb50", "o2"},
	// reference (#reference): Type/id, id, :Type, absolute URL to this server.
	{"Observation?subject=Patient/p1", "o1,o2,o5"},
	{"Observation?subject=p1", "o1,o2,o5"},
	{"Observation?subject:Patient=p1", "o1,o2,o5"},
	{"Observation?subject={base}/Patient/p1", "o1,o2,o5"},
	{"Observation?patient=p1", "o1,o2,o5"},
	{"Observation?subject=Patient/p1,Patient/p3", "o1,o2,o3,o5"},
	{"Observation?performer=Organization/th-hosp-10669", "o6"},
	{"Observation?performer:identifier=https://bps.moph.go.th/hcode|10669", "o6"},
	{"Observation?performer:identifier=10669", "o6"},
	{"Immunization?patient=Patient/p1", "i1,i2"},
	// chained and reverse chained (#chaining, #has).
	{"Observation?subject:Patient.identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", "o1,o2,o5"},
	{"Observation?patient.name=ใจดี", "o3"},
	{"Observation?patient.family=sokha", "o6"},
	{"Observation?subject:Patient.birthdate=lt1980", "o3"},
	{"Immunization?patient.identifier=https://terms.sil-th.org/id/th-cid|1103700012345", "i1,i2"},
	{"Patient?_has:Observation:subject:code=94500-6", "p1,p4"},
	{"Patient?_has:Observation:patient:code=http://loinc.org|20447-9", "p1"},
	{"Patient?_has:Immunization:patient:vaccine-code=208", "p3"},
	// composite (#composite): the two components must come from the same tuple.
	{"Observation?code-value-concept=94500-6$260373001", "o6"},
	{"Observation?code-value-concept=94500-6$260385009", "o1"},
	{"Observation?code-value-quantity=http://loinc.org|29463-7$gt60", "o5"},
	{"Observation?code-value-quantity=http://loinc.org|29463-7$gt70", ""},
	{"Observation?component-code-value-quantity=http://loinc.org|8480-6$120", "o4"},
	{"Observation?component-code-value-quantity=http://loinc.org|8480-6$80", ""},
	{"Observation?combo-code-value-quantity=8462-4$80", "o4"},
	{"Observation?combo-code-value-quantity=20447-9$40", "o2"},
	// OR across values, AND across parameters.
	{"Observation?code=94500-6,29463-7&subject=p1", "o1,o5"},
}

func TestSearchTable(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		loadFixtures(t, a)
		for _, tc := range searchCases {
			path, query, _ := strings.Cut(tc.query, "?")
			query = strings.ReplaceAll(query, "{base}", url.QueryEscape(a.base))
			values, err := url.ParseQuery(query)
			if err != nil {
				t.Fatal(err)
			}
			r := a.do("GET", "/"+path+"?"+values.Encode(), "")
			if r.status != 200 {
				t.Errorf("%s: status %d: %s", tc.query, r.status, r.body)
				continue
			}
			got := matchIDs(t, r.json(t))
			sort.Strings(got)
			if strings.Join(got, ",") != tc.want {
				t.Errorf("%s: got %v, want %s", tc.query, got, tc.want)
			}
		}
	})
}
