package server_test

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The patch tests follow https://hl7.org/fhir/R4/http.html#patch (JSON
// Patch, FHIRPath Patch https://hl7.org/fhir/R4/fhirpatch.html, conditional
// patch, version-aware patch) and http.html#transaction for PATCH entries.

const (
	jsonPatchCT = "application/json-patch+json"
	patchDara   = `{"resourceType":"Patient","id":"dara","identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"}],` +
		`"name":[{"family":"Sok","given":["Dara"]}],"gender":"male"}`
)

func (a *api) patch(path, contentType, body string, headers ...string) resp {
	a.t.Helper()
	return a.do("PATCH", path, body, append([]string{"Content-Type", contentType}, headers...)...)
}

func fhirPathAdd(path, name, value string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},` +
		`{"name":"path","valueString":"` + path + `"},{"name":"name","valueString":"` + name + `"},{"name":"value",` + value + `}]}]}`
}

// TestPatchInstance: JSON Patch and FHIRPath Patch of PATCH [type]/[id];
// the result is stored as a new version whose history entry says PATCH,
// with the resource's member order kept, and it is indexed.
func TestPatchInstance(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		r := a.want(a.patch("/Patient/dara", jsonPatchCT,
			`[{"op":"test","path":"/gender","value":"male"},{"op":"add","path":"/birthDate","value":"1990-04-01"},{"op":"add","path":"/name/0/given/-","value":"Vanna"}]`), 200)
		if r.header.Get("ETag") != `W/"2"` {
			t.Fatalf("ETag %q", r.header.Get("ETag"))
		}
		body := string(r.body)
		if !strings.HasPrefix(body, `{"resourceType":"Patient","id":"dara","meta":{"versionId":"2",`) ||
			!strings.Contains(body, `"name":[{"family":"Sok","given":["Dara","Vanna"]}],"gender":"male","birthDate":"1990-04-01"}`) {
			t.Fatalf("patched body %s", body)
		}
		r = a.want(a.patch("/Patient/dara", "application/fhir+json",
			fhirPathAdd("Patient", "identifier", `"valueIdentifier":{"system":"https://terms.sil-th.org/id/th-cid","value":"1103700012345"}`)), 200)
		if r.header.Get("ETag") != `W/"3"` {
			t.Fatalf("ETag %q", r.header.Get("ETag"))
		}
		if got := a.want(a.do("GET", "/Patient/dara", ""), 200); string(got.body) != string(r.body) {
			t.Fatalf("read %s\nwant %s", got.body, r.body)
		}
		// The index follows the patch.
		if ids := matchIDs(t, a.want(a.do("GET", "/Patient?identifier=https://terms.sil-th.org/id/th-cid|1103700012345&birthdate=1990", ""), 200).json(t)); len(ids) != 1 {
			t.Fatalf("search after patch: %v", ids)
		}
		es := bundleEntries(t, a.want(a.do("GET", "/Patient/dara/_history", ""), 200))
		var methods []string
		for _, e := range es {
			methods = append(methods, e["request"].(map[string]any)["method"].(string))
		}
		if strings.Join(methods, ",") != "PATCH,PATCH,PUT" {
			t.Fatalf("history methods %v", methods)
		}
		// Prefer: return= works as for update.
		r = a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"replace","path":"/gender","value":"female"}]`, "Prefer", "return=minimal"), 200)
		if len(r.body) != 0 || r.header.Get("ETag") != `W/"4"` {
			t.Fatalf("return=minimal: %q %q", r.body, r.header.Get("ETag"))
		}
		r = a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"replace","path":"/gender","value":"male"}]`, "Prefer", "return=OperationOutcome"), 200)
		if is := r.issue(t); !strings.Contains(is["diagnostics"].(string), "patched Patient/dara to version 5") {
			t.Fatalf("return=OperationOutcome: %s", r.body)
		}
	})
}

// TestPatchPreconditions: If-Match (http.html#concurrency), a missing
// resource (404), a deleted one (410), and a patch that would change the
// id or type (400).
func TestPatchPreconditions(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 200)
		r := a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"add","path":"/active","value":false}]`, "If-Match", `W/"1"`), 412)
		if !strings.Contains(r.issue(t)["diagnostics"].(string), `W/"1" is stale`) {
			t.Fatalf("412: %s", r.body)
		}
		a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"add","path":"/active","value":false}]`, "If-Match", `W/"2"`), 200)

		r = a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"replace","path":"/id","value":"other"}]`), 400)
		if is := r.issue(t); is["expression"].([]any)[0] != "Patient.id" {
			t.Fatalf("id change: %s", r.body)
		}
		a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"remove","path":"/id"}]`), 400)
		r = a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"replace","path":"/resourceType","value":"Observation"}]`), 400)
		if is := r.issue(t); is["expression"].([]any)[0] != "resourceType" {
			t.Fatalf("type change: %s", r.body)
		}

		a.want(a.patch("/Patient/nobody", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 404)
		a.want(a.do("DELETE", "/Patient/dara", ""), 200)
		r = a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 410)
		if r.header.Get("ETag") != `W/"4"` {
			t.Fatalf("410 ETag %q", r.header.Get("ETag"))
		}
	})
}

