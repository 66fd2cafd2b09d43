package definitions

import (
	"context"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// https://hl7.org/fhir/R4/conceptmap.html, operationdefinition.html and
// structuredefinition.html: every resource served is valid R4 (checked by
// google/fhir/go through fhir/resource, as client writes are), and is read
// back by its id.
func TestEveryResourceIsValidR4(t *testing.T) {
	c, err := New(terminology.Default())
	if err != nil {
		t.Fatal(err)
	}
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ConceptMap: 8, OperationDefinition: 7 /* + $import-health-card */ + 1 /* $summary */ + 4 /* identity: $match, $identity-link, -unlink, -review */, StructureDefinition: 5 + 2 /* extensions: identity-link-assurance, identifier-doubt */}
	for _, typ := range c.Types() {
		if len(c.byTyp[typ]) != want[typ] {
			t.Errorf("%d %s, want %d", len(c.byTyp[typ]), typ, want[typ])
		}
		for _, e := range c.byTyp[typ] {
			if _, err := p.Parse(e.body); err != nil {
				t.Errorf("%s/%s: %v", typ, e.id, err)
			}
			res, err := c.Read(context.Background(), rest.Request{Type: typ, ID: e.id})
			if err != nil || string(res.Body) != string(e.body) {
				t.Errorf("read %s/%s: %v", typ, e.id, err)
			}
		}
	}
}

// https://hl7.org/fhir/R4/search.html#escaping: a backslash escapes a comma
// inside a value; an unescaped comma separates values (OR).
func TestSplitOR(t *testing.T) {
	for in, want := range map[string][]string{
		"a":       {"a"},
		"a,b":     {"a", "b"},
		`a\,b`:    {"a,b"},
		`a\\,b,c`: {`a\`, "b", "c"},
		"":        {""},
	} {
		got := splitOR(in)
		if len(got) != len(want) {
			t.Errorf("%q: %q, want %q", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%q: %q, want %q", in, got, want)
			}
		}
	}
}
