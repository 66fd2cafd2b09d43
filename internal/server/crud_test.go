package server_test

import (
	"strings"
	"testing"
)

const patient = `{"resourceType":"Patient","id":"client-id","meta":{"versionId":"99","lastUpdated":"2001-01-01T00:00:00Z","tag":[{"system":"urn:t","code":"x"}]},
  "identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N0123456"}],
  "name":[{"family":"Sok","given":["Dara"]},{"text":"សុខ ដារា"}],"birthDate":"1990-04-01"}`

// https://hl7.org/fhir/R4/http.html#create: 201, server id, Location and ETag;
// meta.versionId and lastUpdated are the server's, other meta is kept.
func TestCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		r := a.want(a.do("POST", "/Patient", patient), 201)
		m := r.json(t)
		id := m["id"].(string)
		if id == "client-id" || id == "" {
			t.Fatalf("id %q: the server must assign the id", id)
		}
		meta := m["meta"].(map[string]any)
		if meta["versionId"] != "1" || meta["lastUpdated"] == "2001-01-01T00:00:00Z" || meta["tag"] == nil {
			t.Fatalf("meta %v", meta)
		}
		if got, want := r.header.Get("Location"), a.base+"/Patient/"+id+"/_history/1"; got != want {
			t.Fatalf("Location %q, want %q", got, want)
		}
		if r.header.Get("ETag") != `W/"1"` || r.header.Get("Last-Modified") == "" {
			t.Fatalf("headers %v", r.header)
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+json") {
			t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
		}
		// https://hl7.org/fhir/R4/http.html#read: a read returns the stored bytes.
		rd := a.want(a.do("GET", "/Patient/"+id, ""), 200)
		if string(rd.body) != string(r.body) {
			t.Fatalf("read differs from create:\n%s\n%s", rd.body, r.body)
		}
		if !strings.Contains(string(rd.body), "សុខ ដារា") {
			t.Fatal("Khmer name lost")
		}
	})
}

// https://hl7.org/fhir/R4/http.html#vread and #update
func TestUpdateVReadDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		body := strings.Replace(patient, `"client-id"`, `"p1"`, 1)
		r := a.want(a.do("PUT", "/Patient/p1", body), 201) // update as create
		if r.header.Get("Location") == "" || r.json(t)["id"] != "p1" {
			t.Fatalf("update-as-create: %v %s", r.header, r.body)
		}
		r = a.want(a.do("PUT", "/Patient/p1", strings.Replace(body, "1990-04-01", "1990-04-02", 1)), 200)
		if r.header.Get("ETag") != `W/"2"` {
			t.Fatalf("ETag %q", r.header.Get("ETag"))
		}
		v1 := a.want(a.do("GET", "/Patient/p1/_history/1", ""), 200).json(t)
		v2 := a.want(a.do("GET", "/Patient/p1/_history/2", ""), 200).json(t)
		if v1["birthDate"] != "1990-04-01" || v2["birthDate"] != "1990-04-02" {
			t.Fatalf("versions %v / %v", v1["birthDate"], v2["birthDate"])
		}
		a.want(a.do("GET", "/Patient/p1/_history/3", ""), 404)
		a.want(a.do("GET", "/Patient/p1/_history/x", ""), 404)

		// https://hl7.org/fhir/R4/http.html#delete: logical; a later read is 410.
		d := a.want(a.do("DELETE", "/Patient/p1", ""), 200)
		if d.header.Get("ETag") != `W/"3"` || d.issue(t)["severity"] != "information" {
			t.Fatalf("delete: %v %s", d.header, d.body)
		}
		g := a.want(a.do("GET", "/Patient/p1", ""), 410)
		if g.issue(t)["code"] != "deleted" || g.header.Get("ETag") != `W/"3"` {
			t.Fatalf("gone: %v %s", g.header, g.body)
		}
		a.want(a.do("GET", "/Patient/p1/_history/3", ""), 410)
		a.want(a.do("GET", "/Patient/p1/_history/2", ""), 200) // old versions stay readable
		a.want(a.do("DELETE", "/Patient/p1", ""), 200)         // again: not an error
		a.want(a.do("DELETE", "/Patient/never", ""), 200)      // missing: not an error
		a.want(a.do("GET", "/Patient/never", ""), 404)
		r = a.want(a.do("PUT", "/Patient/p1", body), 201) // re-create after delete
		if r.header.Get("ETag") != `W/"4"` {
			t.Fatalf("re-create ETag %q", r.header.Get("ETag"))
		}
	})
}

// https://hl7.org/fhir/R4/http.html#update: the body id must match the URL.
func TestUpdateIDRules(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		is := a.want(a.do("PUT", "/Patient/p2", patient), 400).issue(t)
		if is["expression"].([]any)[0] != "Patient.id" || !strings.Contains(is["diagnostics"].(string), "client-id") {
			t.Fatalf("issue %v", is)
		}
		a.want(a.do("PUT", "/Patient/p2", `{"resourceType":"Patient"}`), 400)
		a.want(a.do("PUT", "/Patient/bad_id!", `{"resourceType":"Patient","id":"bad_id!"}`), 400)
		is = a.want(a.do("PUT", "/Observation/p2", `{"resourceType":"Patient","id":"p2"}`), 400).issue(t)
		if is["expression"].([]any)[0] != "resourceType" {
			t.Fatalf("issue %v", is)
		}
		a.want(a.do("GET", "/Patient/p2", ""), 404) // nothing stored
	})
}

// https://hl7.org/fhir/R4/http.html#concurrency
func TestVersionAwareUpdate(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		body := `{"resourceType":"Patient","id":"v"}`
		a.want(a.do("PUT", "/Patient/v", body, "If-None-Match", "*"), 201)
		a.want(a.do("PUT", "/Patient/v", body, "If-None-Match", "*"), 412)
		a.want(a.do("PUT", "/Patient/v", body, "If-Match", `W/"1"`), 200)
		is := a.want(a.do("PUT", "/Patient/v", body, "If-Match", `W/"1"`), 412).issue(t)
		if !strings.Contains(is["diagnostics"].(string), `W/"2"`) {
			t.Fatalf("412 should name the current version: %v", is)
		}
		a.want(a.do("PUT", "/Patient/v", body, "If-Match", `garbage`), 400)
		a.want(a.do("DELETE", "/Patient/v", "", "If-Match", `W/"1"`), 412)
		// Conditional read: the current ETag gives 304 Not Modified.
		a.want(a.do("GET", "/Patient/v", "", "If-None-Match", `W/"2"`), 304)
		a.want(a.do("GET", "/Patient/v", "", "If-None-Match", `W/"1"`), 200)
	})
}

// https://hl7.org/fhir/R4/http.html#ops: Prefer return=minimal | representation | OperationOutcome.
func TestPrefer(t *testing.T) {
	eachStore(t, func(t *testing.T, a *api) {
		r := a.want(a.do("POST", "/Patient", patient, "Prefer", "return=minimal"), 201)
		if len(r.body) != 0 || r.header.Get("Location") == "" {
			t.Fatalf("minimal: %q %v", r.body, r.header)
		}
		r = a.want(a.do("POST", "/Patient", patient, "Prefer", "return=OperationOutcome"), 201)
		if r.issue(t)["severity"] != "information" {
			t.Fatalf("OperationOutcome: %s", r.body)
		}
		r = a.want(a.do("POST", "/Patient", patient, "Prefer", "return=representation"), 201)
		if r.json(t)["resourceType"] != "Patient" {
			t.Fatalf("representation: %s", r.body)
		}
	})
}
