package server_test

import (
	"fmt"
	"strings"
	"testing"
)

func bundleEntries(t *testing.T, r resp) []map[string]any {
	t.Helper()
	return entries(t, r.json(t))
}

const txPatient = `{"fullUrl":"urn:uuid:aaaaaaaa-0000-0000-0000-000000000001","resource":{"resourceType":"Patient",
  "identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N777"}],"name":[{"family":"Chan","given":["Sophea"]}]},
  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://hl7.org/fhir/sid/passport-KHM|N777"}}`

func txObservation(n int, subject string) string {
	return fmt.Sprintf(`{"fullUrl":"urn:uuid:bbbbbbbb-0000-0000-0000-%012d","resource":{"resourceType":"Observation","status":"final",
  "identifier":[{"system":"urn:lab","value":"L%d"}],"code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},
  "subject":{"reference":%q},"effectiveDateTime":"2026-03-14"},
  "request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=urn:lab|L%d"}}`, n, n, subject, n)
}

func txBundle(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// https://hl7.org/fhir/R4/http.html#transaction: urn:uuid references are
// rewritten to the ids the server assigns, conditional creates make a
// repeated Bundle change nothing, and the response is transaction-response.
func TestTransaction(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		// The Observation comes first: entries are processed POST by POST
		// after the conditional creates decide their ids, whatever the order.
		tx := txBundle("transaction", txObservation(1, "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"), txPatient)
		r := a.want(a.do("POST", "", tx), 200)
		es := bundleEntries(t, r)
		if r.json(t)["type"] != "transaction-response" || len(es) != 2 {
			t.Fatalf("response %s", r.body)
		}
		obs := es[0]["resource"].(map[string]any)
		pat := es[1]["resource"].(map[string]any)
		if es[0]["response"].(map[string]any)["status"] != "201 Created" || es[1]["response"].(map[string]any)["status"] != "201 Created" {
			t.Fatalf("statuses %v", es)
		}
		if got, want := obs["subject"].(map[string]any)["reference"], "Patient/"+pat["id"].(string); got != want {
			t.Fatalf("subject %v, want %s", got, want)
		}
		// The index follows the rewritten reference.
		if ids := matchIDs(t, a.want(a.do("GET", "/Observation?subject=Patient/"+pat["id"].(string), ""), 200).json(t)); len(ids) != 1 {
			t.Fatalf("search by rewritten subject: %v", ids)
		}
		// The same Bundle again changes nothing.
		es = bundleEntries(t, a.want(a.do("POST", "", tx), 200))
		if es[1]["response"].(map[string]any)["status"] != "200 OK" || es[1]["resource"].(map[string]any)["id"] != pat["id"] {
			t.Fatalf("repeat: %v", es)
		}
		if n := len(matchIDs(t, a.want(a.do("GET", "/Observation?_count=100", ""), 200).json(t))); n != 1 {
			t.Fatalf("repeat created Observations: %d", n)
		}
		// A new Observation referencing the Patient by a conditional reference.
		cond := "Patient?identifier=http://hl7.org/fhir/sid/passport-KHM|N777"
		es = bundleEntries(t, a.want(a.do("POST", "", txBundle("transaction", txObservation(2, cond))), 200))
		if ref := es[0]["resource"].(map[string]any)["subject"].(map[string]any)["reference"]; ref != "Patient/"+pat["id"].(string) {
			t.Fatalf("conditional reference became %v", ref)
		}
		a.want(a.do("POST", "", txBundle("transaction", txObservation(3, "Patient?identifier=urn:none|x"))), 412)
	})
}

