package server_test

import (
	"net/url"
	"sort"
	"strings"
	"testing"
)

// Derived parameters are answered from the rows of the parameters they
// repeat (fhir/search/derived.go), in every place a search names them:
// values, :missing, :identifier, includes, reverse includes, chains, _has.
// Each case's answer is what R4 defines for the parameter
// (https://hl7.org/fhir/R4/observation.html#search: patient is
// subject.where(resolve() is Patient); combo-* are value | component.value).
func TestDerivedParametersSearch(t *testing.T) {
	obs := func(id, subject, rest string) string {
		s := `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"Blood pressure"}`
		if subject != "" {
			s += `,"subject":` + subject
		}
		return s + rest + `}`
	}
	fixtures := []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Sok"}]}`,
		obs("o-rel", `{"reference":"Patient/p1"}`, `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}`),
		obs("o-ver", `{"reference":"Patient/p1/_history/1"}`, `,"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]`),
		obs("o-group", `{"reference":"Group/p1"}`, `,"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}`),
		obs("o-abs", `{"reference":"http://other.example/fhir/Patient/9"}`, `,"dataAbsentReason":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/data-absent-reason","code":"unknown"}]}`),
		obs("o-ident", `{"type":"Patient","identifier":{"system":"urn:oid:1.2","value":"N1"}}`, `,"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}]`),
		obs("o-none", "", ""),
	}
	cases := []struct{ query, want string }{
		{"Observation?patient=Patient/p1", "o-rel,o-ver"},
		{"Observation?patient=p1", "o-rel,o-ver"},
		{"Observation?patient:Patient=p1", "o-rel,o-ver"},
		{"Observation?subject=p1", "o-group,o-rel,o-ver"},
		{"Observation?patient=Group/p1", ""},
		{"Observation?patient=http://other.example/fhir/Patient/9", "o-abs"},
		{"Observation?subject=http://other.example/fhir/Patient/9", "o-abs"},
		{"Observation?patient:identifier=urn:oid:1.2|N1", "o-ident"},
		{"Observation?patient:missing=false", "o-abs,o-rel,o-ver"},
		{"Observation?patient:missing=true", "o-group,o-ident,o-none"},
		{"Observation?patient.family=sok", "o-rel,o-ver"},
		{"Patient?_has:Observation:patient:code=85354-9", "p1"},
		{"Observation?combo-code=85354-9", "o-abs,o-group,o-ident,o-none,o-rel,o-ver"},
		{"Observation?combo-code=http://loinc.org|8480-6", "o-ver"},
		{"Observation?combo-code=8462-4,8480-6", "o-ident,o-ver"},
		{"Observation?combo-code:text=blood", "o-abs,o-group,o-ident,o-none,o-rel,o-ver"},
		{"Observation?combo-code:not=8480-6", "o-abs,o-group,o-ident,o-none,o-rel"},
		{"Observation?combo-value-concept=260385009", "o-ident,o-rel"},
		{"Observation?combo-value-quantity=120", "o-group,o-ver"},
		{"Observation?combo-value-quantity:missing=true", "o-abs,o-ident,o-none,o-rel"},
		{"Observation?combo-code-value-quantity=8480-6$120", "o-ver"},
		{"Observation?combo-code-value-quantity=85354-9$120", "o-group"},
		{"Observation?combo-code-value-concept=8462-4$260385009", "o-ident"},
		{"Observation?combo-data-absent-reason=unknown", "o-abs"},
		{"Observation?combo-code=8480-6&patient=p1", "o-ver"},
	}
	eachStore(t, func(t *testing.T, a *api) {
		for _, f := range fixtures {
			m := resp{body: []byte(f)}.json(t)
			a.want(a.do("PUT", "/"+m["resourceType"].(string)+"/"+m["id"].(string), f), 201)
		}
		for _, c := range cases {
			path, query, _ := strings.Cut(c.query, "?")
			values, err := url.ParseQuery(query)
			if err != nil {
				t.Fatal(err)
			}
			r := a.do("GET", "/"+path+"?"+values.Encode(), "")
			if r.status != 200 {
				t.Errorf("%s: status %d: %s", c.query, r.status, r.body)
				continue
			}
			got := matchIDs(t, r.json(t))
			sort.Strings(got)
			if strings.Join(got, ",") != c.want {
				t.Errorf("%s: got %v, want %s", c.query, got, c.want)
			}
		}
		// _include follows the derived reference to Patients only; _revinclude finds it.
		inc := a.want(a.do("GET", "/Observation?_id=o-rel,o-group&_include=Observation:patient", ""), 200).json(t)
		if got := idsWithMode(t, inc, "include"); got != "p1" {
			t.Errorf("_include=Observation:patient: %s", got)
		}
		rev := a.want(a.do("GET", "/Patient?_id=p1&_revinclude=Observation:patient", ""), 200).json(t)
		if got := idsWithMode(t, rev, "include"); got != "o-rel,o-ver" {
			t.Errorf("_revinclude=Observation:patient: %s", got)
		}
	})
}

func idsWithMode(t *testing.T, b map[string]any, mode string) string {
	t.Helper()
	var ids []string
	for _, e := range entries(t, b) {
		if s, _ := e["search"].(map[string]any); s["mode"] == mode {
			ids = append(ids, e["resource"].(map[string]any)["id"].(string))
		}
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}
