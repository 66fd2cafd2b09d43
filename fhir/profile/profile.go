// Package profile checks resources against the differential of a FHIR R4
// StructureDefinition (https://hl7.org/fhir/R4/profiling.html). It enforces
// what Mekong's own profiles state: cardinality (min and max), fixed[x] and
// pattern[x] values, type restrictions on choice elements and references,
// and slices discriminated by pattern (e.g. "a LOINC coding is required").
// It is not a full validator: FHIRPath invariants, bindings and the base
// definition's snapshot are not evaluated; Profile.Unenforced lists what a
// given profile states that this package skips, so nothing passes silently.
package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Profile is a parsed StructureDefinition differential.
type Profile struct {
	URL  string
	Type string
	// Unenforced names the constraints of the profile this package does not check.
	Unenforced []string

	elements []*element
	byID     map[string]*element
}

type element struct {
	id, path  string
	sliceName string
	min       int
	max       string // "" (unset), "*" or a number
	types     []typeRef
	fixed     any // decoded fixed[x], nil if none
	pattern   any // decoded pattern[x], nil if none
	slicing   bool
}

type typeRef struct {
	Code          string   `json:"code"`
	TargetProfile []string `json:"targetProfile"`
}

// Parse reads a StructureDefinition in JSON. The differential is required:
// Mekong's profiles are published in differential form.
func Parse(sd []byte) (*Profile, error) {
	var raw struct {
		ResourceType string `json:"resourceType"`
		URL          string `json:"url"`
		Type         string `json:"type"`
		Differential struct {
			Element []map[string]json.RawMessage `json:"element"`
		} `json:"differential"`
	}
	dec := json.NewDecoder(bytes.NewReader(sd))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("profile.Parse: %w", err)
	}
	if raw.ResourceType != "StructureDefinition" || raw.URL == "" || raw.Type == "" {
		return nil, fmt.Errorf("profile.Parse: a StructureDefinition with url and type is required")
	}
	if len(raw.Differential.Element) == 0 {
		return nil, fmt.Errorf("profile.Parse: %s has no differential", raw.URL)
	}
	p := &Profile{URL: raw.URL, Type: raw.Type, byID: map[string]*element{}}
	unenforced := map[string]bool{}
	for i, m := range raw.Differential.Element {
		e, err := parseElement(m, unenforced)
		if err != nil {
			return nil, fmt.Errorf("profile.Parse: %s element %d: %w", raw.URL, i+1, err)
		}
		if e.path != p.Type && !strings.HasPrefix(e.path, p.Type+".") {
			return nil, fmt.Errorf("profile.Parse: %s: element %s is not in %s", raw.URL, e.id, p.Type)
		}
		p.elements = append(p.elements, e)
		p.byID[e.id] = e
	}
	for k := range unenforced {
		p.Unenforced = append(p.Unenforced, k)
	}
	sort.Strings(p.Unenforced)
	return p, nil
}

// enforced are the ElementDefinition members Check acts on or that carry no
// constraint (documentation, flags).
var enforced = map[string]bool{
	"id": true, "path": true, "sliceName": true, "min": true, "max": true, "type": true,
	"slicing": true, "short": true, "definition": true, "comment": true, "requirements": true,
	"alias": true, "label": true, "mustSupport": true, "isSummary": true, "mapping": true,
}

func parseElement(m map[string]json.RawMessage, unenforced map[string]bool) (*element, error) {
	e := &element{}
	str := func(name string, dst *string) error {
		if v, ok := m[name]; ok {
			return json.Unmarshal(v, dst)
		}
		return nil
	}
	if err := str("path", &e.path); err != nil || e.path == "" {
		return nil, fmt.Errorf("path is required")
	}
	if err := str("id", &e.id); err != nil {
		return nil, err
	}
	if e.id == "" {
		e.id = e.path
	}
	if err := str("sliceName", &e.sliceName); err != nil {
		return nil, err
	}
	if err := str("max", &e.max); err != nil {
		return nil, err
	}
	if v, ok := m["min"]; ok {
		if err := json.Unmarshal(v, &e.min); err != nil {
			return nil, fmt.Errorf("min: %w", err)
		}
	}
	if v, ok := m["type"]; ok {
		if err := json.Unmarshal(v, &e.types); err != nil {
			return nil, fmt.Errorf("type: %w", err)
		}
	}
	if v, ok := m["slicing"]; ok {
		var s struct {
			Discriminator []struct{ Type, Path string } `json:"discriminator"`
		}
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("slicing: %w", err)
		}
		for _, d := range s.Discriminator {
			if d.Type != "pattern" && d.Type != "value" {
				unenforced[e.id+": slicing by "+d.Type] = true
			}
		}
		e.slicing = true
	}
	for name, v := range m {
		switch {
		case strings.HasPrefix(name, "fixed"):
			e.fixed = decode(v)
		case strings.HasPrefix(name, "pattern"):
			e.pattern = decode(v)
		case !enforced[name]:
			unenforced[e.id+": "+name] = true
		}
	}
	return e, nil
}

func decode(v json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var out any
	_ = dec.Decode(&out) // v came out of a JSON decoder already
	return out
}

// Set is a collection of profiles by canonical URL.
type Set struct{ byURL map[string]*Profile }

// NewSet parses StructureDefinitions.
func NewSet(sds ...[]byte) (*Set, error) {
	s := &Set{byURL: map[string]*Profile{}}
	for _, sd := range sds {
		p, err := Parse(sd)
		if err != nil {
			return nil, err
		}
		s.byURL[p.URL] = p
	}
	return s, nil
}

// Profile returns the profile with the given canonical URL (a "|version" suffix is ignored).
func (s *Set) Profile(url string) (*Profile, bool) {
	url, _, _ = strings.Cut(url, "|")
	p, ok := s.byURL[url]
	return p, ok
}
