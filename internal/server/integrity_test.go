package server_test

// Referential integrity (issue 14 item 7; README "Behaviour worth
// knowing"): a local reference to a served type must name a live resource
// on create, update, patch, batch and transaction
// (https://hl7.org/fhir/R4/references.html: "the reference SHALL resolve
// to a resource of the stated type" where the server enforces it).

import (
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func obsFor(subject string, more string) string {
	return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + subject + `"}` + more + `}`
}

func TestReferentialIntegrity(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		refused := func(r resp, expr, says string) {
			t.Helper()
			a.want(r, 422)
			is := r.issue(t)
			ex, _ := is["expression"].([]any)
			if is["code"] != "not-found" || len(ex) == 0 || ex[len(ex)-1] != expr || !strings.Contains(is["diagnostics"].(string), says) {
				t.Errorf("issue %v, want %s saying %q", is, expr, says)
			}
		}
		// Create: the issue's example.
		refused(a.do("POST", "/Observation", obsFor("Patient/does-not-exist", "")), "Observation.subject", "Patient/does-not-exist does not exist")
		if n := a.want(a.do("GET", "/Observation", ""), 200).json(t)["total"]; n != float64(0) {
			t.Fatalf("a refused Observation was stored: total %v", n)
		}
		a.want(a.do("PUT", "/Patient/p1", `{"resourceType":"Patient","id":"p1"}`), 201)
		a.want(a.do("POST", "/Observation", obsFor("Patient/p1", "")), 201)
		// Absolute URLs to this server are local; other servers' are not checked.
		a.want(a.do("POST", "/Observation", obsFor(a.base+"/Patient/p1", "")), 201)
		refused(a.do("POST", "/Observation", obsFor(a.base+"/Patient/nope", "")), "Observation.subject", "does not exist")
		a.want(a.do("POST", "/Observation", obsFor("https://his.example.org/fhir/Patient/9", "")), 201)
		// Types Mekong does not serve are kept as written; contained references too.
		a.want(a.do("POST", "/Observation", obsFor("Patient/p1", `,"encounter":{"reference":"Encounter/123"},"performer":[{"reference":"Organization/x"},{"reference":"#pr"}],
			"contained":[{"resourceType":"Practitioner","id":"pr"}]`)), 201)
		// Every dangling reference is its own issue, with its element's path.
		r := a.want(a.do("POST", "/Observation", obsFor("Patient/p1", `,"hasMember":[{"reference":"Observation/m1"},{"reference":"Observation/m2"}]`)), 422)
		if !strings.Contains(string(r.body), `"expression":["Observation.hasMember[0]"]`) || !strings.Contains(string(r.body), `"expression":["Observation.hasMember[1]"]`) {
			t.Errorf("two dangling members: %s", r.body)
		}
		// Update, update as create, conditional update.
		refused(a.do("PUT", "/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`), "Observation.subject", "Patient/p2")
		a.want(a.do("GET", "/Observation/o1", ""), 404)
		refused(a.do("PUT", "/Observation?identifier=urn:x|1", `{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"1"}],"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p2"}}`), "Observation.subject", "Patient/p2")
		a.want(a.do("PUT", "/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`), 201)
		// A reference to itself is fine; so is a Patient linking to one that exists.
		a.want(a.do("PUT", "/Patient/p3", `{"resourceType":"Patient","id":"p3","link":[{"other":{"reference":"Patient/p3"},"type":"seealso"}]}`), 201)
		// Patch: the patched resource is checked; nothing is stored.
		refused(a.do("PATCH", "/Observation/o1", `[{"op":"replace","path":"/subject/reference","value":"Patient/p404"}]`, "Content-Type", "application/json-patch+json"),
			"Observation.subject", "Patient/p404")
		if v := a.want(a.do("GET", "/Observation/o1", ""), 200).json(t)["meta"].(map[string]any)["versionId"]; v != "1" {
			t.Errorf("refused patch stored version %v", v)
		}
		// A deleted target is refused.
		a.want(a.do("PUT", "/Patient/gone", `{"resourceType":"Patient","id":"gone"}`), 201)
		a.want(a.do("DELETE", "/Patient/gone", ""), 200)
		refused(a.do("POST", "/Observation", obsFor("Patient/gone", "")), "Observation.subject", "Patient/gone is deleted")

		// Batch: each entry on its own.
		b := a.want(a.do("POST", "", `{"resourceType":"Bundle","type":"batch","entry":[
		  {"resource":`+obsFor("Patient/p1", "")+`,"request":{"method":"POST","url":"Observation"}},
		  {"resource":`+obsFor("Patient/none", "")+`,"request":{"method":"POST","url":"Observation"}}]}`), 200).json(t)
		entries := b["entry"].([]any)
		if s0, s1 := entries[0].(map[string]any)["response"].(map[string]any)["status"], entries[1].(map[string]any)["response"].(map[string]any)["status"]; s0 != "201 Created" || s1 != "422 Unprocessable Entity" {
			t.Errorf("batch statuses %v %v", s0, s1)
		}
		// Transaction: urn:uuid and conditional references keep working; a
		// dangling one fails the whole Bundle, naming the entry and element.
		a.want(a.do("POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"fullUrl":"urn:uuid:3f1c0000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"t1"}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:x|t1"}},
		  {"resource":`+obsFor("urn:uuid:3f1c0000-0000-4000-8000-000000000001", "")+`,"request":{"method":"POST","url":"Observation"}},
		  {"resource":`+obsFor("Patient?identifier=urn:x|t1", "")+`,"request":{"method":"POST","url":"Observation"}}]}`), 200)
		r = a.want(a.do("POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"resource":`+obsFor("Patient/p1", "")+`,"request":{"method":"POST","url":"Observation"}},
		  {"resource":`+obsFor("Patient/p1", `,"hasMember":[{"reference":"Observation/nothing"}]`)+`,"request":{"method":"POST","url":"Observation"}}]}`), 422)
		if !strings.Contains(string(r.body), `"expression":["Bundle.entry[1].resource.ofType(Observation).hasMember[0]"]`) {
			t.Errorf("transaction: %s", r.body)
		}
		// Deleting the target in the same transaction is refused too.
		a.want(a.do("PUT", "/Patient/p5", `{"resourceType":"Patient","id":"p5"}`), 201)
		refused(a.do("POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"request":{"method":"DELETE","url":"Patient/p5"}},
		  {"resource":`+obsFor("Patient/p5", "")+`,"request":{"method":"POST","url":"Observation"}}]}`), "Bundle.entry[1].resource.ofType(Observation).subject", "Patient/p5 is deleted")
		a.want(a.do("GET", "/Patient/p5", ""), 200)
	})
}

// TestReferentialIntegritySwitch: serve --referential-integrity=false
// (rest.Service.ReferentialIntegrity) accepts dangling references.
func TestReferentialIntegritySwitch(t *testing.T) {
	st := storetest.OpenSQLite(t)
	svc := rest.New(st, parser, registry)
	svc.ReferentialIntegrity = false
	a := newAPIWith(t, st, svc, server.Config{})
	a.want(a.do("POST", "/Observation", obsFor("Patient/does-not-exist", "")), 201)
}

// TestImportDanglingReferencesInTheErrorFile: $import checks references at
// the end of the job and lists the dangling ones in its error file.
func TestImportDanglingReferencesInTheErrorFile(t *testing.T) {
	a := newBulkAPI(t, storetest.OpenSQLite(t), bulk.Config{})
	status := a.importNDJSON(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}
{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p404"}}
{"resourceType":"Patient","id":"p1"}
`)
	a.work()
	m := a.manifest(status)
	if len(m.Error) != 1 || m.Error[0].Count != 1 {
		t.Fatalf("error files %+v", m.Error)
	}
	f := a.want(a.do("GET", m.Error[0].URL, ""), 200)
	if !strings.Contains(string(f.body), "Observation/o2: Observation.subject refers to Patient/p404, which does not exist after the import") {
		t.Errorf("error file %s", f.body)
	}
	a.want(a.do("GET", "/Observation/o2", ""), 200)
}
