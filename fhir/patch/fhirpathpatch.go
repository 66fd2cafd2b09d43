package patch

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirpath"
	"github.com/mekong-fhir/mekong/fhir/outcome"
)

// pathOp is one "operation" parameter of a FHIRPath Patch
// (https://hl7.org/fhir/R4/fhirpatch.html).
type pathOp struct {
	index    int // position in Parameters.parameter
	typ      string
	path     string
	expr     *fhirpath.Expression
	name     string
	value    *partValue
	at       int // insert index
	src, dst int // move
	has      map[string]bool
}

// partValue is the value of an operation: a typed value[x] or, for an
// element whose type is defined inline (Patient.contact), nested parts.
type partValue struct {
	typ   string // FHIR type from value[x]: "HumanName", "date"; "" for parts
	value any
	ext   any // the _value[x] extension sibling of a primitive, if any
	parts []any
}

// FHIRPathPatch applies a FHIRPath Patch, a Parameters resource of
// "operation" parameters (https://hl7.org/fhir/R4/fhirpatch.html), to a
// resource's JSON and returns the patched JSON, members in the resource's
// order. Operations apply in order, all or nothing. A malformed Parameters
// is a 400 naming the parameter; an operation that does not fit the
// resource (a path matching several elements where one is needed, an index
// out of range, an element the type does not have) is a 422.
func FHIRPathPatch(resource, params []byte) ([]byte, error) {
	t := newTree()
	v, err := t.decode(resource)
	if err != nil {
		return nil, fmt.Errorf("patch.FHIRPathPatch: the resource is not JSON: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("patch.FHIRPathPatch: the resource is not a JSON object")
	}
	ops, err := parseFHIRPathPatch(t, params)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		if err := op.apply(t, doc); err != nil {
			return nil, outcome.New(http.StatusUnprocessableEntity, outcome.CodeProcessing,
				"FHIRPath Patch operation %d (%s %s): %v", op.index, op.typ, op.path, err).At(op.where())
		}
	}
	return t.encode(doc), nil
}

func (op *pathOp) where() string { return fmt.Sprintf("Parameters.parameter[%d]", op.index) }

