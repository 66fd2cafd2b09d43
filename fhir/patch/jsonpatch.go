package patch

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// jsonOp is one operation of a JSON Patch document (RFC 6902 §4).
type jsonOp struct {
	index    int
	op       string
	path     []string // parsed JSON Pointer (RFC 6901)
	rawPath  string
	from     []string
	rawFrom  string
	value    any
	hasValue bool
}

// JSONPatch applies a JSON Patch document (RFC 6902,
// https://hl7.org/fhir/R4/http.html#patch) to a resource's JSON and returns
// the patched JSON, members in the resource's order. The operations apply
// in sequence and all or nothing. A document that is not a valid JSON Patch
// is a 400 naming the operation; an operation that does not fit the
// resource (a missing member, an index out of range, a failed test) is a 422
// naming the operation, its path and the element.
func JSONPatch(resource, patch []byte) ([]byte, error) {
	t := newTree()
	doc, err := t.decode(resource)
	if err != nil {
		return nil, fmt.Errorf("patch.JSONPatch: the resource is not JSON: %w", err)
	}
	ops, err := parseJSONPatch(t, patch)
	if err != nil {
		return nil, err
	}
	typ := resourceType(doc)
	for _, op := range ops {
		if doc, err = op.apply(t, doc); err != nil {
			return nil, outcome.New(http.StatusUnprocessableEntity, outcome.CodeProcessing,
				"JSON Patch operation %d (%s %s) cannot be applied: %v", op.index, op.op, op.rawPath, err).At(fhirPath(typ, op.path))
		}
	}
	return t.encode(doc), nil
}

// parseJSONPatch reads and checks the whole document before anything is
// applied.
func parseJSONPatch(t *tree, patch []byte) ([]jsonOp, error) {
	v, err := t.decode(patch)
	if err != nil {
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "the JSON Patch document is not valid JSON: %v", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "a JSON Patch document is a JSON array of operations (RFC 6902 §3)")
	}
	ops := make([]jsonOp, 0, len(arr))
	for i, item := range arr {
		op, err := parseJSONOp(i, item)
		if err != nil {
			return nil, outcome.Invalid("JSON Patch operation %d: %v", i, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseJSONOp(i int, item any) (jsonOp, error) {
	op := jsonOp{index: i}
	m, ok := item.(map[string]any)
	if !ok {
		return op, fmt.Errorf("an operation is a JSON object")
	}
	name, ok := m["op"].(string)
	if !ok {
		return op, fmt.Errorf(`"op" must be a string: add, remove, replace, move, copy or test`)
	}
	op.op = name
	if op.rawPath, ok = m["path"].(string); !ok {
		return op, fmt.Errorf(`"path" must be a JSON Pointer string`)
	}
	var err error
	if op.path, err = parsePointer(op.rawPath); err != nil {
		return op, fmt.Errorf("path %q: %v", op.rawPath, err)
	}
	op.value, op.hasValue = m["value"]
	switch name {
	case "add", "replace", "test":
		if !op.hasValue {
			return op, fmt.Errorf(`%s needs a "value"`, name)
		}
	case "remove":
	case "move", "copy":
		if op.rawFrom, ok = m["from"].(string); !ok {
			return op, fmt.Errorf(`%s needs "from", a JSON Pointer string`, name)
		}
		if op.from, err = parsePointer(op.rawFrom); err != nil {
			return op, fmt.Errorf("from %q: %v", op.rawFrom, err)
		}
		if name == "move" && isProperPrefix(op.from, op.path) {
			return op, fmt.Errorf("cannot move %q into its own child %q (RFC 6902 §4.4)", op.rawFrom, op.rawPath)
		}
	default:
		return op, fmt.Errorf("unknown op %q: RFC 6902 defines add, remove, replace, move, copy and test", name)
	}
	return op, nil
}

// parsePointer splits a JSON Pointer (RFC 6901) into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil // the whole document
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("a JSON Pointer starts with '/'")
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		for j := 0; j < len(s); j++ {
			if s[j] == '~' && (j+1 == len(s) || (s[j+1] != '0' && s[j+1] != '1')) {
				return nil, fmt.Errorf("'~' must be followed by 0 or 1 (RFC 6901 §3)")
			}
		}
		// ~1 first: "~01" is the literal "~1" (RFC 6901 §4).
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func isProperPrefix(prefix, path []string) bool {
	if len(prefix) >= len(path) {
		return false
	}
	for i := range prefix {
		if prefix[i] != path[i] {
			return false
		}
	}
	return true
}

func (op *jsonOp) apply(t *tree, doc any) (any, error) {
	switch op.op {
	case "add":
		return add(doc, op.path, op.value)
	case "remove":
		return remove(doc, op.path)
	case "replace":
		if _, err := get(doc, op.path); err != nil {
			return nil, err
		}
		if len(op.path) == 0 {
			return op.value, nil
		}
		return update(doc, op.path, func(parent any, last string) (any, error) {
			switch p := parent.(type) {
			case map[string]any:
				p[last] = op.value
				return p, nil
			case []any:
				i, _ := arrayIndex(last, len(p), false) // get checked it
				p[i] = op.value
				return p, nil
			}
			return nil, errNotContainer
		})
	case "move":
		v, err := get(doc, op.from)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		if doc, err = remove(doc, op.from); err != nil {
			return nil, err
		}
		return add(doc, op.path, v)
	case "copy":
		v, err := get(doc, op.from)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		c, err := t.copyCounted(v)
		if err != nil {
			return nil, err
		}
		return add(doc, op.path, c)
	case "test":
		v, err := get(doc, op.path)
		if err != nil {
			return nil, err
		}
		if !equal(v, op.value) {
			return nil, fmt.Errorf("test failed: the value differs")
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", op.op) // parseJSONOp refused it
}

var errNotContainer = fmt.Errorf("the parent is not an object or array")

// get returns the value a pointer names.
func get(doc any, path []string) (any, error) {
	v := doc
	for i, tok := range path {
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("%s does not exist", pointer(path[:i+1]))
			}
			v = x
		case []any:
			j, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", pointer(path[:i+1]), err)
			}
			v = c[j]
		default:
			return nil, fmt.Errorf("%s: %s is not an object or array", pointer(path[:i+1]), pointer(path[:i]))
		}
	}
	return v, nil
}

// update runs fn on the parent of the pointer's target and stores what fn
// returns in the parent's place: inserting into an array makes a new slice,
// which its holder must then point at.
func update(doc any, path []string, fn func(parent any, last string) (any, error)) (any, error) {
	var walk func(v any, i int) (any, error)
	walk = func(v any, i int) (any, error) {
		if i == len(path)-1 {
			return fn(v, path[i])
		}
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[path[i]]
			if !ok {
				return nil, fmt.Errorf("%s does not exist", pointer(path[:i+1]))
			}
			nv, err := walk(x, i+1)
			if err != nil {
				return nil, err
			}
			c[path[i]] = nv
			return c, nil
		case []any:
			j, err := arrayIndex(path[i], len(c), false)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", pointer(path[:i+1]), err)
			}
			nv, err := walk(c[j], i+1)
			if err != nil {
				return nil, err
			}
			c[j] = nv
			return c, nil
		}
		return nil, fmt.Errorf("%s: %s is not an object or array", pointer(path[:i+1]), pointer(path[:i]))
	}
	return walk(doc, 0)
}

