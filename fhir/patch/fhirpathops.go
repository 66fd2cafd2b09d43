package patch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirpath"
)

// apply carries out one operation on doc, in place.
func (op *pathOp) apply(t *tree, doc map[string]any) error {
	switch op.typ {
	case "add":
		return op.add(t, doc)
	case "insert":
		return op.insert(t, doc)
	case "delete":
		return op.delete(doc)
	case "replace":
		return op.replace(t, doc)
	case "move":
		return op.move(doc)
	}
	return fmt.Errorf("unknown type %q", op.typ) // parseOperation refused it
}

// single locates the one element expr selects: replace, add (its
// container) and the list operations need exactly one.
func single(expr *fhirpath.Expression, doc map[string]any, what string) (fhirpath.Match, error) {
	ms, err := expr.Locate(doc)
	if err != nil {
		return fhirpath.Match{}, err
	}
	switch len(ms) {
	case 0:
		return fhirpath.Match{}, fmt.Errorf("%s %q matches no element", what, expr)
	case 1:
		return ms[0], nil
	}
	return fhirpath.Match{}, fmt.Errorf("%s %q matches %d elements; it must match one", what, expr, len(ms))
}

// add appends the value to the element path selects, under name: to the
// list if the element repeats, else only if it has no value yet.
func (op *pathOp) add(t *tree, doc map[string]any) error {
	m, err := single(op.expr, doc, "path")
	if err != nil {
		return err
	}
	obj, ok := m.Value.(map[string]any)
	if !ok {
		return fmt.Errorf("path selects a %s, which has no child elements", m.Type)
	}
	el, ok := fhirpath.Element(m.Type, op.name)
	if !ok {
		return fmt.Errorf("%s has no element %q", m.Type, op.name)
	}
	key, typ := op.name, el.Types[0]
	if el.Choice {
		if op.value.typ == "" || !slices.Contains(el.Types, op.value.typ) {
			return fmt.Errorf("%s.%s[x] takes one of %s, not %q", m.Type, op.name, strings.Join(el.Types, ", "), op.value.typ)
		}
		key, typ = choiceKey(op.name, op.value.typ), op.value.typ
	}
	v, err := op.value.build(t, typ)
	if err != nil {
		return err
	}
	if el.Repeats {
		arr, _ := obj[key].([]any)
		obj[key] = append(arr, v)
		if ext, ok := obj["_"+key].([]any); ok || op.value.ext != nil {
			for len(ext) < len(arr) {
				ext = append(ext, nil)
			}
			obj["_"+key] = append(ext, t.copyValue(op.value.ext))
		}
		return nil
	}
	for _, k := range el.Keys {
		if _, exists := obj[k]; exists {
			return fmt.Errorf("%s.%s already has a value; use replace", m.Type, op.name)
		}
	}
	obj[key] = v
	if op.value.ext != nil {
		obj["_"+key] = t.copyValue(op.value.ext)
	}
	return nil
}

// replace puts the value in the place of the one element path selects. A
// choice element takes the new value's type (valueQuantity becomes
// valueString); a primitive's extensions go with the value replaced.
func (op *pathOp) replace(t *tree, doc map[string]any) error {
	m, err := single(op.expr, doc, "path")
	if err != nil {
		return err
	}
	if m.Parent == nil {
		return fmt.Errorf("the whole resource cannot be replaced; use update (PUT)")
	}
	typ, key := m.Type, m.Key
	if op.value.typ != "" && op.value.typ != m.Type {
		if name, ok := choiceName(m.Key, m.Type); ok {
			key, typ = choiceKey(name, op.value.typ), op.value.typ
		}
	}
	v, err := op.value.build(t, typ)
	if err != nil {
		return err
	}
	if key != m.Key { // a choice changing type: only a single element can
		delete(m.Parent, m.Key)
		delete(m.Parent, "_"+m.Key)
		m.Parent[key] = v
		if op.value.ext != nil {
			m.Parent["_"+key] = t.copyValue(op.value.ext)
		}
		return nil
	}
	if m.Index < 0 {
		m.Parent[key] = v
		delete(m.Parent, "_"+key)
		if op.value.ext != nil {
			m.Parent["_"+key] = t.copyValue(op.value.ext)
		}
		return nil
	}
	m.Parent[key].([]any)[m.Index] = v
	if ext, ok := m.Parent["_"+key].([]any); ok && m.Index < len(ext) {
		ext[m.Index] = t.copyValue(op.value.ext)
		pruneExt(m.Parent, key)
	} else if op.value.ext != nil {
		ext := make([]any, len(m.Parent[key].([]any)))
		ext[m.Index] = t.copyValue(op.value.ext)
		m.Parent["_"+key] = ext
	}
	return nil
}

// choiceName returns "value" for the key valueQuantity of a Quantity.
func choiceName(key, typ string) (string, bool) {
	suffix := strings.ToUpper(typ[:1]) + typ[1:]
	name, ok := strings.CutSuffix(key, suffix)
	return name, ok && name != ""
}