// parseFHIRPathPatch reads every operation, compiling its path, before
// anything is applied.
func parseFHIRPathPatch(t *tree, params []byte) ([]*pathOp, error) {
	v, err := t.decode(params)
	if err != nil {
		return nil, outcome.New(http.StatusBadRequest, outcome.CodeStructure, "the FHIRPath Patch is not valid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok || m["resourceType"] != "Parameters" {
		return nil, outcome.Invalid("a FHIRPath Patch is a Parameters resource (https://hl7.org/fhir/R4/fhirpatch.html)").At("resourceType")
	}
	list, _ := m["parameter"].([]any)
	if len(list) == 0 {
		return nil, outcome.Invalid("the FHIRPath Patch has no operation parameters").At("Parameters.parameter")
	}
	ops := make([]*pathOp, 0, len(list))
	for i, p := range list {
		op, err := parseOperation(i, p)
		if err != nil {
			return nil, outcome.Invalid("FHIRPath Patch operation %d: %v", i, err).At(fmt.Sprintf("Parameters.parameter[%d]", i))
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOperation(i int, p any) (*pathOp, error) {
	op := &pathOp{index: i, has: map[string]bool{}}
	pm, ok := p.(map[string]any)
	if !ok || pm["name"] != "operation" {
		return nil, fmt.Errorf(`every parameter is named "operation"`)
	}
	parts, _ := pm["part"].([]any)
	for _, x := range parts {
		part, ok := x.(map[string]any)
		name, _ := part["name"].(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("a part needs a name")
		}
		if op.has[name] {
			return nil, fmt.Errorf("part %q is given twice", name)
		}
		op.has[name] = true
		var err error
		switch name {
		case "type":
			op.typ, err = stringPart(part, "valueCode")
		case "path":
			op.path, err = stringPart(part, "valueString")
		case "name":
			op.name, err = stringPart(part, "valueString")
		case "value":
			op.value, err = valuePart(part)
		case "index":
			op.at, err = intPart(part)
		case "source":
			op.src, err = intPart(part)
		case "destination":
			op.dst, err = intPart(part)
		default:
			// Like RFC 6902's unknown members, other parts are ignored:
			// test suites send labels such as "pathLabel".
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("part %q: %v", name, err)
		}
	}
	need := map[string][]string{
		"add":     {"path", "name", "value"},
		"insert":  {"path", "value", "index"},
		"delete":  {"path"},
		"replace": {"path", "value"},
		"move":    {"path", "source", "destination"},
	}[op.typ]
	if need == nil {
		return nil, fmt.Errorf("type %q is not add, insert, delete, replace or move", op.typ)
	}
	for _, n := range need {
		if !op.has[n] {
			return nil, fmt.Errorf("%s needs the part %q", op.typ, n)
		}
	}
	expr, err := fhirpath.Compile(op.path)
	if err != nil {
		return nil, fmt.Errorf("path: %v", err)
	}
	op.expr = expr
	return op, nil
}

func stringPart(part map[string]any, key string) (string, error) {
	s, ok := part[key].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("needs %s", key)
	}
	return s, nil
}

func intPart(part map[string]any) (int, error) {
	n, ok := part["valueInteger"].(interface{ String() string })
	if !ok {
		return 0, fmt.Errorf("needs valueInteger")
	}
	i, err := strconv.Atoi(n.String())
	if err != nil || i < 0 {
		return 0, fmt.Errorf("valueInteger %s is not a list index", n.String())
	}
	return i, nil
}

// valuePart reads value[x] (valueHumanName, valueDate, ...), a resource,
// or nested parts.
func valuePart(part map[string]any) (*partValue, error) {
	var pv *partValue
	for k, v := range part {
		var typ string
		switch {
		case k == "name" || strings.HasPrefix(k, "_value"):
			continue
		case k == "part":
			parts, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("part must be an array")
			}
			if pv != nil {
				return nil, fmt.Errorf("give one of value[x], resource or part")
			}
			pv = &partValue{parts: parts}
			continue
		case k == "resource":
			typ = "Resource"
		case strings.HasPrefix(k, "value") && len(k) > len("value"):
			typ = typeOfSuffix(k[len("value"):])
		default:
			return nil, fmt.Errorf("unexpected member %q", k)
		}
		if pv != nil {
			return nil, fmt.Errorf("give one of value[x], resource or part")
		}
		pv = &partValue{typ: typ, value: v, ext: part["_"+k]}
	}
	if pv == nil {
		return nil, fmt.Errorf("needs value[x] or parts")
	}
	return pv, nil
}

// typeOfSuffix turns the suffix of valueXxx into a FHIR type name:
// primitives are lower camel case (date, dateTime, positiveInt).
func typeOfSuffix(s string) string {
	lc := strings.ToLower(s[:1]) + s[1:]
	if fhirpath.IsPrimitive(lc) {
		return lc
	}
	return s
}

// build renders the value for an element of type typ ("" when unknown),
// turning nested parts into an object whose repeating elements are arrays.
func (pv *partValue) build(t *tree, typ string) (any, error) {
	if pv.parts == nil {
		return t.copyValue(pv.value), nil
	}
	obj := map[string]any{}
	var keys []string
	for _, x := range pv.parts {
		part, ok := x.(map[string]any)
		name, _ := part["name"].(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("a value part needs a name")
		}
		sub, err := valuePart(part)
		if err != nil {
			return nil, fmt.Errorf("value part %q: %v", name, err)
		}
		key, subType, repeats := name, "", false
		if el, ok := fhirpath.Element(typ, name); ok {
			repeats = el.Repeats
			subType = el.Types[0]
			if el.Choice {
				if sub.typ == "" {
					return nil, fmt.Errorf("value part %q is a choice: give value[x]", name)
				}
				key, subType = choiceKey(name, sub.typ), sub.typ
			}
		} else if typ != "" {
			return nil, fmt.Errorf("%s has no element %q", typ, name)
		}
		v, err := sub.build(t, subType)
		if err != nil {
			return nil, err
		}
		if _, exists := obj[key]; !exists {
			keys = append(keys, key)
		}
		switch {
		case repeats:
			arr, _ := obj[key].([]any)
			obj[key] = append(arr, v)
		case obj[key] != nil:
			return nil, fmt.Errorf("value part %q is given twice but does not repeat", name)
		default:
			obj[key] = v
		}
		if sub.ext != nil && !repeats {
			obj["_"+key] = t.copyValue(sub.ext)
			keys = append(keys, "_"+key)
		}
	}
	t.setOrder(obj, keys)
	return obj, nil
}

func choiceKey(name, typ string) string { return name + strings.ToUpper(typ[:1]) + typ[1:] }
