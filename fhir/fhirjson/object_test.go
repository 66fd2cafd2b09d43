package fhirjson

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A resource read and written back keeps its member order, its numbers as
// written and its characters unescaped (https://hl7.org/fhir/R4/json.html:
// decimals must keep their precision; the order of elements is FHIR's).
func TestObjectRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"<mg>"},"b":true,"n":null,"a":[1e3,-0.0,"x&y"]}`,
		`{"z":1,"a":2,"m":{"y":[],"x":{}}}`,
		`["\u2028 (escaped, as encoding/json does) and \"quotes\" and \\ and \t",{}]`,
		`"top-level string"`,
		`12.000`,
	} {
		v, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		if got := string(Encode(v)); got != in {
			t.Errorf("Encode(Parse(%s)) = %s", in, got)
		}
	}
}

// Whitespace goes, member order and escapes as encoding/json writes them
// (without HTML escaping) stay.
func TestEncodeCompactsLikeMarshal(t *testing.T) {
	in := "{ \"b\" : \"<div>&amp;</div>\\u0041\\n\" ,\n \"a\" : [ 1 , 2 ] }"
	o, err := ParseObject([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":"<div>&amp;</div>A\n","a":[1,2]}`
	if got := string(Encode(o)); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := string(MustMarshal(map[string]any{"o": o})); got != `{"o":`+want+`}` {
		t.Errorf("Marshal of an Object inside a map: %s", got)
	}
}

func TestParseRefuses(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for name, in := range map[string]string{
		"duplicate member": `{"a":1,"a":2}`,
		"trailing data":    `{} {}`,
		"too deep":         deep,
		"not JSON":         `{"a":}`,
		"unterminated":     `{"a":[1,2`,
		"empty":            ``,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: Parse(%.40s) accepted it", name, in)
		}
	}
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("Parse refused %d levels, which Scan allows: %v", maxDepth, err)
	}
	if _, err := ParseObject([]byte(`[1]`)); err == nil {
		t.Error("ParseObject accepted an array")
	}
}

func TestObjectEdits(t *testing.T) {
	o, err := ParseObject([]byte(`{"resourceType":"Patient","id":"p","gender":"female"}`))
	if err != nil {
		t.Fatal(err)
	}
	o.SetAfter("id", "meta", NewObject())            // lands after id
	o.SetAfter("absent", "text", "first")            // after is absent: first
	o.Set("gender", "male")                          // replaced in place
	o.SetAfter("resourceType", "gender", "other")    // present: replaced in place, not moved
	o.Set("active", true)                            // appended
	o.Del("text")                                    // removed
	o.Del("nothing")                                 // no-op
	o.Obj("meta").Set("profile", []any{"a", 1, "b"}) // nested edit through Obj
	want := `{"resourceType":"Patient","id":"p","meta":{"profile":["a",1,"b"]},"gender":"other","active":true}`
	if got := string(Encode(o)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := o.Keys(); !slices.Equal(got, []string{"resourceType", "id", "meta", "gender", "active"}) || o.Len() != 5 {
		t.Errorf("Keys = %v, Len = %d", got, o.Len())
	}
	var seen []string
	for k := range o.All() {
		seen = append(seen, k)
	}
	if !slices.Equal(seen, o.Keys()) {
		t.Errorf("All yielded %v", seen)
	}
	if got := o.Obj("meta").Strs("profile"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Strs = %v", got)
	}
	if o.Str("active") != "" || o.Obj("id") != nil || len(o.Objs("id")) != 0 {
		t.Error("typed getters must return zero values for members of another type")
	}
}

// Getters on an absent object return zero values, so a walk down optional
// elements (o.Obj("code").Objs("coding")) needs no nil checks.
func TestNilObjectGetters(t *testing.T) {
	var o *Object
	if o.Get("a") != nil || o.Str("a") != "" || o.Obj("a") != nil || len(o.Objs("a")) != 0 ||
		o.Strs("a") != nil || o.Len() != 0 || o.Keys() != nil {
		t.Error("a nil *Object must read as empty")
	}
	for range o.All() {
		t.Error("All on nil yielded")
	}
}

func TestEncodeBuilderValues(t *testing.T) {
	o := NewObject()
	o.Set("nbf", int64(1700000000))
	o.Set("n", 7)
	o.Set("d", json.Number("1.10"))
	o.Set("f", false)
	o.Set("x", nil)
	if got, want := string(Encode(o)), `{"nbf":1700000000,"n":7,"d":1.10,"f":false,"x":null}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Encode of a float64 did not panic")
		}
	}()
	Encode(1.5)
}
