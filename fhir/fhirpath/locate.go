package fhirpath

import (
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/fhirpath/internal/model"
)

// Location says where an element sits in the JSON a resource was decoded
// from, so that a FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html)
// can change what an expression selects.
type Location struct {
	// Parent is the JSON object holding the element; nil for the resource itself.
	Parent map[string]any
	// Key is the JSON member: the element name, or for a choice its typed
	// name (valueQuantity).
	Key string
	// Index is the element's position in the member's array; -1 when the
	// member is not an array.
	Index int
}

// Match is one element an expression selected, and where it is.
type Match struct {
	Node
	Location
}

// Locate evaluates e against resource like Evaluate and returns where each
// selected element sits. Every result must be an element of the resource:
// a computed value (a literal, the result of exists()) or a resolve()d
// reference has no place in it and is an error.
func (e *Expression) Locate(resource map[string]any) ([]Match, error) {
	root, err := rootNode(resource)
	if err != nil {
		return nil, err
	}
	root.loc = &Location{Index: -1}
	f := &evalCtx{root: root, locate: true}
	out, err := e.root.eval(f, []Node{root})
	if err != nil {
		return nil, fmt.Errorf("fhirpath: evaluating %q: %w", e.src, err)
	}
	matches := make([]Match, 0, len(out))
	for _, n := range out {
		if n.loc == nil {
			return nil, fmt.Errorf("fhirpath: %q selects a %s that is not an element of the resource", e.src, n.Type)
		}
		matches = append(matches, Match{Node: Node{Type: n.Type, Value: n.Value}, Location: *n.loc})
	}
	return matches, nil
}

// ElementDef describes one element of a type in the R4 model.
type ElementDef struct {
	Name string
	// Choice is set for value[x]-style elements; Types then lists the
	// allowed types and Keys their JSON names (valueQuantity).
	Choice  bool
	Repeats bool // the cardinality allows more than one: the JSON is an array
	Types   []string
	Keys    []string
}

// Element looks up the element called name (without [x]) of the type typ,
// as Node.Type names it ("Patient", "HumanName", "Patient.contact").
func Element(typ, name string) (ElementDef, bool) {
	t := model.Lookup(typ)
	if t == nil {
		return ElementDef{}, false
	}
	el := t.Element(name)
	if el == nil {
		return ElementDef{}, false
	}
	return ElementDef{Name: el.Name, Choice: el.Choice, Repeats: el.Repeats, Types: el.Types, Keys: el.Keys}, true
}

// IsPrimitive reports whether typ is a FHIR primitive type, whose JSON is a
// scalar with its extensions in a "_name" sibling.
func IsPrimitive(typ string) bool {
	t := model.Lookup(typ)
	return t != nil && t.Kind == model.Primitive
}