// delete removes the element path selects; none is fine, several are not
// (https://hl7.org/fhir/R4/fhirpatch.html: only a single element can be
// deleted).
func (op *pathOp) delete(doc map[string]any) error {
	ms, err := op.expr.Locate(doc)
	if err != nil {
		return err
	}
	switch {
	case len(ms) == 0:
		return nil
	case len(ms) > 1:
		return fmt.Errorf("path %q matches %d elements; delete removes one", op.expr, len(ms))
	case ms[0].Parent == nil:
		return fmt.Errorf("the whole resource cannot be deleted this way; use DELETE")
	}
	m := ms[0]
	if m.Index < 0 {
		delete(m.Parent, m.Key)
		delete(m.Parent, "_"+m.Key)
		return nil
	}
	removeItem(m.Parent, m.Key, m.Index)
	return nil
}

// list resolves the path of insert and move, "X.name": the element X must
// be one, and name is the list in it (possibly still absent).
func (op *pathOp) list(doc map[string]any) (obj map[string]any, typ, key string, err error) {
	i := strings.LastIndexByte(op.path, '.')
	if i < 0 || !isIdentifier(op.path[i+1:]) {
		return nil, "", "", fmt.Errorf("path must name a list as Container.element, e.g. Patient.identifier")
	}
	expr, err := fhirpath.Compile(op.path[:i])
	if err != nil {
		return nil, "", "", err
	}
	m, err := single(expr, doc, "the list's container")
	if err != nil {
		return nil, "", "", err
	}
	obj, ok := m.Value.(map[string]any)
	if !ok {
		return nil, "", "", fmt.Errorf("%q is a %s, which has no child elements", expr, m.Type)
	}
	key = op.path[i+1:]
	el, ok := fhirpath.Element(m.Type, key)
	switch {
	case !ok:
		return nil, "", "", fmt.Errorf("%s has no element %q", m.Type, key)
	case !el.Repeats:
		return nil, "", "", fmt.Errorf("%s.%s is not a list", m.Type, key)
	}
	return obj, el.Types[0], key, nil
}

// insert puts the value at index in the list (index at most its length).
func (op *pathOp) insert(t *tree, doc map[string]any) error {
	obj, typ, key, err := op.list(doc)
	if err != nil {
		return err
	}
	arr, _ := obj[key].([]any)
	if op.at > len(arr) {
		return fmt.Errorf("index %d is past the end of %s (%d items)", op.at, op.path, len(arr))
	}
	v, err := op.value.build(t, typ)
	if err != nil {
		return err
	}
	obj[key] = insertAt(arr, op.at, v)
	if ext, ok := obj["_"+key].([]any); ok || op.value.ext != nil {
		for len(ext) < len(arr) {
			ext = append(ext, nil)
		}
		obj["_"+key] = insertAt(ext, op.at, t.copyValue(op.value.ext))
		pruneExt(obj, key)
	}
	return nil
}

// move moves the item at source to destination within one list.
func (op *pathOp) move(doc map[string]any) error {
	obj, _, key, err := op.list(doc)
	if err != nil {
		return err
	}
	arr, _ := obj[key].([]any)
	if op.src >= len(arr) || op.dst >= len(arr) {
		return fmt.Errorf("source %d and destination %d must both be below the length of %s (%d items)", op.src, op.dst, op.path, len(arr))
	}
	obj[key] = moveItem(arr, op.src, op.dst)
	if ext, ok := obj["_"+key].([]any); ok && len(ext) == len(arr) {
		obj["_"+key] = moveItem(ext, op.src, op.dst)
	}
	return nil
}

func insertAt(arr []any, i int, v any) []any {
	arr = append(arr, nil)
	copy(arr[i+1:], arr[i:])
	arr[i] = v
	return arr
}

func moveItem(arr []any, from, to int) []any {
	v := arr[from]
	arr = append(arr[:from:from], arr[from+1:]...)
	return insertAt(arr, to, v)
}

// removeItem removes item i of a list and of its primitive extensions,
// dropping what becomes empty: FHIR JSON has no empty arrays.
func removeItem(obj map[string]any, key string, i int) {
	arr := obj[key].([]any)
	if arr = append(arr[:i:i], arr[i+1:]...); len(arr) == 0 {
		delete(obj, key)
	} else {
		obj[key] = arr
	}
	if ext, ok := obj["_"+key].([]any); ok && i < len(ext) {
		obj["_"+key] = append(ext[:i:i], ext[i+1:]...)
	}
	pruneExt(obj, key)
}

// pruneExt drops a primitive list's "_name" array when it holds only nulls.
func pruneExt(obj map[string]any, key string) {
	ext, ok := obj["_"+key].([]any)
	if !ok {
		return
	}
	for _, x := range ext {
		if x != nil {
			return
		}
	}
	delete(obj, "_"+key)
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
