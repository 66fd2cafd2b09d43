// No leak across patients or security labels: SMART scopes
// (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html),
// the patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html),
// security labels (https://hl7.org/fhir/R4/security-labels.html) and "a
// resource the caller may not see is not found"
// (https://hl7.org/fhir/R4/security.html#AccessDenied). Every token kind
// runs every read interaction on both stores and must see exactly what its
// scopes, patient and label permissions allow.
package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

const (
	lblHIV = "http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV"
	lblR   = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"
	lblV   = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|V"
)

// fixture is one resource of the matrix: its patient and the restricted
// labels it ends up with (by the labelling rules or from its source).
type fixture struct {
	typ, id, patient string
	labels           []string
	versions         int
	deleted          bool
	body             string
}

func obs(id, patient, code string, extra string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,%s"status":"final","identifier":[{"system":"urn:lab","value":%q}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"2026-03-14"}`,
		id, extra, strings.ToUpper(id), code, patient)
}

func imm(id, patient string) string {
	return fmt.Sprintf(`{"resourceType":"Immunization","id":%q,"status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},`+
		`"patient":{"reference":"Patient/%s"},"occurrenceDateTime":"2021-07-02"}`, id, patient)
}

var accessFixtures = []fixture{
	{typ: "Patient", id: "p1", patient: "p1", versions: 1, body: `{"resourceType":"Patient","id":"p1","gender":"male"}`},
	{typ: "Patient", id: "p2", patient: "p2", versions: 1, body: `{"resourceType":"Patient","id":"p2","gender":"female"}`},
	{typ: "Observation", id: "o1", patient: "p1", versions: 1, body: obs("o1", "p1", "94500-6", "")},
	{typ: "Observation", id: "o2", patient: "p2", versions: 1, body: obs("o2", "p2", "94500-6", "")},
	// HIV screen: labelled HIV + R on write; updated once.
	{typ: "Observation", id: "h1", patient: "p1", labels: []string{lblHIV, lblR}, versions: 2, body: obs("h1", "p1", "56888-1", "")},
	{typ: "Observation", id: "h2", patient: "p2", labels: []string{lblHIV, lblR}, versions: 1, body: obs("h2", "p2", "20447-9", "")},
	// TB (Xpert): labelled R (and Mekong's TB code, not restricted).
	{typ: "Observation", id: "t1", patient: "p1", labels: []string{lblR}, versions: 1, body: obs("t1", "p1", "85362-2", "")},
	// Labelled V by its source.
	{typ: "Observation", id: "v1", patient: "p1", labels: []string{lblV}, versions: 1,
		body: obs("v1", "p1", "94500-6", `"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"V"}]},`)},
	// An HIV result since deleted: its history stays hidden.
	{typ: "Observation", id: "hd", patient: "p1", labels: []string{lblHIV, lblR}, versions: 2, deleted: true, body: obs("hd", "p1", "49905-3", "")},
	{typ: "Immunization", id: "i1", patient: "p1", versions: 1, body: imm("i1", "p1")},
	{typ: "Immunization", id: "i2", patient: "p2", versions: 1, body: imm("i2", "p2")},
}

// tokenKind is one kind of caller.
type tokenKind struct {
	name, scope, patient string
	types                []string // types it may read; nil = all
	labels               []string // restricted labels it may see
}

var allLabels = []string{lblHIV, lblR, lblV}

var tokenKinds = []tokenKind{
	{name: "system", scope: "system/*.rs"},
	{name: "system+labels", scope: "system/*.rs mekong/label.*", labels: allLabels},
	{name: "user v1", scope: "user/*.read"},
	{name: "user+R", scope: "user/*.rs mekong/label.R", labels: []string{lblR}},
	{name: "user+labels", scope: "user/*.cruds mekong/label.*", labels: allLabels},
	{name: "patient p1", scope: "patient/*.rs", patient: "p1"},
	{name: "patient p1+labels", scope: "patient/*.rs mekong/label.HIV mekong/label.R mekong/label.V", patient: "p1", labels: allLabels},
	{name: "patient p2", scope: "patient/*.rs", patient: "p2"},
	{name: "patient p2+labels", scope: "patient/*.rs mekong/label.*", patient: "p2", labels: allLabels},
	{name: "observations only", scope: "user/Observation.rs", types: []string{"Observation"}},
	{name: "no scope", scope: "openid launch", types: []string{}},
}

