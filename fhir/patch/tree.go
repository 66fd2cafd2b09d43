package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"sort"
)

// tree is decoded JSON as encoding/json represents it (map[string]any,
// []any, string, json.Number, bool, nil), which the FHIRPath evaluator
// navigates, plus the member order of every object: a patch must hand back
// the client's document in the client's order, with only the patched parts
// changed, and a Go map forgets order.
type tree struct {
	order map[uintptr][]string
	// copied counts the values deep copies have made: a few bytes of JSON
	// Patch "copy" from the root into itself double the document each time.
	copied int
}

// maxCopied bounds what copies may add, far above any real patch.
const maxCopied = 100_000

var errTooLarge = fmt.Errorf("the copies would add more than %d values to the resource", maxCopied)

func newTree() *tree { return &tree{order: map[uintptr][]string{}} }

// maxDepth bounds nesting in patch documents, which come from outside; the
// deepest R4 resources nest about 15 levels.
const maxDepth = 100

var errTrailing = errors.New("unexpected data after the JSON value")

// decode parses one JSON value (numbers as json.Number, so decimals keep
// their digits); duplicate object members are refused.
func (t *tree) decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := t.value(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return v, nil
}

func (t *tree) value(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		m := map[string]any{}
		var keys []string
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string) // the decoder only yields strings as keys
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("duplicate member %q", k)
			}
			v, err := t.value(dec, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			keys = append(keys, k)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		t.order[id(m)] = keys
		return m, nil
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := t.value(dec, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// id is a map's identity: maps are references, so it is stable while the
// map lives, and the tree keeps every map it orders alive.
func id(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// setOrder records the member order of an object the patch builds.
func (t *tree) setOrder(m map[string]any, keys []string) { t.order[id(m)] = keys }

// copyCounted is copyValue within the budget of maxCopied values.
func (t *tree) copyCounted(v any) (any, error) {
	if t.copied += size(v, maxCopied-t.copied+1); t.copied > maxCopied {
		return nil, errTooLarge
	}
	return t.copyValue(v), nil
}

// size counts the values in v, stopping once it passes limit.
func size(v any, limit int) int {
	n := 1
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			if n > limit {
				break
			}
			n += size(x, limit-n)
		}
	case []any:
		for _, x := range v {
			if n > limit {
				break
			}
			n += size(x, limit-n)
		}
	}
	return n
}

// copyValue deep-copies v, order included (JSON Patch copy, FHIRPath Patch
// values used twice).
func (t *tree) copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = t.copyValue(x)
		}
		if keys, ok := t.order[id(v)]; ok {
			t.order[id(m)] = append([]string(nil), keys...)
		}
		return m
	case []any:
		arr := make([]any, len(v))
		for i, x := range v {
			arr[i] = t.copyValue(x)
		}
		return arr
	}
	return v
}

// encode writes v as compact JSON: object members in their recorded order,
// members added since at the end in name order.
func (t *tree) encode(v any) []byte {
	var b bytes.Buffer
	t.write(&b, v)
	return b.Bytes()
}

func (t *tree) write(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		n := 0
		member := func(k string) {
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			writeString(b, k)
			b.WriteByte(':')
			t.write(b, v[k])
		}
		seen := make(map[string]bool, len(v))
		for _, k := range t.order[id(v)] {
			if _, ok := v[k]; ok && !seen[k] {
				seen[k] = true
				member(k)
			}
		}
		var rest []string
		for k := range v {
			if !seen[k] {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		for _, k := range rest {
			member(k)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			t.write(b, x)
		}
		b.WriteByte(']')
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default: // values are only ever the decoder's types
		panic(fmt.Sprintf("patch: cannot encode %T", v))
	}
}

// writeString writes s as a JSON string without HTML escaping, so narrative
// XHTML stays readable.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode's newline
}

// equal is JSON equality as RFC 6902 §4.6 defines it for test: numbers by
// value, objects regardless of member order, arrays item by item.
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, x := range a {
			y, ok := bm[k]
			if !ok || !equal(x, y) {
				return false
			}
		}
		return true
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !equal(a[i], ba[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		// big.Float, not big.Rat: a Rat would expand 1e999999999 in memory.
		x, _, errx := big.ParseFloat(a.String(), 10, 256, big.ToNearestEven)
		y, _, erry := big.ParseFloat(bn.String(), 10, 256, big.ToNearestEven)
		if errx != nil || erry != nil {
			return a == bn
		}
		return x.Cmp(y) == 0
	}
	return a == b // string, bool, nil
}
