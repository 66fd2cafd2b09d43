// Writes under SMART scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
// conditional create (https://hl7.org/fhir/R4/http.html#ccreate), conditional
// update and transactions (https://hl7.org/fhir/R4/http.html#transaction)
// must not find, return or change resources the caller cannot see, and
// patient/ scopes write only in their patient's compartment.
package server_test

import (
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestAccessWrites(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			a := newAuthAPI(t, b.Open(t), server.Config{})
			loadAccessFixtures(t, a)
			writer := a.mint("user/Observation.cruds", "")                 // no label permission
			writerL := a.mint("user/Observation.cruds mekong/label.*", "") // with it
			hidden := `{"resourceType":"Observation","status":"final","identifier":[{"system":"urn:lab","value":"H1"}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]}}`

			// If-None-Exist matching only a hidden resource: it does not exist for
			// the caller, so a new resource is created and nothing hidden returned.
			r := a.want(a.as(writer, "POST", "/Observation", hidden, "If-None-Exist", "identifier=urn:lab|H1"), 201)
			if strings.Contains(string(r.body), `"id":"h1"`) || strings.Contains(string(r.body), "56888-1") {
				t.Fatalf("conditional create leaked the hidden match: %s", r.body)
			}
			// Conditional writes search, so they need s too: a create-only
			// client cannot probe what exists.
			createOnly := a.mint("user/Observation.c", "")
			a.want(a.as(createOnly, "POST", "/Observation", hidden, "If-None-Exist", "identifier=urn:lab|O1"), 403)
			a.want(a.as(a.mint("user/Observation.u", ""), "PUT", "/Observation?identifier=urn:lab|O1", hidden), 403)
			a.want(a.as(a.mint("user/Observation.d", ""), "DELETE", "/Observation?identifier=urn:lab|O1", ""), 403)
			a.want(a.as(createOnly, "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+hidden+
				`,"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=urn:lab|O1"}}]}`), 403)
			a.want(a.as(createOnly, "POST", "/Observation", hidden), 201)
			// With the permission the same criteria match two: 412.
			a.want(a.as(writerL, "POST", "/Observation", hidden, "If-None-Exist", "identifier=urn:lab|H1"), 412)

			// Conditional update on criteria matching only a hidden resource
			// creates rather than overwriting it; updating it by id is 403.
			upd := `{"resourceType":"Observation","status":"final","identifier":[{"system":"urn:lab","value":"H2"}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]}}`
			r = a.want(a.as(writer, "PUT", "/Observation?identifier=urn:lab|H2", upd), 201)
			if strings.Contains(string(r.body), `"id":"h2"`) {
				t.Fatalf("conditional update hit the hidden resource: %s", r.body)
			}
			a.want(a.as(writer, "PUT", "/Observation/h2", strings.Replace(upd, `"resourceType":"Observation",`, `"resourceType":"Observation","id":"h2",`, 1)), 403)
			a.want(a.as(writer, "DELETE", "/Observation/h2", ""), 403)
			a.want(a.as(writerL, "GET", "/Observation/h2", ""), 200) // untouched
			if r := a.want(a.as(writerL, "GET", "/Observation/h2/_history", ""), 200).json(t); len(r["entry"].([]any)) != 1 {
				t.Fatalf("h2 gained versions: %v", r)
			}

			// A transaction: its conditional reference and GET entries see only
			// what the caller may; every entry is checked with its own action.
			tx := `{"resourceType":"Bundle","type":"transaction","entry":[
			  {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/p1"}},
			   "request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=urn:lab|T1"}},
			  {"request":{"method":"GET","url":"Observation/h1"}}]}`
			both := a.mint("user/Observation.cruds", "")
			r = a.want(a.as(both, "POST", "", tx), 200)
			out := r.json(t)["entry"].([]any)
			if s := out[0].(map[string]any)["response"].(map[string]any)["status"]; !strings.HasPrefix(s.(string), "201") {
				t.Fatalf("transaction conditional create: %v (%s)", s, r.body)
			}
			if s := out[1].(map[string]any)["response"].(map[string]any)["status"]; !strings.HasPrefix(s.(string), "404") {
				t.Fatalf("transaction GET of a hidden resource: %v", s)
			}
			// A transaction entry without its scope fails the whole transaction with 403, naming the entry.
			r = a.want(a.as(a.mint("user/Observation.rs", ""), "POST", "", tx), 403)
			if !strings.Contains(string(r.body), "Bundle.entry[0]") {
				t.Fatalf("403 does not name the entry: %s", r.body)
			}
			// Conditional references resolve only to resources the caller may search.
			ref := `{"resourceType":"Bundle","type":"transaction","entry":[
			  {"resource":{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
			   "patient":{"reference":"Patient?_id=p2"},"occurrenceDateTime":"2021-07-02"},"request":{"method":"POST","url":"Immunization"}}]}`
			a.want(a.as(a.mint("patient/Immunization.c patient/Patient.rs", "p1"), "POST", "", ref), 412)

			// patient/ scopes: only the patient's compartment, for reads and writes.
			p1 := a.mint("patient/Observation.crus patient/Patient.rs", "p1")
			a.want(a.as(p1, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/p1"}}`), 201)
			r = a.want(a.as(p1, "POST", "/Observation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/p2"}}`), 403)
			if r.issue(t)["code"] != "forbidden" {
				t.Fatalf("%s", r.body)
			}
			// Moving p2's result into p1's compartment by update is refused too.
			a.want(a.as(p1, "PUT", "/Observation/o2", obs("o2", "p1", "94500-6", "")), 403)
			a.want(a.as(p1, "PUT", "/Observation/o1", strings.Replace(obs("o1", "p1", "94500-6", ""), `"final"`, `"amended"`, 1)), 200)
			a.want(a.as(p1, "POST", "/Patient", `{"resourceType":"Patient"}`), 403)                                // no c on Patient
			a.want(a.as(a.mint("patient/Patient.c", "p1"), "POST", "/Patient", `{"resourceType":"Patient"}`), 403) // a new id is not p1
			a.want(a.as(p1, "DELETE", "/Observation/o1", ""), 403)                                                 // no d

			// Update as create needs c as well as u.
			a.want(a.as(a.mint("user/Patient.u", ""), "PUT", "/Patient/new", `{"resourceType":"Patient","id":"new"}`), 403)
			a.want(a.as(a.mint("user/Patient.cu", ""), "PUT", "/Patient/new", `{"resourceType":"Patient","id":"new"}`), 201)
			a.want(a.as(a.mint("user/Patient.u", ""), "PUT", "/Patient/new", `{"resourceType":"Patient","id":"new","gender":"male"}`), 200)
			// $validate needs c or u on the type.
			a.want(a.as(a.mint("user/Patient.rs", ""), "POST", "/Patient/$validate", `{"resourceType":"Patient"}`), 403)
			a.want(a.as(a.mint("user/Patient.u", ""), "POST", "/Patient/$validate", `{"resourceType":"Patient"}`), 200)
		})
	}
}

// HIV and TB results are labelled on write when their source did not label
// them, in transactions too, so _security finds them; a source's own
// confidentiality code is kept.
func TestLabelsOnWrite(t *testing.T) {
	a := newAuthAPI(t, storetest.Backends()[0].Open(t), server.Config{})
	all := a.mint("user/*.cruds mekong/label.*", "")
	a.want(a.as(all, "PUT", "/Patient/p9", `{"resourceType":"Patient","id":"p9"}`), 201)
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"resource":` + obs("vl", "p9", "20447-9", "") + `,"request":{"method":"PUT","url":"Observation/vl"}},
	  {"resource":` + obs("tb", "p9", "85362-2", "") + `,"request":{"method":"PUT","url":"Observation/tb"}},
	  {"resource":` + obs("cov", "p9", "94500-6", "") + `,"request":{"method":"PUT","url":"Observation/cov"}},
	  {"resource":` + obs("own", "p9", "55277-8", `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"V"}]},`) + `,"request":{"method":"PUT","url":"Observation/own"}}]}`
	a.want(a.as(all, "POST", "", tx), 200)
	for q, want := range map[string][]string{
		"_security=http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV":       {"Observation/own", "Observation/vl"},
		"_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R": {"Observation/tb", "Observation/vl"},
		"_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|V": {"Observation/own"},
		"_security=https://mekong-fhir.github.io/CodeSystem/sensitivity|TB":    {"Observation/tb"},
		"_security:missing=true": {"Observation/cov"},
	} {
		got := bundleIDs(t, a.want(a.as(all, "GET", "/Observation?"+q, ""), 200).json(t), "match")
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}
	// The stored resource carries the labels.
	r := a.want(a.as(all, "GET", "/Observation/vl", ""), 200)
	if !strings.Contains(string(r.body), `"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"},{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]`) {
		t.Fatalf("stored: %s", r.body)
	}
}
