package fhirpath

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirpath/internal/model"
)

// Operator precedence, from N1 §6.8 (higher binds tighter). Every N1
// operator is listed so that an unsupported one is reported by name rather
// than as a syntax error.
var binaryOps = map[string]struct {
	prec      int
	supported bool
}{
	"implies": {1, false},
	"or":      {2, true}, "xor": {2, false},
	"and": {3, true},
	"in":  {4, false}, "contains": {4, false},
	"=": {5, true}, "!=": {5, true}, "~": {5, false}, "!~": {5, false},
	"<": {6, false}, ">": {6, false}, "<=": {6, false}, ">=": {6, false},
	"|":  {7, true},
	"is": {8, true}, "as": {8, true},
	"+": {9, false}, "-": {9, false}, "&": {9, false},
	"*": {10, false}, "/": {10, false}, "div": {10, false}, "mod": {10, false},
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// maxDepth bounds nesting so that a hostile expression cannot exhaust the
// stack; the deepest R4 search parameter nests three levels.
const maxDepth = 100

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return errAt(p.src, t.pos, fmt.Sprintf(format, args...))
}

func (p *parser) expect(punct string) error {
	if t := p.next(); t.kind != tokPunct || t.text != punct {
		return p.errorf(t, "expected %q, found %s", punct, describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokString:
		return "string " + strconv.Quote(t.text)
	default:
		return strconv.Quote(t.text)
	}
}

// parseExpr is a precedence climber over the N1 grammar: terms joined by
// binary operators, with '.' invocations binding tightest.
func (p *parser) parseExpr(minPrec int) (expr, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.errorf(p.peek(), "expression nested too deeply")
	}
	defer func() { p.depth-- }()
	left, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tokPunct && t.text == "." {
			p.next()
			inv, err := p.parseInvocation()
			if err != nil {
				return nil, err
			}
			left = &dot{left: left, right: inv}
			continue
		}
		if t.kind == tokPunct && t.text == "[" {
			p.next()
			n := p.next()
			i, err := strconv.Atoi(n.text)
			if n.kind != tokNumber || err != nil || i < 0 {
				return nil, p.errorf(n, "the indexer [] takes a non-negative integer literal, found %s", describe(n))
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			left = &indexer{left: left, index: i}
			continue
		}
		op, ok := binaryOps[t.text]
		if !ok || (t.kind != tokPunct && t.kind != tokIdent) || op.prec <= minPrec {
			return left, nil
		}
		if !op.supported {
			return nil, p.errorf(t, "operator %q is not supported", t.text)
		}
		p.next()
		if t.text == "is" || t.text == "as" {
			ts, err := p.parseTypeSpecifier()
			if err != nil {
				return nil, err
			}
			left = &typeOp{op: t.text, left: left, typ: ts}
			continue
		}
		right, err := p.parseExpr(op.prec)
		if err != nil {
			return nil, err
		}
		switch t.text {
		case "|":
			if u, ok := left.(*union); ok {
				u.branches = append(u.branches, right)
			} else {
				left = &union{branches: []expr{left, right}}
			}
		case "=", "!=":
			left = &equality{negate: t.text == "!=", left: left, right: right}
		case "and", "or":
			left = &logic{and: t.text == "and", left: left, right: right}
		}
	}
}

