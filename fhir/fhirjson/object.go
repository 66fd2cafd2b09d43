package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
)

// Object is a JSON object that keeps its members in document order. A
// resource read with Parse and written back with Encode reads as it was
// written (resourceType first, elements in FHIR's order), with only the
// members a caller changed being different; a Go map forgets that order.
//
// Member values are the tree values Parse yields: *Object, []any, string,
// json.Number (decimals keep their digits), bool and nil. A caller building
// a document may also set int and int64. The zero Object is not usable:
// make one with NewObject. Get and the typed getters accept a nil *Object.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty Object.
func NewObject() *Object { return &Object{vals: map[string]any{}} }

// Len returns the number of members.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the member names in order. It is a copy, so the caller may
// Set and Del while ranging over it.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return slices.Clone(o.keys)
}

// All yields the members in order. The object must not gain or lose
// members during the loop; range over Keys for that.
func (o *Object) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		if o == nil {
			return
		}
		for _, k := range o.keys {
			if !yield(k, o.vals[k]) {
				return
			}
		}
	}
}

// Get returns member k's value, nil when absent.
func (o *Object) Get(k string) any {
	if o == nil {
		return nil
	}
	return o.vals[k]
}

// Set replaces k's value in place, or appends k as the last member.
func (o *Object) Set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// SetAfter replaces k's value in place, or adds k right after the member
// after (first when after is absent), so an added element lands where
// FHIR's element order has it.
func (o *Object) SetAfter(after, k string, v any) {
	if _, ok := o.vals[k]; ok {
		o.vals[k] = v
		return
	}
	o.vals[k] = v
	i := 0
	if j := slices.Index(o.keys, after); j >= 0 {
		i = j + 1
	}
	o.keys = slices.Insert(o.keys, i, k)
}

// Del removes member k, if present.
func (o *Object) Del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	if i := slices.Index(o.keys, k); i >= 0 {
		o.keys = slices.Delete(o.keys, i, i+1)
	}
}

// Str returns a string member, "" when absent or not a string.
func (o *Object) Str(k string) string {
	s, _ := o.Get(k).(string)
	return s
}

// Obj returns an object member, nil when absent or not an object.
func (o *Object) Obj(k string) *Object {
	v, _ := o.Get(k).(*Object)
	return v
}

// Objs returns the objects of an array member, skipping other values.
func (o *Object) Objs(k string) []*Object {
	arr, _ := o.Get(k).([]any)
	out := make([]*Object, 0, len(arr))
	for _, v := range arr {
		if ob, ok := v.(*Object); ok {
			out = append(out, ob)
		}
	}
	return out
}

// Strs returns the strings of an array member, skipping other values.
func (o *Object) Strs(k string) []string {
	arr, _ := o.Get(k).([]any)
	var out []string
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// MarshalJSON encodes o as Encode does, so an Object inside a value given
// to Marshal keeps its order.
func (o *Object) MarshalJSON() ([]byte, error) { return Encode(o), nil }

var errTrailing = errors.New("unexpected data after the JSON value")

// Parse decodes one JSON value from outside: objects as *Object, arrays as
// []any, numbers as json.Number, strings, bools and nil. It refuses
// duplicate members (FHIR JSON forbids them, and which one would win is
// ambiguous) and nesting deeper than Scan allows, which also bounds the
// recursion a hostile document can cause.
func Parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}

// ParseObject is Parse for a document that must be a JSON object, such as
// a resource.
func ParseObject(data []byte) (*Object, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

// parseValue reads one value; depth counts the containers open around it.
func parseValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth == maxDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
	}
	switch d {
	case '{':
		o := NewObject()
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string) // the decoder only yields strings as keys
			if _, dup := o.vals[k]; dup {
				return nil, fmt.Errorf("member %q appears twice", k)
			}
			v, err := parseValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			o.Set(k, v)
		}
		_, err := dec.Token() // '}'
		return o, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := parseValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token() // ']'
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// Encode writes a tree value as compact JSON, members in order. Strings are
// not HTML-escaped (see Marshal): a narrative's XHTML stays readable, and
// "<" as \u003c would cost a health card 5 bytes of its QR code. It panics
// on a value that is not a tree value, int or int64: that is a bug in the
// code that built the tree.
func Encode(v any) []byte {
	var e encoder
	e.value(v)
	return e.out.Bytes()
}

// encoder reuses one json.Encoder for every string of a document.
type encoder struct {
	out, scratch bytes.Buffer
	str          *json.Encoder
}

func (e *encoder) value(v any) {
	b := &e.out
	switch x := v.(type) {
	case *Object:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			e.string(k)
			b.WriteByte(':')
			e.value(x.vals[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			e.value(el)
		}
		b.WriteByte(']')
	case string:
		e.string(x)
	case json.Number:
		b.WriteString(string(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case nil:
		b.WriteString("null")
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	default:
		panic(fmt.Sprintf("fhirjson.Encode: cannot encode %T", v))
	}
}

// string writes s exactly as encoding/json does with HTML escaping off.
func (e *encoder) string(s string) {
	if e.str == nil {
		e.str = json.NewEncoder(&e.scratch)
		e.str.SetEscapeHTML(false)
	}
	e.scratch.Reset()
	_ = e.str.Encode(s) // a string always encodes
	e.out.Write(bytes.TrimSuffix(e.scratch.Bytes(), []byte{'\n'}))
}