func (k tokenKind) mayType(typ string) bool {
	if k.types == nil {
		return true
	}
	for _, t := range k.types {
		if t == typ {
			return true
		}
	}
	return false
}

func (k tokenKind) sees(f fixture) bool {
	if !k.mayType(f.typ) || (k.patient != "" && f.patient != k.patient) {
		return false
	}
	for _, l := range f.labels {
		ok := false
		for _, m := range k.labels {
			ok = ok || l == m
		}
		if !ok {
			return false
		}
	}
	return true
}

// want lists "Type/id" of the fixtures k sees among those that pass keep.
func (k tokenKind) want(keep func(fixture) bool) []string {
	var out []string
	for _, f := range accessFixtures {
		if k.sees(f) && keep(f) {
			out = append(out, f.typ+"/"+f.id)
		}
	}
	sort.Strings(out)
	return out
}

func loadAccessFixtures(t *testing.T, a *authAPI) {
	admin := a.mint("user/*.cruds mekong/label.*", "")
	for _, f := range accessFixtures {
		a.want(a.as(admin, "PUT", "/"+f.typ+"/"+f.id, f.body), 201)
		if f.versions == 2 && !f.deleted {
			a.want(a.as(admin, "PUT", "/"+f.typ+"/"+f.id, strings.Replace(f.body, `"final"`, `"amended"`, 1)), 200)
		}
		if f.deleted {
			a.want(a.as(admin, "DELETE", "/"+f.typ+"/"+f.id, ""), 200)
		}
	}
}

// bundleIDs returns the "Type/id" of a Bundle's entries by search mode
// ("" for history entries), sorted.
func bundleIDs(t *testing.T, b map[string]any, mode string) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		e := e.(map[string]any)
		if mode != "" {
			if s, _ := e["search"].(map[string]any); s == nil || s["mode"] != mode {
				continue
			}
		}
		var key string
		if r, ok := e["resource"].(map[string]any); ok && r["resourceType"] != "OperationOutcome" {
			key = r["resourceType"].(string) + "/" + r["id"].(string)
		} else if req, ok := e["request"].(map[string]any); ok {
			key = strings.SplitN(req["url"].(string), "?", 2)[0]
		}
		if key != "" && !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

func TestAccessMatrix(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			st := b.Open(t)
			db := st
			bs := bulk.New(bulk.Config{}, db, rest.New(db, parser, registry), slog.New(slog.NewTextHandler(io.Discard, nil)))
			a := newAuthAPI(t, st, server.Config{Bulk: bs})
			loadAccessFixtures(t, a)
			for _, k := range tokenKinds {
				t.Run(k.name, func(t *testing.T) { checkToken(t, a, k) })
			}
		})
	}
}

