package fhirpath

import (
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/fhirpath/internal/model"
)

// expr is one node of a compiled expression. eval receives the focus (the
// input collection) and returns the output collection. It must not modify
// in, which callers may reuse.
type expr interface {
	eval(c *evalCtx, in []Node) ([]Node, error)
}

// evalCtx is the per-evaluation environment.
type evalCtx struct {
	root Node // %resource
	// locate makes navigation record where each element sits (Locate).
	locate bool
}

type literal struct{ Node }

func (l *literal) eval(*evalCtx, []Node) ([]Node, error) {
	if l.Value == nil {
		return nil, nil // {}
	}
	return []Node{l.Node}, nil
}

// thisExpr is $this. Terms are always evaluated with the item under
// consideration as focus (where() passes each item alone), so $this is the
// focus itself (N1 §5.2 where).
type thisExpr struct{}

func (thisExpr) eval(_ *evalCtx, in []Node) ([]Node, error) { return in, nil }

// resourceExpr is %resource (fhirpath.html, "Variables"): the root.
type resourceExpr struct{}

func (resourceExpr) eval(c *evalCtx, _ []Node) ([]Node, error) { return []Node{c.root}, nil }

// dot evaluates right with the output of left as its focus.
type dot struct{ left, right expr }

func (d *dot) eval(c *evalCtx, in []Node) ([]Node, error) {
	mid, err := d.left.eval(c, in)
	if err != nil {
		return nil, err
	}
	// No short cut on an empty mid: exists() and empty() answer for it.
	return d.right.eval(c, mid)
}

// typeFilter is a type name at the start of a path, "Observation" in
// Observation.code: it keeps the focus items of that type, so that in a
// multi-base expression the AllergyIntolerance.code branch is empty for an
// Observation (R4 fhirpath.html: "A FHIRPath may optionally start with a full
// resource name").
type typeFilter struct {
	name string
	leaf bool // no subtypes: compare names only
}

func (f *typeFilter) eval(_ *evalCtx, in []Node) ([]Node, error) {
	return keep(in, func(n Node) bool {
		return n.Type == f.name || (!f.leaf && model.IsA(n.Type, f.name))
	}), nil
}

// keep returns the items of in that satisfy ok, and in itself when all do,
// which is the common case (the root passing its own type filter) and
// saves an allocation per search parameter.
func keep(in []Node, ok func(Node) bool) []Node {
	for i, n := range in {
		if ok(n) {
			continue
		}
		out := append([]Node(nil), in[:i]...)
		for _, m := range in[i+1:] {
			if ok(m) {
				out = append(out, m)
			}
		}
		return out
	}
	return in
}

// isTypeFilter reports whether an identifier at the start of a path names a
// type rather than an element: element names start in lower case, and so do
// primitive types, which are therefore never filters ("code" in a composite
// component is the element).
func isTypeFilter(name string) bool {
	t := model.Lookup(name)
	return t != nil && (t.Kind == model.Resource || t.Kind == model.Complex)
}

// member is path navigation to the child elements called name (N1 §3).
type member struct{ name string }

func (m *member) eval(c *evalCtx, in []Node) ([]Node, error) {
	var out []Node
	for _, n := range in {
		out = appendChildren(out, n, m.name, c.locate)
	}
	return out, nil
}

// appendChildren appends the children of n called name. A choice element
// is found under its typed JSON name (valueQuantity) and gets that type;
// JSON nulls (placeholders beside primitive extensions) are skipped. With
// locate, each child records its place in n (an allocation search
// extraction does not pay for).
func appendChildren(out []Node, n Node, name string, locate bool) []Node {
	obj, ok := n.Value.(map[string]any)
	if !ok {
		return out
	}
	t := model.Lookup(n.Type)
	if t == nil {
		return out
	}
	el := t.Element(name)
	if el == nil {
		return out
	}
	for i, key := range el.Keys {
		v, ok := obj[key]
		if !ok {
			continue
		}
		typ := el.Types[i]
		if arr, ok := v.([]any); ok {
			for j, item := range arr {
				out = appendValue(out, typ, item)
				if locate && item != nil { // appendValue skips nulls
					out[len(out)-1].loc = &Location{Parent: obj, Key: key, Index: j}
				}
			}
		} else {
			out = appendValue(out, typ, v)
			if locate && v != nil {
				out[len(out)-1].loc = &Location{Parent: obj, Key: key, Index: -1}
			}
		}
	}
	return out
}

func appendValue(out []Node, typ string, v any) []Node {
	if v == nil {
		return out
	}
	// Contained and Bundle resources are typed only as Resource in the
	// model; the instance says what they are.
	if typ == "Resource" {
		if obj, ok := v.(map[string]any); ok {
			if rt, ok := obj["resourceType"].(string); ok {
				typ = rt
			}
		}
	}
	return append(out, Node{Type: typ, Value: v})
}

