package search

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// subsetted is the tag a partial resource carries
// (https://hl7.org/fhir/R4/search.html#summary).
var subsetted = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}

// Subset applies _summary (true, text, data) and _elements to a stored
// resource. It returns content unchanged when neither asks for a subset.
func Subset(typ string, content []byte, summary string, elements []string) []byte {
	keep := keeper(typ, summary, elements)
	if keep == nil {
		return content
	}
	members, err := fhirjson.Scan(content)
	if err != nil {
		return content // stored content is valid; never fail a read over this
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, m := range members {
		if !keep(m.Name) {
			continue
		}
		value := m.Value
		if m.Name == "meta" {
			value = tagged(value)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := fhirjson.Marshal(m.Name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// keeper returns the member filter, or nil for the full resource.
func keeper(typ, summary string, elements []string) func(string) bool {
	always := func(name string) bool { return name == "resourceType" || name == "id" || name == "meta" }
	switch {
	case len(elements) > 0:
		set := map[string]bool{}
		for _, e := range elements {
			top, _, _ := strings.Cut(e, ".")
			set[top] = true
		}
		for _, m := range mandatoryElements[typ] {
			set[m] = true
		}
		return func(name string) bool { return always(name) || matches(set, name) }
	case summary == "true":
		set := map[string]bool{}
		for _, e := range summaryElements[typ] {
			set[e] = true
		}
		return func(name string) bool { return always(name) || matches(set, name) }
	case summary == "text":
		set := map[string]bool{"text": true}
		for _, m := range mandatoryElements[typ] {
			set[m] = true
		}
		return func(name string) bool { return always(name) || matches(set, name) }
	case summary == "data":
		return func(name string) bool { return name != "text" }
	}
	return nil
}

// matches reports whether a JSON member belongs to one of the elements: its
// own name, a choice element's typed name (valueQuantity for value) or a
// primitive's extension member (_birthDate).
func matches(set map[string]bool, name string) bool {
	name = strings.TrimPrefix(name, "_")
	if set[name] {
		return true
	}
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' {
			return set[name[:i]]
		}
	}
	return false
}

// tagged adds the SUBSETTED tag to a meta object.
func tagged(meta []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(meta, &m); err != nil {
		return meta
	}
	tags, _ := m["tag"].([]any)
	m["tag"] = append(tags, subsetted)
	out, err := fhirjson.Marshal(m)
	if err != nil {
		return meta
	}
	return out
}
