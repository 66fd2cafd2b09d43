// Package model is the FHIR R4 type model the FHIRPath evaluator navigates
// with: for each type its base type and the types of its elements, generated
// from the official StructureDefinitions (model_gen.go).
package model

//go:generate go run ../gen -dir ../../../../.cache/r4-examples/package -out model_gen.go

import (
	"strings"
)

// Kind says what sort of type a Type is.
type Kind uint8

const (
	Primitive Kind = iota + 1 // boolean, string, dateTime, ...: the JSON scalar
	Complex                   // a datatype such as CodeableConcept
	Resource                  // a resource type, or Resource/DomainResource
	Backbone                  // an inline element type, named by its path
)

// row is one generated table line.
type row struct {
	name, base string
	kind       Kind
	elements   []string
}

// Type is one FHIR type.
type Type struct {
	Name string
	Base string // "" for Element and Resource
	Kind Kind
	// Modelled is false for resource types known only by name: their
	// elements are not in the table (see the generator's -resources flag).
	Modelled bool
	// Leaf says no type derives from this one, so only the name itself is
	// of this type: a cheap test for the path filters of multi-resource
	// expressions (AllergyIntolerance.code | Observation.code | ...).
	Leaf     bool
	elements map[string]*Element
}

// Element is one element of a type. For a choice element (value[x]) Types
// has each allowed type, and Keys the JSON member that carries it
// (valueQuantity); otherwise both have one entry, Keys[0] == Name.
type Element struct {
	Name   string
	Choice bool
	// Repeats says the element's cardinality allows more than one item, so
	// its JSON is an array.
	Repeats bool
	Types   []string
	Keys    []string
}

var types = build()

func build() map[string]*Type {
	m := make(map[string]*Type, len(table))
	for _, r := range table {
		t := &Type{Name: r.name, Base: r.base, Kind: r.kind, Modelled: r.elements != nil || r.kind != Resource}
		if r.elements != nil {
			t.elements = make(map[string]*Element, len(r.elements))
		}
		for _, line := range r.elements {
			f := strings.Fields(line)
			e := &Element{Name: f[0], Types: f[1:]}
			e.Name, e.Repeats = strings.CutSuffix(e.Name, "*")
			if name, ok := strings.CutSuffix(e.Name, "[x]"); ok {
				e.Name, e.Choice = name, true
				for _, typ := range e.Types {
					e.Keys = append(e.Keys, name+strings.ToUpper(typ[:1])+typ[1:])
				}
			} else {
				e.Keys = []string{e.Name}
			}
			t.elements[e.Name] = e
		}
		m[r.name] = t
	}
	for _, t := range m {
		t.Leaf = true
	}
	for _, t := range m {
		if b := m[t.Base]; b != nil {
			b.Leaf = false
		}
	}
	return m
}

// Lookup returns the type named name, or nil.
func Lookup(name string) *Type { return types[name] }

// Element returns the element of t named name (without [x]), or nil.
func (t *Type) Element(name string) *Element { return t.elements[name] }

// IsA reports whether typ is base or derives from it (Age is a Quantity,
// Observation a DomainResource and a Resource).
func IsA(typ, base string) bool {
	if typ == base {
		return true
	}
	if b := types[base]; b != nil && b.Leaf {
		return false
	}
	for typ != "" {
		if typ == base {
			return true
		}
		t := types[typ]
		if t == nil {
			return false
		}
		typ = t.Base
	}
	return false
}

// IsResource reports whether name is a resource type (abstract or not).
func IsResource(name string) bool {
	t := types[name]
	return t != nil && t.Kind == Resource
}