// TestPatchInvalidResult: the patched resource is validated like any
// write; an invalid one is 422 naming the element and nothing is stored.
func TestPatchInvalidResult(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		for _, tt := range []struct{ ct, patch, expr string }{
			{jsonPatchCT, `[{"op":"replace","path":"/gender","value":"robot"}]`, "Patient.gender"},
			{jsonPatchCT, `[{"op":"add","path":"/birthDate","value":"1990-13-01"}]`, "Patient.birthDate"},
			{jsonPatchCT, `[{"op":"add","path":"/nickname","value":"D"}]`, ""},
			{jsonPatchCT, `[{"op":"add","path":"/active","value":null}]`, ""},
			{"application/fhir+json", fhirPathAdd("Patient", "managingOrganization", `"valueReference":{"reference":"Patient/x"}`), "Patient.managingOrganization"},
		} {
			r := a.want(a.patch("/Patient/dara", tt.ct, tt.patch), 422)
			is := r.issue(t)
			if !strings.Contains(is["diagnostics"].(string), "the patched resource is invalid") {
				t.Errorf("%s: %s", tt.patch, r.body)
			}
			if tt.expr != "" && !strings.Contains(fmt.Sprint(is["expression"]), tt.expr) {
				t.Errorf("%s: expression %v, want %s", tt.patch, is["expression"], tt.expr)
			}
		}
		// A patch that does not apply is 422 too, naming the operation.
		r := a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"test","path":"/gender","value":"female"}]`), 422)
		if !strings.Contains(r.issue(t)["diagnostics"].(string), "JSON Patch operation 0 (test /gender)") {
			t.Fatalf("test failure: %s", r.body)
		}
		if got := a.want(a.do("GET", "/Patient/dara", ""), 200); got.header.Get("ETag") != `W/"1"` {
			t.Fatalf("a failed patch stored something: %s", got.body)
		}
		if es := bundleEntries(t, a.want(a.do("GET", "/Patient/dara/_history", ""), 200)); len(es) != 1 {
			t.Fatalf("history has %d versions", len(es))
		}
	})
}

// TestConditionalPatch: PATCH [type]?criteria patches the one match; no
// match is 404 and several are 412.
func TestConditionalPatch(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		a.want(a.do("PUT", "/Patient/sok2", `{"resourceType":"Patient","id":"sok2","name":[{"family":"Sok"}]}`), 201)
		r := a.want(a.patch("/Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 200)
		if r.json(t)["id"] != "dara" || r.header.Get("ETag") != `W/"2"` {
			t.Fatalf("conditional patch: %s", r.body)
		}
		a.want(a.patch("/Patient?identifier=urn:none|x", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 404)
		r = a.want(a.patch("/Patient?family=sok", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 412)
		if r.issue(t)["code"] != "multiple-matches" {
			t.Fatalf("412: %s", r.body)
		}
		a.want(a.patch("/Patient?nonsense=1", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 400)
		a.want(a.patch("/Patient", jsonPatchCT, `[{"op":"add","path":"/active","value":true}]`), 405)
	})
}

// TestPatchContentTypes: PATCH takes JSON Patch or a FHIRPath Patch in
// FHIR JSON; anything else is 415, and JSON Patch is refused elsewhere.
func TestPatchContentTypes(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		a.want(a.patch("/Patient/dara", "text/plain", `[{"op":"add","path":"/active","value":true}]`), 415)
		a.want(a.patch("/Patient/dara", "application/xml", `<Parameters/>`), 415)
		a.want(a.do("PUT", "/Patient/dara", `[]`, "Content-Type", jsonPatchCT), 415)
		a.want(a.patch("/Patient/dara", "application/json", fhirPathAdd("Patient", "active", `"valueBoolean":true`)), 200)
		r := a.want(a.patch("/Patient/dara", "application/fhir+json", patchDara), 400)
		if !strings.Contains(r.issue(t)["diagnostics"].(string), "FHIRPath Patch, a Parameters resource") {
			t.Fatalf("non-Parameters: %s", r.body)
		}
		r = a.want(a.patch("/Patient/dara", jsonPatchCT, `[{"op":"add","path":"/active"}]`), 400)
		if !strings.Contains(r.issue(t)["diagnostics"].(string), "JSON Patch operation 0") {
			t.Fatalf("malformed: %s", r.body)
		}
		a.want(a.patch("/Patient/dara", "application/json-patch+json; charset=utf-8", `[{"op":"add","path":"/active","value":false}]`), 200)
	})
}

// TestPatchConcurrent: concurrent patches of one resource lose nothing:
// each is applied to the version the one before it wrote.
func TestPatchConcurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				statuses[i] = a.patch("/Patient/dara", jsonPatchCT,
					fmt.Sprintf(`[{"op":"add","path":"/identifier/-","value":{"system":"urn:iom","value":"I%d"}}]`, i)).status
			}(i)
		}
		wg.Wait()
		for i, s := range statuses {
			if s != 200 {
				t.Fatalf("patch %d: status %d", i, s)
			}
		}
		r := a.want(a.do("GET", "/Patient/dara", ""), 200)
		if ids := r.json(t)["identifier"].([]any); len(ids) != n+1 || r.header.Get("ETag") != fmt.Sprintf(`W/"%d"`, n+1) {
			t.Fatalf("%d identifiers at %s, want %d at version %d", len(ids), r.header.Get("ETag"), n+1, n+1)
		}
	})
}

func binaryPatch(doc string) string {
	return `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + base64.StdEncoding.EncodeToString([]byte(doc)) + `"}`
}

