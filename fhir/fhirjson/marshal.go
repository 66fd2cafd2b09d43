package fhirjson

import (
	"bytes"
	"encoding/json"
)

// Marshal is json.Marshal without HTML escaping. encoding/json writes &, <
// and > as \u0026, \u003c and \u003e for embedding in HTML; FHIR JSON is
// not HTML, and a "next" link copied out of curl's output with \u0026 in
// it is a broken URL. Every JSON Mekong writes goes through here (or an
// Encoder with SetEscapeHTML(false)).
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// MustMarshal is Marshal for values that cannot fail to encode (strings,
// numbers, structs and maps of them).
func MustMarshal(v any) []byte {
	b, err := Marshal(v)
	if err != nil {
		panic("fhirjson.MustMarshal: " + err.Error())
	}
	return b
}
