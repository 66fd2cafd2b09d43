// Our documents against the official IPS 2.0.0 package (npm
// hl7.fhir.uv.ips@2.0.0, fetched by make ips-data into the git-ignored
// .cache): the shape of its example Bundle-bundle-no-info-required-sections
// (http://hl7.org/fhir/uv/ips/STU2/Bundle-bundle-no-info-required-sections.html),
// the invariants bdl-ips-1, ips-comp-1 and ips-pat-1 evaluated by
// fhirpath.js with the expressions the package's StructureDefinitions give,
// and R4 reference resolution inside a Bundle
// (https://hl7.org/fhir/R4/bundle.html#references).
package ips

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	ipsDir    = "../../.cache/ips/package"
	oracleDir = "../../.cache/fhirpath-oracle"
)

// requireIPS skips without the IPS package, loudly, except under CI.
func requireIPS(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(ipsDir, "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("IPS package missing under CI: %v (make ips-data)", err)
		}
		t.Skipf("SKIPPING: the IPS 2.0.0 package is not in .cache (%v); run make ips-data", err)
	}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// goldenDocuments builds every golden case (not read from the files, so a
// stale golden file cannot hide a change).
func goldenDocuments(t *testing.T) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, c := range goldenCases {
		_, m := build(t, loadInput(t, c.input, c.hide...))
		out[c.name] = m
	}
	return out
}

func compOf(t *testing.T, b map[string]any) map[string]any {
	t.Helper()
	return b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
}

