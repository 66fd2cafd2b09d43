package fhirpath

import (
	"fmt"
)

// function describes one supported FHIRPath function.
type function struct {
	minArgs, maxArgs int
	typeArg          bool               // the (first) argument is a type specifier
	check            func(*call) string // compile-time argument check; "" if fine
	eval             func(c *evalCtx, in []Node, fn *call) ([]Node, error)
}

// call is a function invocation on the focus.
type call struct {
	name string
	fn   *function
	args []expr
	typ  *typeSpec
}

func (f *call) eval(c *evalCtx, in []Node) ([]Node, error) {
	out, err := f.fn.eval(c, in, f)
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", f.name, err)
	}
	return out, nil
}

// functions are those the R4 search parameters for the served resources use
// (and their obvious companions); any other name fails Compile.
var functions = map[string]*function{
	// N1 §5.1 Existence.
	"empty": {eval: func(_ *evalCtx, in []Node, _ *call) ([]Node, error) {
		return boolean(len(in) == 0), nil
	}},
	"exists": {maxArgs: 1, eval: func(c *evalCtx, in []Node, f *call) ([]Node, error) {
		if len(f.args) == 0 {
			return boolean(len(in) > 0), nil
		}
		found, err := filter(c, in, f.args[0], true)
		if err != nil {
			return nil, err
		}
		return boolean(len(found) > 0), nil
	}},
	// N1 §5.2 Filtering and projection.
	"where": {minArgs: 1, maxArgs: 1, eval: func(c *evalCtx, in []Node, f *call) ([]Node, error) {
		return filter(c, in, f.args[0], false)
	}},
	"ofType": {minArgs: 1, maxArgs: 1, typeArg: true, eval: func(_ *evalCtx, in []Node, f *call) ([]Node, error) {
		return ofType(in, f.typ), nil
	}},
	// N1 §5.3 Subsetting.
	"first": {eval: func(_ *evalCtx, in []Node, _ *call) ([]Node, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[:1:1], nil
	}},
	"last": {eval: func(_ *evalCtx, in []Node, _ *call) ([]Node, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[len(in)-1:], nil
	}},
	// N1 §6.5 Boolean logic.
	"not": {eval: func(_ *evalCtx, in []Node, _ *call) ([]Node, error) {
		v, ok, err := singletonBool(in)
		if err != nil || !ok {
			return nil, err
		}
		return boolean(!v), nil
	}},
	// N1 §6.3 Types, function forms.
	"is": {minArgs: 1, maxArgs: 1, typeArg: true, eval: func(_ *evalCtx, in []Node, f *call) ([]Node, error) {
		return isType(in, f.typ)
	}},
	"as": {minArgs: 1, maxArgs: 1, typeArg: true, eval: func(_ *evalCtx, in []Node, f *call) ([]Node, error) {
		return ofType(in, f.typ), nil
	}},
	// R4 fhirpath.html "Additional functions".
	"resolve": {eval: func(c *evalCtx, in []Node, _ *call) ([]Node, error) {
		return resolve(c, in), nil
	}},
	"extension": {minArgs: 1, maxArgs: 1, check: literalStringArg, eval: func(c *evalCtx, in []Node, f *call) ([]Node, error) {
		url := f.args[0].(*literal).Value.(string)
		var out []Node
		for _, n := range in {
			for _, ext := range appendChildren(nil, n, "extension", c.locate) {
				if obj, ok := ext.Value.(map[string]any); ok && obj["url"] == url {
					out = append(out, ext)
				}
			}
		}
		return out, nil
	}},
}

// literalStringArg restricts extension() to a literal URL, the only form
// the specification's expressions use.
func literalStringArg(f *call) string {
	if l, ok := f.args[0].(*literal); ok {
		if _, ok := l.Value.(string); ok {
			return ""
		}
	}
	return f.name + "() needs a string literal argument"
}

// filter returns the items of in for which criteria, evaluated with the
// item as focus and $this, is true (N1 §5.2 where). With firstOnly it stops
// at the first match, which is all exists(criteria) needs.
func filter(c *evalCtx, in []Node, criteria expr, firstOnly bool) ([]Node, error) {
	var out []Node
	one := make([]Node, 1) // reused focus: criteria must not keep it
	for _, n := range in {
		one[0] = n
		r, err := criteria.eval(c, one)
		if err != nil {
			return nil, err
		}
		v, ok, err := singletonBool(r)
		if err != nil {
			return nil, err
		}
		if ok && v {
			out = append(out, n)
			if firstOnly {
				break
			}
		}
	}
	return out, nil
}