// indexer is expr[n] (N1 §6.6.1 Indexer): the item at the 0-based index,
// empty when there is none. FHIRPath Patch paths use it to pick one item of
// a list (Patient.name[0].given[1]).
type indexer struct {
	left  expr
	index int
}

func (x *indexer) eval(c *evalCtx, in []Node) ([]Node, error) {
	l, err := x.left.eval(c, in)
	if err != nil || x.index >= len(l) {
		return nil, err
	}
	return l[x.index : x.index+1 : x.index+1], nil
}

// union is the | operator (N1 §6.4.1): all collections, duplicates removed.
// A chain a | b | c is one union, so the multi-resource expressions of R4
// (32 branches for clinical-patient) dedupe once instead of at each |.
type union struct{ branches []expr }

func (u *union) eval(c *evalCtx, in []Node) ([]Node, error) {
	var only []Node // the result while at most one branch is non-empty
	var out []Node
	nonEmpty := 0
	for _, b := range u.branches {
		r, err := b.eval(c, in)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			continue
		}
		if nonEmpty++; nonEmpty == 1 {
			only = r
			continue
		}
		if out == nil {
			out = appendDistinct(nil, only)
		}
		out = appendDistinct(out, r)
	}
	if nonEmpty == 1 && len(only) > 1 {
		return appendDistinct(nil, only), nil
	}
	if nonEmpty <= 1 {
		return only, nil
	}
	return out, nil
}

// appendDistinct appends the items of ns not already in out, by =.
func appendDistinct(out, ns []Node) []Node {
next:
	for _, n := range ns {
		for _, m := range out {
			if eq, ok := nodesEqual(n, m); ok && eq {
				continue next
			}
		}
		out = append(out, n)
	}
	return out
}

// equality is = and != (N1 §6.1): empty if either side is empty, else true
// when both have the same items in the same order.
type equality struct {
	negate      bool
	left, right expr
}

func (e *equality) eval(c *evalCtx, in []Node) ([]Node, error) {
	l, err := e.left.eval(c, in)
	if err != nil {
		return nil, err
	}
	r, err := e.right.eval(c, in)
	if err != nil || len(l) == 0 || len(r) == 0 {
		return nil, err
	}
	eq := len(l) == len(r)
	for i := 0; eq && i < len(l); i++ {
		var known bool
		if eq, known = nodesEqual(l[i], r[i]); !known {
			return nil, nil // e.g. dates of different precision
		}
	}
	return boolean(eq != e.negate), nil
}

// logic is and/or with the three-valued logic of N1 §6.5, where an empty
// operand means "unknown".
type logic struct {
	and         bool
	left, right expr
}

func (g *logic) eval(c *evalCtx, in []Node) ([]Node, error) {
	l, err := g.left.eval(c, in)
	if err != nil {
		return nil, err
	}
	lv, lok, err := singletonBool(l)
	if err != nil {
		return nil, err
	}
	// A decided left side decides the whole: false and x, true or x.
	if lok && lv != g.and {
		return boolean(lv), nil
	}
	r, err := g.right.eval(c, in)
	if err != nil {
		return nil, err
	}
	rv, rok, err := singletonBool(r)
	if err != nil {
		return nil, err
	}
	switch {
	case rok && rv != g.and:
		return boolean(rv), nil
	case lok && rok:
		return boolean(g.and), nil // both true for and, both false for or
	}
	return nil, nil
}

// typeOp is the is and as operators (N1 §6.3).
type typeOp struct {
	op   string
	left expr
	typ  *typeSpec
}

func (t *typeOp) eval(c *evalCtx, in []Node) ([]Node, error) {
	l, err := t.left.eval(c, in)
	if err != nil {
		return nil, err
	}
	if t.op == "is" {
		return isType(l, t.typ)
	}
	return ofType(l, t.typ), nil
}

func boolean(b bool) []Node { return []Node{{Type: "boolean", Value: b}} }

// singletonBool converts a collection to a boolean as N1 §4.5 "Singleton
// Evaluation of Collections" does: empty is unknown (ok false), one
// boolean is its value, any other single item is true, more is an error.
func singletonBool(ns []Node) (v, ok bool, err error) {
	switch len(ns) {
	case 0:
		return false, false, nil
	case 1:
		if b, isBool := ns[0].Value.(bool); isBool {
			return b, true, nil
		}
		return true, true, nil
	}
	return false, false, fmt.Errorf("expected a single boolean, got %d items", len(ns))
}