// parseTerm parses what may stand at the start of an expression (N1
// grammar rule "term"), where an identifier is evaluated against the focus.
func (p *parser) parseTerm() (expr, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return &literal{Node{Type: "string", Value: t.text}}, nil
	case tokNumber:
		if p.peek().kind == tokString || (p.peek().kind == tokIdent && isCalendarUnit(p.peek().text)) {
			return nil, p.errorf(t, "quantity literals are not supported")
		}
		typ := "integer"
		if strings.Contains(t.text, ".") {
			typ = "decimal"
		}
		return &literal{Node{Type: typ, Value: json.Number(t.text)}}, nil
	case tokDateTime:
		return nil, p.errorf(t, "date/time literal %s is not supported", t.text)
	case tokThis:
		return thisExpr{}, nil
	case tokDollar:
		return nil, p.errorf(t, "$%s is not supported", t.text)
	case tokEnv:
		if t.text != "resource" && t.text != "rootResource" {
			return nil, p.errorf(t, "environment variable %%%s is not supported", t.text)
		}
		return resourceExpr{}, nil
	case tokIdent, tokDelimitedIdent:
		if t.kind == tokIdent && (t.text == "true" || t.text == "false") {
			return &literal{Node{Type: "boolean", Value: t.text == "true"}}, nil
		}
		if isPunct(p.peek(), "(") {
			return p.parseCall(t)
		}
		if isTypeFilter(t.text) {
			return &typeFilter{name: t.text, leaf: model.Lookup(t.text).Leaf}, nil
		}
		return &member{name: t.text}, nil
	case tokPunct:
		switch t.text {
		case "(":
			e, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		case "{":
			return &literal{}, p.expect("}")
		case "+", "-":
			return nil, p.errorf(t, "unary %q is not supported", t.text)
		}
	}
	return nil, p.errorf(t, "unexpected %s", describe(t))
}

// parseInvocation parses what follows a '.': a member name or a function.
func (p *parser) parseInvocation() (expr, error) {
	t := p.next()
	switch t.kind {
	case tokIdent, tokDelimitedIdent:
		if isPunct(p.peek(), "(") {
			return p.parseCall(t)
		}
		return &member{name: t.text}, nil
	case tokThis:
		return thisExpr{}, nil
	case tokDollar:
		return nil, p.errorf(t, "$%s is not supported", t.text)
	}
	return nil, p.errorf(t, "expected a name after '.', found %s", describe(t))
}

// parseCall parses name(args...) with the '(' next; type arguments of is,
// as and ofType are parsed as type specifiers, the others as expressions.
func (p *parser) parseCall(name token) (expr, error) {
	fn, ok := functions[name.text]
	if !ok {
		return nil, p.errorf(name, "function %s() is not supported", name.text)
	}
	p.next() // (
	c := &call{name: name.text, fn: fn}
	for !isPunct(p.peek(), ")") {
		if len(c.args) > 0 || c.typ != nil {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		if fn.typeArg && c.typ == nil {
			ts, err := p.parseTypeSpecifier()
			if err != nil {
				return nil, err
			}
			c.typ = ts
			continue
		}
		arg, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, arg)
	}
	p.next() // )
	n := len(c.args)
	if c.typ != nil {
		n++
	}
	if n < fn.minArgs || n > fn.maxArgs {
		return nil, p.errorf(name, "%s() takes %s, got %d", name.text, arity(fn), n)
	}
	if fn.check != nil {
		if msg := fn.check(c); msg != "" {
			return nil, p.errorf(name, "%s", msg)
		}
	}
	return c, nil
}

func arity(fn *function) string {
	if fn.minArgs == fn.maxArgs {
		return fmt.Sprintf("%d argument(s)", fn.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", fn.minArgs, fn.maxArgs)
}

// parseTypeSpecifier parses a possibly qualified type name (FHIR.Quantity,
// System.String, Quantity) and resolves it now, so an unknown type fails
// Compile.
func (p *parser) parseTypeSpecifier() (*typeSpec, error) {
	t := p.next()
	if t.kind != tokIdent && t.kind != tokDelimitedIdent {
		return nil, p.errorf(t, "expected a type name, found %s", describe(t))
	}
	name := t.text
	if isPunct(p.peek(), ".") && (t.text == "FHIR" || t.text == "System") {
		p.next()
		q := p.next()
		if q.kind != tokIdent && q.kind != tokDelimitedIdent {
			return nil, p.errorf(q, "expected a type name, found %s", describe(q))
		}
		name += "." + q.text
	}
	ts, msg := resolveType(name)
	if msg != "" {
		return nil, p.errorf(t, "%s", msg)
	}
	return ts, nil
}

func isPunct(t token, s string) bool { return t.kind == tokPunct && t.text == s }

func isCalendarUnit(s string) bool {
	switch strings.TrimSuffix(s, "s") {
	case "year", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return true
	}
	return false
}
