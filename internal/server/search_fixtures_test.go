package server_test

import "testing"

// searchFixtures are the resources the search tables run against: Latin,
// Thai and Khmer names, partial dates, a timezone edge, quantities,
// composites, references, identifiers with types and meta tags.
var searchFixtures = []string{
	`{"resourceType":"Patient","id":"p1","meta":{"tag":[{"system":"urn:tag","code":"mig"}],
	  "profile":["http://mekong.example.org/fhir/StructureDefinition/migrant-patient"],"source":"https://iom.example.org/mha#poipet"},"active":true,
	  "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"PPN"}]},"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"},
	                {"system":"https://terms.sil-th.org/id/th-cid","value":"1103700012345"}],
	  "name":[{"use":"official","family":"Sok","given":["Dara"]},{"family":"សុខ","given":["ដារា"],"text":"សុខ ដារា"}],
	  "telecom":[{"system":"phone","value":"+85512345678"}],
	  "gender":"male","birthDate":"1990-04-01","address":[{"city":"Poipet","country":"KH"}]}`,
	`{"resourceType":"Patient","id":"p2","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]},"identifier":[{"system":"http://hl7.org/fhir/sid/passport-THA","value":"AA111"}],
	  "name":[{"family":"Müller","given":["Élodie"]}],"gender":"female","birthDate":"1985"}`,
	`{"resourceType":"Patient","id":"p3","identifier":[{"system":"https://terms.sil-th.org/id/th-cid","value":"3100500012345"}],
	  "name":[{"family":"ใจดี","given":["สมชาย"]},{"family":"Jaidee","given":["Somchai"]}],"gender":"male","birthDate":"1978-11-30"}`,
	`{"resourceType":"Patient","id":"p4","name":[{"family":"Sokha","given":["Bopha"]}],"gender":"female","birthDate":"2001-02-03"}`,

	`{"resourceType":"Observation","id":"o1","status":"final",
	  "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
	  "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA [Presence] by NAA"}]},
	  "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-14T09:30:00+07:00",
	  "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009","display":"Negative"}]}}`,
	`{"resourceType":"Observation","id":"o2","status":"final",
	  "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
	  "code":{"coding":[{"system":"http://loinc.org","code":"20447-9","display":"HIV 1 RNA [#/volume] in Serum or Plasma"}]},
	  "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2025-06-01",
	  "valueQuantity":{"value":40,"unit":"copies/mL","system":"http://unitsofmeasure.org","code":"{copies}/mL"}}`,
	`{"resourceType":"Observation","id":"o3","status":"preliminary",
	  "code":{"coding":[{"system":"http://loinc.org","code":"89371-2"}],"text":"Xpert MTB/RIF"},
	  "subject":{"reference":"Patient/p3"},"effectivePeriod":{"start":"2024-01-01","end":"2024-01-05"},
	  "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260373001","display":"Detected"}]}}`,
	`{"resourceType":"Observation","id":"o4","status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},
	  "subject":{"reference":"Patient/p2"},"effectiveDateTime":"2026-01-10T08:00:00Z",
	  "component":[
	    {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
	    {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
	`{"resourceType":"Observation","id":"o5","status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
	  "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-14T18:00:00Z",
	  "valueQuantity":{"value":62.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`,
	`{"resourceType":"Observation","id":"o6","status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"SARS-CoV-2 RNA [Presence] by NAA"}]},
	  "subject":{"reference":"Patient/p4"},"performer":[{"reference":"Organization/th-hosp-10669","identifier":{"system":"https://bps.moph.go.th/hcode","value":"10669"}}],"effectiveDateTime":"2026-03-16",
	  "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260373001","display":"Detected"}]}}`,

	`{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
	  "patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2021-07-02","lotNumber":"CV-2107A"}`,
	`{"resourceType":"Immunization","id":"i2","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"510"}]},
	  "patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2021-08-01"}`,
	`{"resourceType":"Immunization","id":"i3","status":"entered-in-error","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"208"}]},
	  "patient":{"reference":"Patient/p3"},"occurrenceDateTime":"2022-01-15"}`,
}

// loadFixtures PUTs the search fixtures.
func loadFixtures(t *testing.T, a *api) {
	t.Helper()
	for _, f := range searchFixtures {
		m := resp{body: []byte(f)}.json(t)
		a.want(a.do("PUT", "/"+m["resourceType"].(string)+"/"+m["id"].(string), f), 201)
	}
}
