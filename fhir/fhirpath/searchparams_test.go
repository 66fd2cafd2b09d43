package fhirpath

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// servedBases are the bases whose search parameters Mekong indexes.
var servedBases = []string{"Patient", "Immunization", "Observation", "Resource", "DomainResource"}

type searchParam struct {
	ID, Code, Type, Expression string
	Base                       []string
	Component                  []struct{ Definition, Expression string }
}

// appliesTo reports whether p is a parameter of resources of type rt.
func (p searchParam) appliesTo(rt string) bool {
	return slices.Contains(p.Base, rt) || slices.Contains(p.Base, "Resource") || slices.Contains(p.Base, "DomainResource")
}

// servedParams reads the official R4 search parameters of the served bases.
func servedParams(t testing.TB) []searchParam {
	t.Helper()
	requireExamples(t)
	data, err := os.ReadFile(filepath.Join(examplesDir, "Bundle-searchParams.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct{ Resource searchParam }
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	var out []searchParam
	for _, e := range b.Entry {
		if slices.ContainsFunc(e.Resource.Base, func(s string) bool { return slices.Contains(servedBases, s) }) {
			out = append(out, e.Resource)
		}
	}
	return out
}

// servedExamples returns the names of the official Patient, Immunization
// and Observation examples.
func servedExamples(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, rt := range []string{"Patient", "Immunization", "Observation"} {
		m, err := filepath.Glob(filepath.Join(examplesDir, rt+"-*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			names = append(names, filepath.Base(f))
		}
	}
	sort.Strings(names)
	return names
}

// TestAllSearchParametersCompile: every R4 search parameter of the served
// bases compiles, with the expressions of its composite components
// (FHIR R4 searchparameter.html: SearchParameter.expression, .component).
func TestAllSearchParametersCompile(t *testing.T) {
	params := servedParams(t)
	var compiled, components int
	var noExpr []string
	for _, p := range params {
		if p.Expression == "" {
			// _text, _content and _query are defined by the search
			// framework, not by an expression.
			noExpr = append(noExpr, p.ID)
			continue
		}
		if _, err := Compile(p.Expression); err != nil {
			t.Errorf("%s: %v", p.ID, err)
			continue
		}
		compiled++
		for _, c := range p.Component {
			if _, err := Compile(c.Expression); err != nil {
				t.Errorf("%s component %s: %v", p.ID, c.Definition, err)
				continue
			}
			components++
		}
	}
	if want := []string{"DomainResource-text", "Resource-content", "Resource-query"}; !slices.Equal(noExpr, want) {
		t.Errorf("parameters without expression = %v, want %v", noExpr, want)
	}
	t.Logf("%d of %d search parameters compiled, with %d component expressions", compiled, len(params), components)
}

// resultTypes are the types each search parameter type can index (FHIR R4
// search.html, "Search Parameter Types").
var resultTypes = map[string][]string{
	"token":  {"boolean", "code", "Coding", "CodeableConcept", "ContactPoint", "Identifier", "string", "uri"},
	"string": {"string", "HumanName", "Address", "markdown"},
	// Immunization.occurrenceString ("January 2012") is a date parameter's
	// result that the extractor must skip.
	"date":      {"date", "dateTime", "instant", "Period", "Timing", "string"},
	"reference": {"Reference", "canonical", "uri"},
	"quantity":  {"Quantity", "SampledData"},
	"uri":       {"uri", "canonical", "url"},
	"composite": {"Observation", "Observation.component"},
}

// TestSearchParametersTyped evaluates every served parameter on every
// official example and checks that the results have a type its search
// parameter type can index: the type model must tell a Period from a
// dateTime and a CodeableConcept from a string.
func TestSearchParametersTyped(t *testing.T) {
	params := servedParams(t)
	typeOf := map[string]string{}
	for _, p := range params {
		typeOf["http://hl7.org/fhir/SearchParameter/"+p.ID] = p.Type
	}
	var pairs, nonEmpty int
	for _, name := range servedExamples(t) {
		res := readExample(t, name)
		rt := res["resourceType"].(string)
		for _, p := range params {
			if p.Expression == "" || !p.appliesTo(rt) {
				continue
			}
			got, err := MustCompile(p.Expression).Evaluate(res)
			if err != nil {
				t.Errorf("%s on %s: %v", p.ID, name, err)
				continue
			}
			pairs++
			if len(got) > 0 {
				nonEmpty++
			}
			checkTypes(t, name, p.ID, p.Type, got)
			for _, n := range got {
				for _, c := range p.Component {
					sub, err := MustCompile(c.Expression).EvaluateNode(res, n)
					if err != nil {
						t.Errorf("%s component %s on %s: %v", p.ID, c.Expression, name, err)
					}
					checkTypes(t, name, p.ID+" "+c.Expression, typeOf[c.Definition], sub)
				}
			}
		}
	}
	t.Logf("%d (parameter, example) pairs evaluated, %d non-empty", pairs, nonEmpty)
}

func checkTypes(t *testing.T, example, param, spType string, got []Node) {
	t.Helper()
	allowed, ok := resultTypes[spType]
	if !ok {
		t.Errorf("%s: unexpected search parameter type %q", param, spType)
		return
	}
	for _, n := range got {
		if !slices.Contains(allowed, n.Type) {
			t.Errorf("%s on %s: result of type %s, want one of %s", param, example, n.Type, strings.Join(allowed, ", "))
		}
	}
}