func checkToken(t *testing.T, a *authAPI, k tokenKind) {
	tok := a.mint(k.scope, k.patient)
	get := func(path string) resp { return a.as(tok, "GET", path, "") }
	eq := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s:\n got  %v\n want %v", what, got, want)
		}
	}
	live := func(f fixture) bool { return !f.deleted }
	ofType := func(typ string) func(fixture) bool { return func(f fixture) bool { return live(f) && f.typ == typ } }
	// searchIDs runs a search (403 when the token may not search typ) and returns ids by mode.
	search := func(typ, path string) (map[string]any, bool) {
		t.Helper()
		r := get(path)
		if !k.mayType(typ) {
			if r.status != 403 {
				t.Errorf("%s: status %d, want 403", path, r.status)
			}
			return nil, false
		}
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", path, r.status, r.body)
		}
		return r.json(t), true
	}

	// read, vread and instance history: 200 when visible, 404 when not (410 when deleted), 403 without a scope.
	for _, f := range accessFixtures {
		status := 404
		switch {
		case !k.mayType(f.typ):
			status = 403
		case k.sees(f) && f.deleted:
			status = 410
		case k.sees(f):
			status = 200
		}
		path := "/" + f.typ + "/" + f.id
		if r := get(path); r.status != status {
			t.Errorf("read %s: %d, want %d: %s", path, r.status, status, r.body)
		}
		vstatus := status
		if status == 410 {
			vstatus = 200
		}
		if r := get(path + "/_history/1"); r.status != vstatus {
			t.Errorf("vread %s: %d, want %d", path, r.status, vstatus)
		}
		hstatus := vstatus
		r := get(path + "/_history")
		if r.status != hstatus {
			t.Errorf("history %s: %d, want %d", path, r.status, hstatus)
		} else if hstatus == 200 {
			if n := len(r.json(t)["entry"].([]any)); n != f.versions {
				t.Errorf("history %s: %d entries, want %d", path, n, f.versions)
			}
		}
	}

	// Search: matches, totals, counts and every page agree with what k sees.
	if b, ok := search("Observation", "/Observation?_total=accurate&_count=100"); ok {
		want := k.want(ofType("Observation"))
		eq("search Observation", bundleIDs(t, b, "match"), want)
		if b["total"] != float64(len(want)) {
			t.Errorf("_total=accurate: %v, want %d", b["total"], len(want))
		}
		c, _ := search("Observation", "/Observation?_summary=count")
		if c["total"] != float64(len(want)) {
			t.Errorf("_summary=count: %v, want %d", c["total"], len(want))
		}
		// Driven by a code (the index-ordered plan) and counted from it.
		c, _ = search("Observation", "/Observation?code=http://loinc.org|56888-1&_summary=count")
		if n := len(k.want(func(f fixture) bool { return f.id == "h1" })); c["total"] != float64(n) {
			t.Errorf("HIV code count: %v, want %d", c["total"], n)
		}
		var paged []string
		next := "/Observation?_count=1"
		for i := 0; next != "" && i < 20; i++ {
			p := a.want(get(next), 200).json(t)
			paged = append(paged, bundleIDs(t, p, "match")...)
			next = ""
			for _, l := range p["link"].([]any) {
				if l := l.(map[string]any); l["relation"] == "next" {
					next = l["url"].(string)
				}
			}
		}
		sort.Strings(paged)
		eq("paged Observation", paged, want)
		// Through a reference: another patient's data is not found by naming it.
		b, _ = search("Observation", "/Observation?subject=Patient/p2&_count=100")
		eq("subject=p2", bundleIDs(t, b, "match"), k.want(func(f fixture) bool { return live(f) && f.typ == "Observation" && f.patient == "p2" }))
		// _include of the subject only brings patients k sees.
		b, _ = search("Observation", "/Observation?_include=Observation:subject&_count=100")
		eq("_include subject", bundleIDs(t, b, "include"), k.want(func(f fixture) bool {
			return f.typ == "Patient" && len(k.want(func(o fixture) bool { return live(o) && o.typ == "Observation" && o.patient == f.id })) > 0
		}))
		// A chain goes only through patients k sees.
		b, _ = search("Observation", "/Observation?subject:Patient.gender=male&_count=100")
		p1 := k.sees(accessFixtures[0])
		eq("chain subject.gender", bundleIDs(t, b, "match"), k.want(func(f fixture) bool { return p1 && live(f) && f.typ == "Observation" && f.patient == "p1" }))
	}
	if b, ok := search("Patient", "/Patient?_revinclude=Observation:subject&_revinclude=Immunization:patient&_count=100"); ok {
		eq("search Patient", bundleIDs(t, b, "match"), k.want(ofType("Patient")))
		eq("_revinclude", bundleIDs(t, b, "include"), k.want(func(f fixture) bool {
			return live(f) && f.typ != "Patient" && k.sees(accessFixtures[map[string]int{"p1": 0, "p2": 1}[f.patient]])
		}))
		// _has: whether a patient has an HIV result is itself confidential.
		b, _ = search("Patient", "/Patient?_has:Observation:subject:code=http://loinc.org|56888-1")
		h1 := k.sees(accessFixtures[4])
		eq("_has HIV", bundleIDs(t, b, "match"), k.want(func(f fixture) bool { return h1 && f.id == "p1" }))
	}
	// System search and history over every type k may see.
	if r := get("?_type=Patient,Observation,Immunization&_count=100"); len(k.types) == 0 && k.types != nil || k.types != nil && len(k.types) < 3 {
		if r.status != 403 {
			t.Errorf("system search with forbidden _type: %d", r.status)
		}
	} else {
		eq("system search", bundleIDs(t, a.want(r, 200).json(t), "match"), k.want(live))
	}
	if r := get("/_history?_count=1000"); k.types != nil && len(k.types) == 0 {
		if r.status != 403 {
			t.Errorf("system history without scopes: %d", r.status)
		}
	} else {
		eq("system history", bundleIDs(t, a.want(r, 200).json(t), ""), k.want(func(fixture) bool { return true }))
	}
	if k.mayType("Observation") {
		r := a.want(get("/Observation/_history?_count=1000"), 200)
		eq("type history", bundleIDs(t, r.json(t), ""), k.want(func(f fixture) bool { return f.typ == "Observation" }))
	}

	// $everything (https://hl7.org/fhir/R4/patient-operation-everything.html):
	// the compartment as the caller may see it, and a total that counts only
	// that; another patient's record does not exist for a patient token.
	for _, p := range []string{"p1", "p2"} {
		path := "/Patient/" + p + "/$everything?_count=1000"
		r := get(path)
		switch {
		case !k.mayType("Patient"):
			if r.status != 403 {
				t.Errorf("%s: %d, want 403", path, r.status)
			}
		case k.patient != "" && k.patient != p:
			if r.status != 404 {
				t.Errorf("%s: %d, want 404", path, r.status)
			}
		default:
			b := a.want(r, 200).json(t)
			want := k.want(func(f fixture) bool { return live(f) && f.patient == p })
			eq(path, bundleIDs(t, b, "match"), want)
			if n, _ := b["total"].(float64); int(n) != len(want) {
				t.Errorf("%s: total %v, want %d", path, b["total"], len(want))
			}
		}
	}

	// Bulk export holds everything, so only a token that may see everything
	// may start one (https://hl7.org/fhir/uv/bulkdata/authorization.html).
	mayExport := k.patient == "" && len(k.labels) == len(allLabels) && k.types == nil
	if r := a.as(tok, "GET", "/$export", "", "Prefer", "respond-async"); (r.status == 202) != mayExport || (!mayExport && r.status != 403) {
		t.Errorf("$export by %s: %d (may export: %v)", k.name, r.status, mayExport)
	}

	// Batch GET entries run as the caller: hidden is 404 inside the Bundle too.
	r := a.want(a.as(tok, "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[
		{"request":{"method":"GET","url":"Observation/h1"}},
		{"request":{"method":"GET","url":"Observation?code=56888-1"}}]}`), 200).json(t)
	entries := r["entry"].([]any)
	st := entries[0].(map[string]any)["response"].(map[string]any)["status"].(string)
	want := "404"
	switch {
	case !k.mayType("Observation"):
		want = "403"
	case k.sees(accessFixtures[4]):
		want = "200"
	}
	if !strings.HasPrefix(st, want) {
		t.Errorf("batch GET Observation/h1: %s, want %s", st, want)
	}
	if k.mayType("Observation") {
		inner, _ := entries[1].(map[string]any)["resource"].(map[string]any)
		eq("batch search", bundleIDs(t, inner, "match"), k.want(func(f fixture) bool { return f.id == "h1" }))
	}
}
