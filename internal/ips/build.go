package ips

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// object is a JSON object that keeps its members in their original order,
// so a stored resource copied into a document reads as it was written; only
// the references the document must repair are changed. Values are *object,
// []any, string, json.Number, bool or nil.
type object struct {
	keys []string
	vals map[string]any
}

func newObject() *object { return &object{vals: map[string]any{}} }

// parseObject decodes one JSON object, keeping member order and numbers as written.
func parseObject(b []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	o, ok := v.(*object)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

func (o *object) get(k string) any {
	if o == nil {
		return nil
	}
	return o.vals[k]
}

// set replaces k's value in place, or appends k.
func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// setAfter puts k right after the member after (or first when after is
// absent), so an added member lands where FHIR's element order has it.
func (o *object) setAfter(after, k string, v any) {
	if _, ok := o.vals[k]; ok {
		o.vals[k] = v
		return
	}
	o.vals[k] = v
	i := 0
	for j, key := range o.keys {
		if key == after {
			i = j + 1
		}
	}
	o.keys = append(o.keys[:i], append([]string{k}, o.keys[i:]...)...)
}

func (o *object) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, key := range o.keys {
		if key == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			return
		}
	}
}

// str returns a string member, "" when absent or not a string.
func (o *object) str(k string) string {
	s, _ := o.get(k).(string)
	return s
}

// obj returns an object member, nil when absent.
func (o *object) obj(k string) *object {
	v, _ := o.get(k).(*object)
	return v
}

// objs returns the objects of an array member.
func (o *object) objs(k string) []*object {
	arr, _ := o.get(k).([]any)
	out := make([]*object, 0, len(arr))
	for _, v := range arr {
		if ob, ok := v.(*object); ok {
			out = append(out, ob)
		}
	}
	return out
}

// strs returns the strings of an array member.
func (o *object) strs(k string) []string {
	arr, _ := o.get(k).([]any)
	var out []string
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// scalar renders a primitive member (string, number or boolean) as text.
func (o *object) scalar(k string) string {
	switch v := o.get(k).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "yes"
		}
		return "no"
	}
	return ""
}

// encodeValue writes v as compact JSON. Strings are not HTML-escaped: the
// narratives hold XHTML, which a reader of the document should see as written.
func encodeValue(buf *bytes.Buffer, v any) {
	switch t := v.(type) {
	case *object:
		buf.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeString(buf, k)
			buf.WriteByte(':')
			encodeValue(buf, t.vals[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeValue(buf, e)
		}
		buf.WriteByte(']')
	case string:
		encodeString(buf, t)
	case json.Number:
		buf.WriteString(t.String())
	case bool:
		if t {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case int:
		fmt.Fprintf(buf, "%d", t)
	case nil:
		buf.WriteString("null")
	default:
		panic(fmt.Sprintf("ips: cannot encode %T", v))
	}
}

func encodeString(buf *bytes.Buffer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// obj builds an object from alternating keys and values, skipping members
// whose value is empty ("" or nil), so optional elements are simply absent.
func obj(kv ...any) *object {
	o := newObject()
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case nil:
			continue
		case string:
			if v == "" {
				continue
			}
		case *object:
			if v == nil {
				continue
			}
		case []any:
			if len(v) == 0 {
				continue
			}
		}
		o.set(k, kv[i+1])
	}
	return o
}

// list turns objects into a JSON array.
func list[T any](items ...T) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}
