package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// translateResult reads a $translate Parameters: result, and each match's
// equivalence and concept code.
func translateResult(t *testing.T, r resp) (bool, []string) {
	t.Helper()
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name         string `json:"name"`
			ValueBoolean *bool  `json:"valueBoolean"`
			Part         []struct {
				Name        string `json:"name"`
				ValueCode   string `json:"valueCode"`
				ValueCoding *struct {
					System, Code string
				} `json:"valueCoding"`
			} `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.ResourceType != "Parameters" {
		t.Fatalf("not Parameters (%v): %s", err, r.body)
	}
	var result bool
	var matches []string
	for _, pp := range p.Parameter {
		switch pp.Name {
		case "result":
			result = *pp.ValueBoolean
		case "match":
			m := ""
			for _, part := range pp.Part {
				switch part.Name {
				case "equivalence":
					m = part.ValueCode + m
				case "concept":
					m += " " + part.ValueCoding.System + "|" + part.ValueCoding.Code
				}
			}
			matches = append(matches, m)
		}
	}
	return result, matches
}

const (
	cvx         = "http://hl7.org/fhir/sid/cvx"
	thccVaccine = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-vaccine-code"
	vaccineMap  = "https://mekong-fhir.github.io/fhir/ConceptMap/thcc-vaccine-to-cvx"
)

// https://hl7.org/fhir/R4/conceptmap-operation-translate.html: GET and POST,
// type and instance level; a known code answers result=true with its
// matches, an unknown one result=false, a code the map declares unmatched
// result=false with that match; missing inputs are 400 naming them.
func TestConceptMapTranslate(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	ok, ms := translateResult(t, a.want(a.do("GET", "/ConceptMap/$translate?system="+q(thccVaccine)+"&code=CS2", ""), 200))
	if !ok || len(ms) != 1 || !strings.HasSuffix(ms[0], cvx+"|511") {
		t.Errorf("CS2: %v %v", ok, ms)
	}
	// Instance level, POST with a coding.
	body := `{"resourceType":"Parameters","parameter":[{"name":"coding","valueCoding":{"system":"` + thccVaccine + `","code":"CS2"}}]}`
	ok, ms = translateResult(t, a.want(a.do("POST", "/ConceptMap/thcc-vaccine-to-cvx/$translate", body), 200))
	if !ok || len(ms) != 1 || !strings.HasSuffix(ms[0], cvx+"|511") {
		t.Errorf("POST coding: %v %v", ok, ms)
	}
	both := `{"resourceType":"Parameters","parameter":[{"name":"system","valueUri":"` + thccVaccine + `"},{"name":"code","valueCode":"CS2"},` +
		`{"name":"coding","valueCoding":{"system":"` + thccVaccine + `","code":"CS2"}}]}`
	if r := a.want(a.do("POST", "/ConceptMap/$translate", both), 400); r.issue(t)["expression"].([]any)[0] != "code" {
		t.Errorf("code and coding together: %s", r.body)
	}
	// Not found: a code no map knows.
	ok, ms = translateResult(t, a.want(a.do("GET", "/ConceptMap/$translate?system="+q(thccVaccine)+"&code=ZZ9", ""), 200))
	if ok || len(ms) != 0 {
		t.Errorf("ZZ9: %v %v", ok, ms)
	}
	// Unmapped on purpose: Evusheld (LB1) is declared unmatched.
	ok, ms = translateResult(t, a.want(a.do("GET", "/ConceptMap/$translate?url="+q(vaccineMap)+"&system="+q(thccVaccine)+"&code=LB1", ""), 200))
	if ok || len(ms) != 1 || ms[0] != "unmatched" {
		t.Errorf("LB1: %v %v", ok, ms)
	}
	// reverse: which THCC codes map to CVX 511.
	ok, ms = translateResult(t, a.want(a.do("GET", "/ConceptMap/thcc-vaccine-to-cvx/$translate?system="+q(cvx)+"&code=511&reverse=true", ""), 200))
	if !ok || len(ms) < 2 {
		t.Errorf("reverse 511: %v %v", ok, ms)
	}
	for path, param := range map[string]string{
		"/ConceptMap/$translate?system=" + q(thccVaccine):                          "code",
		"/ConceptMap/$translate?code=CS2":                                          "system",
		"/ConceptMap/$translate?url=urn:nowhere&system=x&code=CS2":                 "url",
		"/ConceptMap/$translate?system=x&code=CS2&reverse=maybe":                   "reverse",
		"/ConceptMap/thcc-vaccine-to-cvx/$translate?url=urn:other&code=1&system=x": "url",
	} {
		r := a.do("GET", path, "")
		if r.status != 400 && r.status != 404 {
			t.Errorf("%s: status %d", path, r.status)
			continue
		}
		if got := r.issue(t)["expression"]; got == nil || got.([]any)[0] != param {
			t.Errorf("%s: expression %v, want %s", path, got, param)
		}
	}
	a.want(a.do("GET", "/ConceptMap/nosuchmap/$translate?system=x&code=1", ""), 404)
}

// https://hl7.org/fhir/R4/http.html#read and #search on the ConceptMaps and
// profiles served from memory; writes are 405
// (https://hl7.org/fhir/R4/http.html#general: an interaction not supported).
func TestDefinitionalResources(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	cm := a.want(a.do("GET", "/ConceptMap/thcc-vaccine-to-cvx", ""), 200).json(t)
	if cm["resourceType"] != "ConceptMap" || cm["url"] != vaccineMap {
		t.Errorf("read: %v %v", cm["resourceType"], cm["url"])
	}
	a.want(a.do("GET", "/ConceptMap/nosuchmap", ""), 404)

	all := a.want(a.do("GET", "/ConceptMap", ""), 200).json(t)
	if n := int(all["total"].(float64)); n != 8 || len(matchIDs(t, all)) != 8 {
		t.Errorf("all ConceptMaps: total %v, %d entries", all["total"], len(matchIDs(t, all)))
	}
	for query, want := range map[string][]string{
		"url=" + q(vaccineMap):                       {"thcc-vaccine-to-cvx"},
		"name=thcc":                                  {"thcc-nationality-to-iso3166", "thcc-specialpp-to-loinc-snomed", "thcc-vaccine-to-cvx"},
		"name:exact=THCCVaccineToCVX":                {"thcc-vaccine-to-cvx"},
		"source-system=" + q(cvx):                    {"cvx-to-icd11"},
		"target-system=" + q(cvx):                    {"dhis2-khm-example-options", "thcc-vaccine-to-cvx"},
		"target-system=" + q(cvx) + "&name=dhis":     {"dhis2-khm-example-options"},
		"source-code=CS2":                            {"thcc-vaccine-to-cvx"},
		"_id=cvx-to-icd11,icd10tm-lab-to-loinc":      {"cvx-to-icd11", "icd10tm-lab-to-loinc"},
		"source=" + q("http://example.org/ValueSet"): nil,
	} {
		got := matchIDs(t, a.want(a.do("GET", "/ConceptMap?"+query, ""), 200).json(t))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ConceptMap?%s = %v, want %v", query, got, want)
		}
	}
	// _count pages, and the next link leads to the rest.
	page := a.want(a.do("GET", "/ConceptMap?_count=3", ""), 200).json(t)
	seen := len(matchIDs(t, page))
	for next := link(page, "next"); next != ""; next = link(page, "next") {
		page = a.want(a.do("GET", next, ""), 200).json(t)
		seen += len(matchIDs(t, page))
	}
	if seen != 8 {
		t.Errorf("paging with _count=3 saw %d ConceptMaps", seen)
	}
	a.want(a.do("GET", "/ConceptMap?_count=x", ""), 400)
	a.want(a.do("GET", "/ConceptMap?name:below=x", ""), 400)
	if r := a.do("GET", "/ConceptMap?bogus=1", "", "Prefer", "handling=strict"); r.status != 400 {
		t.Errorf("strict unknown parameter: %d", r.status)
	}

	sd := a.want(a.do("GET", "/StructureDefinition/mekong-migrant-patient", ""), 200).json(t)
	if sd["resourceType"] != "StructureDefinition" || sd["type"] != "Patient" {
		t.Errorf("profile read: %v", sd["type"])
	}
	if got := matchIDs(t, a.want(a.do("GET", "/StructureDefinition?type=Observation", ""), 200).json(t)); len(got) != 3 {
		t.Errorf("Observation profiles: %v", got)
	}

	for _, w := range [][2]string{{"POST", "/ConceptMap"}, {"PUT", "/ConceptMap/thcc-vaccine-to-cvx"}, {"DELETE", "/ConceptMap/thcc-vaccine-to-cvx"},
		{"POST", "/StructureDefinition"}, {"PUT", "/StructureDefinition/mekong-immunization"}, {"DELETE", "/StructureDefinition/mekong-immunization"}} {
		r := a.want(a.do(w[0], w[1], `{"resourceType":"ConceptMap","id":"thcc-vaccine-to-cvx","status":"draft"}`), 405)
		if r.issue(t)["code"] != "not-supported" {
			t.Errorf("%s %s: %s", w[0], w[1], r.body)
		}
	}
	// The stored types' routes still work beside the static ones.
	a.want(a.do("GET", "/Patient", ""), 200)
}

// https://hl7.org/fhir/R4/capabilitystatement.html: the statement lists
// the read-only types with read and search-type, $translate on ConceptMap,
// $export-source on Patient and $convert/$ingest on the server.
func TestCapabilityListsMappings(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	cs := a.want(a.do("GET", "/metadata", ""), 200)
	var c struct {
		Rest []struct {
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct {
					Code string `json:"code"`
				} `json:"interaction"`
				Operation []struct {
					Name, Definition string
				} `json:"operation"`
			} `json:"resource"`
			Operation []struct {
				Name, Definition string
			} `json:"operation"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(cs.body, &c); err != nil {
		t.Fatal(err)
	}
	ops := map[string][]string{}
	interactions := map[string][]string{}
	for _, r := range c.Rest[0].Resource {
		for _, op := range r.Operation {
			ops[r.Type] = append(ops[r.Type], op.Name)
		}
		for _, i := range r.Interaction {
			interactions[r.Type] = append(interactions[r.Type], i.Code)
		}
	}
	for _, op := range c.Rest[0].Operation {
		ops["[base]"] = append(ops["[base]"], op.Name+" "+op.Definition)
	}
	check := func(what string, got []string, want ...string) {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	check("ConceptMap interactions", interactions["ConceptMap"], "read", "search-type")
	check("StructureDefinition interactions", interactions["StructureDefinition"], "read", "search-type")
	check("ConceptMap operations", ops["ConceptMap"], "translate")
	check("Patient operations", ops["Patient"], "validate", "everything", "summary", "match", "identity-link", "identity-unlink", "identity-review", "export-source")
	check("Observation operations", ops["Observation"], "validate")
	check("system operations", ops["[base]"],
		"convert https://mekong-fhir.github.io/fhir/OperationDefinition/convert",
		"ingest https://mekong-fhir.github.io/fhir/OperationDefinition/ingest")
	check("OperationDefinition interactions", interactions["OperationDefinition"], "read", "search-type")
	// Mekong's own operations' canonicals resolve to the OperationDefinitions it serves.
	for _, url := range []string{"convert", "ingest", "Patient-export-source", "Patient-summary"} {
		url = "https://mekong-fhir.github.io/fhir/OperationDefinition/" + url
		if ids := matchIDs(t, a.want(a.do("GET", "/OperationDefinition?url="+q(url), ""), 200).json(t)); len(ids) != 1 {
			t.Errorf("%s is not served: %v", url, ids)
		}
	}
	for _, r := range c.Rest[0].Resource {
		for _, op := range r.Operation {
			if strings.HasPrefix(op.Definition, "https://mekong-fhir.github.io/") {
				if n := total(t, a, "/OperationDefinition?url="+q(op.Definition)); n != 1 {
					t.Errorf("%s on %s: %s not served", op.Name, r.Type, op.Definition)
				}
			}
		}
	}
	od := a.want(a.do("GET", "/OperationDefinition/Patient-export-source", ""), 200).json(t)
	if od["code"] != "export-source" || od["instance"] != true {
		t.Errorf("export-source definition: %v", od)
	}
}
