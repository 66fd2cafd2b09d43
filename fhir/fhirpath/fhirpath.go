// Package fhirpath evaluates the FHIRPath expressions of FHIR R4
// SearchParameter definitions against resources decoded from JSON, so the
// search index can be filled from the specification's own definitions.
//
// It implements the subset of FHIRPath N1 (http://hl7.org/fhirpath/N1/)
// and of the FHIR additions (http://hl7.org/fhir/R4/fhirpath.html) that
// those expressions use: path navigation with choice types, union, = and
// !=, and/or, is/as, and the functions where, exists, empty, first, last,
// not, is, as, ofType, resolve and extension. Compile rejects everything
// else, naming the construct and its position, so that a definition the
// evaluator cannot honour stops the server at start-up instead of filling
// the index wrongly.
//
// Types come from a table generated from the R4 StructureDefinitions
// (internal/model), which is what tells a Period from a dateTime in
// Observation.effective[x]. The table holds every datatype but the elements
// of only the served resource types (Patient, Immunization, Observation):
// Evaluate refuses a resource of another type, and a contained resource of
// another type has no children.
//
// Deliberate departures from N1, each for the R4 search parameters: the as
// operator and as() filter like ofType() instead of failing on more than
// one item; System types (DateTime, String, ...) match the FHIR primitives
// whose values they are, so value.as(DateTime) selects valueDateTime; and
// resolve() does not fetch anything, it only types the reference target.
package fhirpath

import (
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/fhirpath/internal/model"
)

// Node is one value in a FHIRPath collection.
type Node struct {
	// Type is the FHIR type code: "HumanName", "CodeableConcept",
	// "Reference", "dateTime", "string", "code", ...; a resource has its
	// resource type ("Patient"). An element whose type is defined inline
	// (a BackboneElement) has its definition path, "Observation.component".
	// Values the expression computes itself (literals, the result of
	// exists() or =) have the FHIR primitive code of their FHIRPath type:
	// "boolean", "string", "integer" or "decimal".
	Type string
	// Value is the decoded JSON: map[string]any for complex types and
	// resources; string, json.Number or bool for primitives.
	Value any
	// loc is where the element sits in the resource, set only by Locate.
	loc *Location
}

// Expression is a compiled FHIRPath expression. It is immutable and safe
// for concurrent use.
type Expression struct {
	src  string
	root expr
}

// Error reports an expression that does not parse or uses a construct the
// evaluator does not implement.
type Error struct {
	Expr string // the expression
	Pos  int    // byte offset of the offending construct
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("fhirpath: %s at column %d of %q", e.Msg, e.Pos+1, e.Expr)
}

func errAt(expr string, pos int, msg string) error { return &Error{Expr: expr, Pos: pos, Msg: msg} }

// Compile parses expr; it fails on anything the evaluator does not
// implement.
func Compile(expr string) (*Expression, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{src: expr, toks: toks}
	root, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "unexpected %s", describe(t))
	}
	return &Expression{src: expr, root: root}, nil
}

// MustCompile is Compile for expressions known at build time; it panics on
// error.
func MustCompile(expr string) *Expression {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source of the expression.
func (e *Expression) String() string { return e.src }

// Evaluate runs e against a resource decoded with json.Decoder.UseNumber()
// (a map[string]any with "resourceType"). The result is in document order
// where FHIRPath defines one; it shares maps and slices with resource.
func (e *Expression) Evaluate(resource map[string]any) ([]Node, error) {
	root, err := rootNode(resource)
	if err != nil {
		return nil, err
	}
	return e.run(root, root)
}

// EvaluateNode runs e with context as its focus and $this, as composite
// search parameters evaluate their components against each result of the
// main expression; resource is the root for %resource and for resolving
// references to contained resources.
func (e *Expression) EvaluateNode(resource map[string]any, context Node) ([]Node, error) {
	root, err := rootNode(resource)
	if err != nil {
		return nil, err
	}
	return e.run(root, context)
}

func (e *Expression) run(root, focus Node) ([]Node, error) {
	// One allocation for both: this runs for every parameter on every write.
	f := &struct {
		c     evalCtx
		focus [1]Node
	}{evalCtx{root: root}, [1]Node{focus}}
	out, err := e.root.eval(&f.c, f.focus[:])
	if err != nil {
		return nil, fmt.Errorf("fhirpath: evaluating %q: %w", e.src, err)
	}
	return out, nil
}

// rootNode checks that the resource's type is one whose elements the
// generated model knows: navigating an unmodelled type would silently
// yield nothing, so it is an error instead.
func rootNode(resource map[string]any) (Node, error) {
	rt, _ := resource["resourceType"].(string)
	t := model.Lookup(rt)
	switch {
	case rt == "":
		return Node{}, fmt.Errorf("fhirpath: resource has no resourceType")
	case t == nil || t.Kind != model.Resource:
		return Node{}, fmt.Errorf("fhirpath: unknown resource type %q", rt)
	case !t.Modelled:
		return Node{}, fmt.Errorf("fhirpath: resource type %s is not in the generated model (add it to the generator's -resources)", rt)
	}
	return Node{Type: rt, Value: resource}, nil
}
