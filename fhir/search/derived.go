package search

import "strings"

// Derivation says how a parameter is served from other parameters' index
// rows instead of rows of its own, so a write does not store the same
// values twice (about a third of an Observation's index rows were such
// repeats). Each one below is checked against full extraction by
// TestDerivedParametersMatchExtraction.
type Derivation struct {
	// Union: the parameter's values are exactly those of these parameters
	// (its expression is the union of theirs): it keeps no rows at all.
	Union []string
	// From and Target: the parameter is From.where(resolve() is Target).
	// Its reference rows are From's that point at a Target (a local
	// reference to one, or an absolute URL of one); it keeps only its
	// :identifier rows, which From's cannot tell apart.
	From, Target string
}

// derivations are the derived parameters, by type. Observation's combo-*
// parameters are value | component.value; its patient is subject where a
// Patient, as Provenance's patient is target where a Patient.
var derivations = map[string]map[string]Derivation{
	"Observation": {
		"combo-code":                {Union: []string{"code", "component-code"}},
		"combo-data-absent-reason":  {Union: []string{"data-absent-reason", "component-data-absent-reason"}},
		"combo-value-concept":       {Union: []string{"value-concept", "component-value-concept"}},
		"combo-value-quantity":      {Union: []string{"value-quantity", "component-value-quantity"}},
		"combo-code-value-concept":  {Union: []string{"code-value-concept", "component-code-value-concept"}},
		"combo-code-value-quantity": {Union: []string{"code-value-quantity", "component-code-value-quantity"}},
		"patient":                   {From: "subject", Target: "Patient"},
	},
	"Provenance": {
		"patient": {From: "target", Target: "Patient"},
	},
}

// derive gives each derived parameter of the served types its own copy of
// the shared definition, marked with how it is derived.
func (r *Registry) derive() {
	for typ, ds := range derivations {
		for code, d := range ds {
			p, ok := r.params[typ][code]
			if !ok {
				continue
			}
			c := *p
			d := d
			c.Derived = &d
			r.params[typ][code] = &c
		}
	}
}

// StoredParams are the index parameter names whose rows hold the values of
// c's parameter with modifier (indexParam's name unless derived).
func (p *Param) StoredParams(modifier string) []string {
	switch {
	case p.Derived == nil:
	case len(p.Derived.Union) > 0:
		return p.Derived.Union
	case modifier != "identifier":
		return []string{p.Derived.From}
	}
	return nil
}

// prune drops the rows derived parameters do not keep.
func (r *Registry) prune(typ string, ix *Index) {
	var unions, refs map[string]bool
	for code, p := range r.params[typ] {
		switch d := p.Derived; {
		case d == nil:
		case len(d.Union) > 0:
			if unions == nil {
				unions = map[string]bool{}
			}
			unions[code] = true
		default:
			if refs == nil {
				refs = map[string]bool{}
			}
			refs[code] = true
		}
	}
	if unions != nil {
		ix.Tokens = filter(ix.Tokens, func(t TokenRow) bool { return !unions[t.Param] })
		ix.Quantities = filter(ix.Quantities, func(q QuantityRow) bool { return !unions[q.Param] })
		ix.Composites = filter(ix.Composites, func(c CompositeRow) bool { return !unions[c.Param] })
	}
	if refs != nil {
		ix.Refs = filter(ix.Refs, func(x RefRow) bool { return !refs[x.Param] })
	}
}

func filter[T any](rows []T, keep func(T) bool) []T {
	out := rows[:0]
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// ReferenceType is the resource type a literal reference (relative or
// absolute, with or without a version) points at, "" when it names none.
func ReferenceType(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, '/')
	if i <= 0 || i == len(ref)-1 {
		return ""
	}
	typ := ref[:i]
	return typ[strings.LastIndexByte(typ, '/')+1:]
}
