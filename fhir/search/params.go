package search

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirpath"
)

// Search parameter types (https://hl7.org/fhir/R4/search.html#ptypes).
const (
	TypeString    = "string"
	TypeToken     = "token"
	TypeDate      = "date"
	TypeReference = "reference"
	TypeQuantity  = "quantity"
	TypeNumber    = "number"
	TypeURI       = "uri"
	TypeComposite = "composite"
)

// Param is a search parameter as Mekong serves it.
type Param struct {
	Code        string
	Type        string
	URL         string
	Description string
	Expression  string
	Base        []string
	Targets     []string
	// Components of a composite, in order.
	Components []*Component
	// Column names a parameter served from the resources table itself
	// (_id, _lastUpdated) rather than from index rows.
	Column string
	// Derived, when set, serves the parameter from other parameters'
	// index rows (derived.go).
	Derived *Derivation
	expr    *fhirpath.Expression
}

// Component is one part of a composite parameter.
type Component struct {
	Type string
	expr *fhirpath.Expression
}

// Registry is every search parameter of the served types, compiled.
type Registry struct {
	types  []string
	params map[string]map[string]*Param
	// Unsupported lists defined parameters Mekong does not serve, with why.
	Unsupported map[string]string
	// Location interprets dates and dateTimes without a timezone.
	Location *time.Location
}

// NewRegistry compiles the R4 definitions for types. An expression the
// FHIRPath evaluator cannot handle is an error: Mekong refuses to start rather
// than index a parameter wrongly.
func NewRegistry(types []string, loc *time.Location) (*Registry, error) {
	r := &Registry{types: append([]string(nil), types...), params: map[string]map[string]*Param{},
		Unsupported: map[string]string{}, Location: loc}
	sort.Strings(r.types)
	byURL := map[string]definition{}
	for _, d := range definitions {
		byURL[d.URL] = d
	}
	served := map[string]bool{"Resource": true, "DomainResource": true}
	for _, t := range types {
		served[t] = true
		r.params[t] = map[string]*Param{}
	}
	for _, d := range definitions {
		applies := false
		for _, b := range d.Base {
			applies = applies || served[b]
		}
		if !applies {
			continue
		}
		p, err := compile(d, byURL)
		if err != nil {
			return nil, fmt.Errorf("search.NewRegistry: %w", err)
		}
		if p == nil {
			r.Unsupported[d.Code] = "no FHIRPath expression is defined for it"
			continue
		}
		for _, t := range types {
			for _, b := range d.Base {
				if b == t || b == "Resource" || (b == "DomainResource" && t != "Bundle") {
					r.params[t][p.Code] = p
				}
			}
		}
	}
	r.derive()
	return r, nil
}

func compile(d definition, byURL map[string]definition) (*Param, error) {
	p := &Param{Code: d.Code, Type: d.Type, URL: d.URL, Description: d.Description, Expression: d.Expression,
		Base: d.Base, Targets: d.Target}
	switch d.Code {
	case "_id":
		p.Column = "id"
		return p, nil
	case "_lastUpdated":
		p.Column = "lastUpdated"
		return p, nil
	}
	if d.Expression == "" {
		return nil, nil
	}
	e, err := fhirpath.Compile(d.Expression)
	if err != nil {
		return nil, fmt.Errorf("parameter %s (%s): %w", d.Code, d.URL, err)
	}
	p.expr = e
	for _, c := range d.Components {
		cd, ok := byURL[c.Definition]
		if !ok {
			return nil, fmt.Errorf("parameter %s: component definition %s not found", d.Code, c.Definition)
		}
		ce, err := fhirpath.Compile(c.Expression)
		if err != nil {
			return nil, fmt.Errorf("parameter %s component %s: %w", d.Code, c.Expression, err)
		}
		p.Components = append(p.Components, &Component{Type: cd.Type, expr: ce})
	}
	if p.Type == TypeComposite && (len(p.Components) != 2 || p.Components[0].Type != TypeToken) {
		return nil, fmt.Errorf("parameter %s: only token-first composites of two components are supported", d.Code)
	}
	return p, nil
}

// Lookup finds a parameter of a type.
func (r *Registry) Lookup(typ, code string) (*Param, bool) {
	p, ok := r.params[typ][code]
	return p, ok
}

// Params lists a type's parameters sorted by code.
func (r *Registry) Params(typ string) []*Param {
	out := make([]*Param, 0, len(r.params[typ]))
	for _, p := range r.params[typ] {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Types lists the served types.
func (r *Registry) Types() []string { return r.types }

// ReferenceTargets lists the types a reference parameter of typ may point to.
func (p *Param) ReferenceTargets() []string {
	if len(p.Targets) > 0 {
		return p.Targets
	}
	return nil
}

func (p *Param) String() string { return p.Code + " (" + p.Type + ")" }

// Documentation is the parameter's description for typ: shared definitions
// (clinical-code, individual-family, ...) list one line per base type.
func (p *Param) Documentation(typ string) string {
	d := p.Description
	if strings.HasPrefix(d, "Multiple Resources:") {
		for _, line := range strings.Split(d, "\n") {
			if strings.HasPrefix(line, "* ["+typ+"]") {
				if _, after, ok := strings.Cut(line, ": "); ok {
					return strings.TrimSpace(after)
				}
			}
		}
	}
	return strings.TrimSpace(d)
}