func patchEntry(url, res string, ifMatch string) string {
	req := `{"method":"PATCH","url":"` + url + `"`
	if ifMatch != "" {
		req += `,"ifMatch":` + strconv.Quote(ifMatch)
	}
	return `{"resource":` + res + `,"request":` + req + `}}`
}

// TestPatchBundles: PATCH entries in a batch (each on its own) and in a
// transaction (with PUT, after POST; ifMatch; a patch value referring to a
// urn:uuid of the Bundle; a failing patch rolls everything back).
func TestPatchBundles(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/dara", patchDara), 201)
		a.want(a.do("PUT", "/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"preliminary","code":{"text":"SARS-CoV-2 RNA"}}`), 201)

		batch := txBundle("batch",
			patchEntry("Patient/dara", binaryPatch(`[{"op":"add","path":"/active","value":true}]`), ""),
			patchEntry("Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|N0123456", fhirPathAdd("Patient", "birthDate", `"valueDate":"1990-04-01"`), `W/"2"`),
			patchEntry("Patient/dara", binaryPatch(`[{"op":"test","path":"/gender","value":"female"}]`), ""),
			patchEntry("Patient/dara", `{"resourceType":"Binary","contentType":"text/plain","data":"eA=="}`, ""),
			patchEntry("Patient/nobody", binaryPatch(`[{"op":"add","path":"/active","value":true}]`), ""))
		es := bundleEntries(t, a.want(a.do("POST", "", batch), 200))
		var got []string
		for _, e := range es {
			got = append(got, e["response"].(map[string]any)["status"].(string))
		}
		if strings.Join(got, ",") != "200 OK,200 OK,422 Unprocessable Entity,415 Unsupported Media Type,404 Not Found" {
			t.Fatalf("batch statuses %v: %s", got, es[1]["response"])
		}
		if p := a.want(a.do("GET", "/Patient/dara", ""), 200).json(t); p["active"] != true || p["birthDate"] != "1990-04-01" {
			t.Fatalf("after batch %v", p)
		}

		// Transaction: the Observation's subject becomes the Patient the
		// Bundle creates; PATCH runs after POST whatever the order.
		newPatient := `{"fullUrl":"urn:uuid:cccccccc-0000-0000-0000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Chan"}]},"request":{"method":"POST","url":"Patient"}}`
		tx := txBundle("transaction",
			patchEntry("Observation/o1", binaryPatch(`[{"op":"replace","path":"/status","value":"final"},`+
				`{"op":"add","path":"/subject","value":{"reference":"urn:uuid:cccccccc-0000-0000-0000-000000000001"}}]`), `W/"1"`),
			newPatient,
			patchEntry("Patient/dara", fhirPathAdd("Patient", "telecom", `"valueContactPoint":{"system":"phone","value":"+66 81 234 5678"}`), ""))
		es = bundleEntries(t, a.want(a.do("POST", "", tx), 200))
		if st := es[0]["response"].(map[string]any)["status"]; st != "200 OK" {
			t.Fatalf("transaction patch: %v", es[0])
		}
		pid := es[1]["resource"].(map[string]any)["id"].(string)
		obs := a.want(a.do("GET", "/Observation/o1", ""), 200).json(t)
		if obs["status"] != "final" || obs["subject"].(map[string]any)["reference"] != "Patient/"+pid {
			t.Fatalf("patched Observation %v", obs)
		}
		if ids := matchIDs(t, a.want(a.do("GET", "/Observation?subject=Patient/"+pid, ""), 200).json(t)); len(ids) != 1 {
			t.Fatalf("index after transaction patch: %v", ids)
		}
		patients := len(matchIDs(t, a.want(a.do("GET", "/Patient?_count=100", ""), 200).json(t)))

		// A failing patch (stale ifMatch, then an invalid result) rolls the
		// whole transaction back.
		for _, bad := range []string{
			patchEntry("Observation/o1", binaryPatch(`[{"op":"replace","path":"/status","value":"amended"}]`), `W/"1"`),
			patchEntry("Observation/o1", binaryPatch(`[{"op":"remove","path":"/status"}]`), ""),
		} {
			r := a.do("POST", "", txBundle("transaction", newPatient, patchEntry("Patient/dara", binaryPatch(`[{"op":"add","path":"/gender","value":"other"}]`), ""), bad))
			if r.status != 412 && r.status != 422 {
				t.Fatalf("failing transaction: %d %s", r.status, r.body)
			}
			if !strings.Contains(fmt.Sprint(r.issue(t)["expression"]), "Bundle.entry[2]") {
				t.Fatalf("failing transaction names %v", r.issue(t)["expression"])
			}
		}
		if n := len(matchIDs(t, a.want(a.do("GET", "/Patient?_count=100", ""), 200).json(t))); n != patients {
			t.Fatalf("rolled-back transaction created patients: %d, want %d", n, patients)
		}
		if p := a.want(a.do("GET", "/Patient/dara", ""), 200).json(t); p["gender"] != "male" {
			t.Fatalf("rolled-back transaction patched dara: %v", p)
		}
		// A resource may be changed once per transaction.
		a.want(a.do("POST", "", txBundle("transaction",
			patchEntry("Patient/dara", binaryPatch(`[{"op":"add","path":"/active","value":false}]`), ""),
			`{"resource":`+patchDara+`,"request":{"method":"PUT","url":"Patient/dara"}}`)), 400)
	})
}

// TestPatchCapability: the CapabilityStatement lists patch because the
// routes register it (https://hl7.org/fhir/R4/capabilitystatement.html).
func TestPatchCapability(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		cs := a.want(a.do("GET", "/metadata", ""), 200).json(t)
		for _, res := range cs["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
			switch res.(map[string]any)["type"] {
			case "ConceptMap", "OperationDefinition", "StructureDefinition", "AuditEvent", "Provenance":
				continue // read-only: definitions served from memory, and the server's own records
			}
			found := false
			for _, in := range res.(map[string]any)["interaction"].([]any) {
				found = found || in.(map[string]any)["code"] == "patch"
			}
			if !found {
				t.Errorf("%v does not list patch", res.(map[string]any)["type"])
			}
		}
	})
}