// A failing transaction leaves nothing behind, and its OperationOutcome
// names the failing entry by index and fullUrl.
func TestTransactionAllOrNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		bad := `{"fullUrl":"urn:uuid:cccccccc-0000-0000-0000-000000000009","resource":{"resourceType":"Observation","status":"final"},"request":{"method":"POST","url":"Observation"}}`
		r := a.want(a.do("POST", "", txBundle("transaction", txPatient, txObservation(1, "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"), bad)), 422)
		is := r.issue(t)
		if !strings.Contains(is["diagnostics"].(string), "Bundle.entry[2] (urn:uuid:cccccccc-0000-0000-0000-000000000009)") || is["expression"].([]any)[0] != "Bundle.entry[2].resource.ofType(Observation)" {
			t.Fatalf("issue %v", is)
		}
		if h := a.want(a.do("GET", "/_history", ""), 200).json(t); h["entry"] != nil {
			t.Fatalf("a failed transaction stored something: %v", h["entry"])
		}
		// A stale ifMatch fails the whole transaction inside the database.
		a.want(a.do("PUT", "/Patient/v", `{"resourceType":"Patient","id":"v"}`), 201)
		stale := `{"resource":{"resourceType":"Patient","id":"v","gender":"male"},"request":{"method":"PUT","url":"Patient/v","ifMatch":"W/\"9\""}}`
		a.want(a.do("POST", "", txBundle("transaction", txPatient, stale)), 412)
		if ids := matchIDs(t, a.want(a.do("GET", "/Patient?identifier=N777", ""), 200).json(t)); len(ids) != 0 {
			t.Fatalf("the Patient of a failed transaction exists: %v", ids)
		}
		a.want(a.do("POST", "", `{"resourceType":"Bundle","type":"collection"}`), 400)
		a.want(a.do("POST", "", `{"resourceType":"Patient"}`), 400)
		a.want(a.do("POST", "", txBundle("transaction", `{"request":{"method":"POST","url":"ValueSet/$lookup"}}`)), 400)
	})
}

// DELETE runs before POST and PUT whatever the entries' order (https://hl7.org/fhir/R4/http.html#trules).
func TestTransactionOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.do("PUT", "/Patient/old", `{"resourceType":"Patient","id":"old","identifier":[{"system":"urn:x","value":"1"}]}`), 201)
		tx := txBundle("transaction",
			`{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"1"}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:x|1"}}`,
			`{"request":{"method":"DELETE","url":"Patient?identifier=urn:x|1"}}`,
			`{"request":{"method":"GET","url":"Patient?identifier=urn:x|1"}}`)
		es := bundleEntries(t, a.want(a.do("POST", "", tx), 200))
		if es[0]["response"].(map[string]any)["status"] != "201 Created" || es[1]["response"].(map[string]any)["status"] != "204 No Content" {
			t.Fatalf("the delete did not run first: %v", es)
		}
		a.want(a.do("GET", "/Patient/old", ""), 410)
		if found := es[2]["resource"].(map[string]any); found["type"] != "searchset" || len(entries(t, found)) != 1 {
			t.Fatalf("GET ran before the writes: %v", found)
		}
	})
}

// https://hl7.org/fhir/R4/http.html#brules: each batch entry on its own.
func TestBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		bad := `{"resource":{"resourceType":"Observation","status":"final"},"request":{"method":"POST","url":"Observation"}}`
		get := `{"request":{"method":"GET","url":"Patient/nope"}}`
		r := a.want(a.do("POST", "", txBundle("batch", txPatient, bad, get, `{"request":{"method":"PATCH","url":"Patient/x"}}`)), 200)
		es := bundleEntries(t, r)
		// The PATCH has no patch document (Binary or Parameters): 400.
		want := []string{"201 Created", "422 Unprocessable Entity", "404 Not Found", "400 Bad Request"}
		for i, e := range es {
			resp := e["response"].(map[string]any)
			if resp["status"] != want[i] {
				t.Errorf("entry %d: %v, want %s", i, resp["status"], want[i])
			}
			if i > 0 && resp["outcome"] == nil {
				t.Errorf("entry %d has no outcome", i)
			}
		}
		if r.json(t)["type"] != "batch-response" {
			t.Fatalf("type %v", r.json(t)["type"])
		}
	})
}