// add implements RFC 6902 §4.1: set a member, insert into an array ("-"
// appends), or replace the whole document.
func add(doc any, path []string, value any) (any, error) {
	if len(path) == 0 {
		return value, nil
	}
	return update(doc, path, func(parent any, last string) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			p[last] = value
			return p, nil
		case []any:
			i, err := arrayIndex(last, len(p), true)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", pointer(path), err)
			}
			p = append(p, nil)
			copy(p[i+1:], p[i:])
			p[i] = value
			return p, nil
		}
		return nil, fmt.Errorf("%s: %s is not an object or array", pointer(path), pointer(path[:len(path)-1]))
	})
}

// remove implements RFC 6902 §4.2: the target must exist.
func remove(doc any, path []string) (any, error) {
	if len(path) == 0 {
		return nil, fmt.Errorf("the whole resource cannot be removed")
	}
	return update(doc, path, func(parent any, last string) (any, error) {
		switch p := parent.(type) {
		case map[string]any:
			if _, ok := p[last]; !ok {
				return nil, fmt.Errorf("%s does not exist", pointer(path))
			}
			delete(p, last)
			return p, nil
		case []any:
			i, err := arrayIndex(last, len(p), false)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", pointer(path), err)
			}
			return append(p[:i:i], p[i+1:]...), nil
		}
		return nil, fmt.Errorf("%s: %s is not an object or array", pointer(path), pointer(path[:len(path)-1]))
	})
}

// arrayIndex reads an array reference token (RFC 6901 §4): digits without
// leading zeros, below n (or equal to n, or "-", when adding).
func arrayIndex(tok string, n int, adding bool) (int, error) {
	if tok == "-" {
		if adding {
			return n, nil
		}
		return 0, fmt.Errorf(`"-" (past the end) names no item`)
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || strings.TrimLeft(tok, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an array index", tok)
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i > n || (i == n && !adding) {
		return 0, fmt.Errorf("index %s is out of range: the array has %d items", tok, n)
	}
	return i, nil
}

// pointer renders tokens as a JSON Pointer, escaped.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// fhirPath renders a pointer into a resource as the element's FHIRPath
// (Patient.name[0].given), for OperationOutcome.issue.expression.
func fhirPath(typ string, tokens []string) string {
	var b strings.Builder
	b.WriteString(typ)
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil && t != "" && t[0] != '-' && t[0] != '+' {
			b.WriteString("[" + t + "]")
		} else {
			b.WriteString("." + t)
		}
	}
	return b.String()
}

func resourceType(doc any) string {
	if m, ok := doc.(map[string]any); ok {
		if t, ok := m["resourceType"].(string); ok {
			return t
		}
	}
	return "Resource"
}