func sectionCode(s map[string]any) string {
	return s["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestShapeOfNoInfoExample: IPS's own example of a record with nothing for
// the required sections and two immunizations has our shape: the same
// Bundle and Composition frame, the same required sections with the same
// members and emptyReason, an Immunizations section of the same members.
func TestShapeOfNoInfoExample(t *testing.T) {
	requireIPS(t)
	ex := readJSON(t, filepath.Join(ipsDir, "example", "Bundle-bundle-no-info-required-sections.json"))
	exComp := compOf(t, ex)
	for name, doc := range goldenDocuments(t) {
		for _, k := range []string{"resourceType", "type"} {
			if doc[k] != ex[k] {
				t.Errorf("%s: Bundle.%s %v, example %v", name, k, doc[k], ex[k])
			}
		}
		for _, k := range []string{"identifier", "timestamp"} {
			if doc[k] == nil {
				t.Errorf("%s: Bundle.%s missing", name, k)
			}
		}
		comp := compOf(t, doc)
		for _, k := range []string{"resourceType", "status"} {
			if comp[k] != exComp[k] {
				t.Errorf("%s: Composition.%s %v, example %v", name, k, comp[k], exComp[k])
			}
		}
		if a, b := mustJSON(t, comp["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]),
			mustJSON(t, exComp["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]); !bytes.Equal(a, b) {
			t.Errorf("%s: Composition.type %s, example %s", name, a, b)
		}
		for _, k := range []string{"subject", "date", "author", "title", "confidentiality", "custodian", "section"} {
			if exComp[k] != nil && comp[k] == nil {
				t.Errorf("%s: Composition.%s missing (the example has it)", name, k)
			}
		}
		ours := map[string]map[string]any{}
		for _, s := range comp["section"].([]any) {
			ours[sectionCode(s.(map[string]any))] = s.(map[string]any)
		}
		for _, s := range exComp["section"].([]any) {
			es := s.(map[string]any)
			code := sectionCode(es)
			mine, ok := ours[code]
			if !ok {
				if es["emptyReason"] != nil {
					t.Errorf("%s: required section %s missing", name, code)
				}
				continue // Immunizations: present only when there are some
			}
			if !slices.Equal(keysOf(mine), keysOf(es)) {
				t.Errorf("%s: section %s has %v, example %v", name, code, keysOf(mine), keysOf(es))
			}
			if er := es["emptyReason"]; er != nil {
				want := er.(map[string]any)["coding"].([]any)[0].(map[string]any)
				got := mine["emptyReason"].(map[string]any)["coding"].([]any)[0].(map[string]any)
				if got["system"] != want["system"] || got["code"] != want["code"] {
					t.Errorf("%s: section %s emptyReason %v, example %v", name, code, got, want)
				}
			}
			if got, want := mine["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["system"],
				es["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["system"]; got != want {
				t.Errorf("%s: section %s code system %v, example %v", name, code, got, want)
			}
		}
	}
}

// The IPS invariants, with their expressions taken from the package.
var invariants = []struct {
	key, profile string
	// wrap applies the constraint's expression at its element, from the Bundle.
	wrap func(expr string) string
}{
	{"bdl-ips-1", "StructureDefinition-Bundle-uv-ips.json", func(e string) string { return e }},
	{"ips-comp-1", "StructureDefinition-Composition-uv-ips.json", func(e string) string {
		// The constraint sits on the three required section slices.
		return "Bundle.entry.resource.ofType(Composition).section.where(code.coding.where(system = 'http://loinc.org' and " +
			"(code = '11450-4' or code = '48765-2' or code = '10160-0')).exists()).all(" + e + ")"
	}},
	{"ips-pat-1", "StructureDefinition-Patient-uv-ips.json", func(e string) string {
		return "Bundle.entry.resource.ofType(Patient).name.all(" + e + ")"
	}},
}

// invariantExpression reads a constraint's FHIRPath from a StructureDefinition of the package.
func invariantExpression(t *testing.T, file, key string) string {
	t.Helper()
	sd := readJSON(t, filepath.Join(ipsDir, file))
	for _, e := range sd["snapshot"].(map[string]any)["element"].([]any) {
		for _, c := range asList(e.(map[string]any)["constraint"]) {
			if c := c.(map[string]any); c["key"] == key {
				return c["expression"].(string)
			}
		}
	}
	t.Fatalf("%s has no constraint %s", file, key)
	return ""
}

type evalCase struct {
	Resource map[string]any `json:"resource"`
	Expr     string         `json:"expr"`
	name     string
	want     bool
}

// TestInvariants evaluates bdl-ips-1, ips-comp-1 and ips-pat-1 on every
// golden document and on the package's own example documents (all must
// hold), and on documents broken on purpose (each must fail), so the check
// itself is shown to be able to fail.
func TestInvariants(t *testing.T) {
	requireIPS(t)
	node, err := exec.LookPath("node")
	mod, _ := filepath.Abs(oracleDir)
	if _, serr := os.Stat(filepath.Join(mod, "node_modules/fhirpath/package.json")); err != nil || serr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or fhirpath.js missing under CI: %v %v (make conformance-data)", err, serr)
		}
		t.Skipf("SKIPPING: node or fhirpath.js missing (%v %v); run make conformance-data", err, serr)
	}
	docs := goldenDocuments(t)
	examples, _ := filepath.Glob(filepath.Join(ipsDir, "example", "Bundle-*.json"))
	if len(examples) < 3 {
		t.Fatalf("only %d IPS example Bundles", len(examples))
	}
	for _, f := range examples {
		docs["IPS "+filepath.Base(f)] = readJSON(t, f)
	}
	var cases []*evalCase
	for _, inv := range invariants {
		expr := inv.wrap(invariantExpression(t, inv.profile, inv.key))
		for name, d := range docs {
			cases = append(cases, &evalCase{Resource: d, Expr: expr, name: inv.key + " on " + name, want: true})
		}
		for name, d := range broken(t, docs["sokha"], inv.key) {
			cases = append(cases, &evalCase{Resource: d, Expr: expr, name: inv.key + " on " + name, want: false})
		}
	}
	results := runNode(t, node, mod, cases)
	for i, c := range cases {
		r := results[i]
		if r.Error != "" {
			t.Errorf("%s: fhirpath.js: %s", c.name, r.Error)
			continue
		}
		if len(r.Value) != 1 || r.Value[0] != c.want {
			t.Errorf("%s = %v, want %v", c.name, r.Value, c.want)
		}
	}
	t.Logf("%d invariant evaluations by fhirpath.js", len(cases))
}

// broken returns copies of doc that break the invariant key.
func broken(t *testing.T, doc map[string]any, key string) map[string]map[string]any {
	t.Helper()
	clone := func() map[string]any {
		var m map[string]any
		if err := json.Unmarshal(mustJSON(t, doc), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	d := clone()
	switch key {
	case "bdl-ips-1":
		entries := d["entry"].([]any)
		d["entry"] = append(entries, entries[0])
		return map[string]map[string]any{"a document with a second Composition": d}
	case "ips-comp-1":
		for _, s := range compOf(t, d)["section"].([]any) {
			delete(s.(map[string]any), "emptyReason")
		}
		return map[string]map[string]any{"required sections without emptyReason": d}
	case "ips-pat-1":
		for _, e := range d["entry"].([]any) {
			if r := e.(map[string]any)["resource"].(map[string]any); r["resourceType"] == "Patient" {
				r["name"] = []any{map[string]any{"use": "official"}}
			}
		}
		return map[string]map[string]any{"a Patient name with no parts": d}
	}
	return nil
}

type evalResult struct {
	Value []any  `json:"value"`
	Error string `json:"error"`
}

func runNode(t *testing.T, node, mod string, cases []*evalCase) []evalResult {
	t.Helper()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("testdata/invariants.js")
	cmd := exec.Command(node, script, mod)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	var results []evalResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("fhirpath.js output (%v): %d results for %d cases", err, len(results), len(cases))
	}
	return results
}

var restfulURL = regexp.MustCompile(`^(.*)/([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}$`)

// TestReferencesResolve: every reference in every entry resolves to an
// entry of the Bundle by the R4 rules: an absolute reference (URL or
// urn:uuid) equals a fullUrl; a relative Type/id is taken against the base
// of its own entry's fullUrl, which must be a RESTful one; #id is contained.
// Each section entry points to a resource the section may hold.
func TestReferencesResolve(t *testing.T) {
	for name, doc := range goldenDocuments(t) {
		full := map[string]map[string]any{}
		for _, e := range doc["entry"].([]any) {
			e := e.(map[string]any)
			u := e["fullUrl"].(string)
			if full[u] != nil {
				t.Errorf("%s: fullUrl %s twice", name, u)
			}
			full[u] = e["resource"].(map[string]any)
		}
		n := 0
		for u, res := range full {
			for _, ref := range references(res) {
				n++
				target := ref
				switch {
				case strings.HasPrefix(ref, "#"):
					continue
				case strings.HasPrefix(ref, "urn:") || strings.Contains(ref, "://"):
				default:
					m := restfulURL.FindStringSubmatch(u)
					if m == nil {
						t.Errorf("%s: relative reference %q in an entry whose fullUrl %s is not RESTful", name, ref, u)
						continue
					}
					target = m[1] + "/" + ref
				}
				if full[target] == nil {
					t.Errorf("%s: %s in %s does not resolve in the Bundle", name, ref, u)
				}
			}
		}
		allowed := map[string]string{"11369-6": "Immunization", "30954-2": "Observation", "8716-3": "Observation",
			"29762-2": "Observation", "10162-6": "Observation"}
		for _, s := range compOf(t, doc)["section"].([]any) {
			s := s.(map[string]any)
			for _, e := range asList(s["entry"]) {
				r := full[e.(map[string]any)["reference"].(string)]
				if r == nil || r["resourceType"] != allowed[sectionCode(s)] {
					t.Errorf("%s: section %s entry %v", name, sectionCode(s), e)
				}
			}
		}
		if n < 3 { // at least the subject, author and custodian
			t.Errorf("%s: only %d references checked", name, n)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// references lists every Reference.reference in v.
func references(v any) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		if r, ok := t["reference"].(string); ok {
			out = append(out, r)
		}
		for _, c := range t {
			out = append(out, references(c)...)
		}
	case []any:
		for _, c := range t {
			out = append(out, references(c)...)
		}
	}
	return out
}

// TestPatientMeetsProfile: Patient-uv-ips needs name 1..* and birthDate
// 1..1; a record without them gets data-absent-reason, not invented data.
func TestPatientMeetsProfile(t *testing.T) {
	for name, doc := range goldenDocuments(t) {
		for _, e := range doc["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			if r["resourceType"] != "Patient" {
				continue
			}
			if len(asList(r["name"])) == 0 || (r["birthDate"] == nil && r["_birthDate"] == nil) || r["link"] != nil {
				t.Errorf("%s: Patient %v", name, r)
			}
		}
	}
	_, m := build(t, loadInput(t, "unnamed"))
	if got := fmt.Sprint(m["entry"].([]any)[1].(map[string]any)["resource"]); !strings.Contains(got, "data-absent-reason") {
		t.Errorf("unnamed Patient: %s", got)
	}
}
