package resource

import (
	"encoding/json"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// Coding is a code from a code system, as in meta.security.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Security returns the resource's meta.security labels.
func (r *Resource) Security() []Coding {
	var out []Coding
	_ = json.Unmarshal(r.MetaMember("security"), &out) // validated already: an array of Coding
	return out
}

// AddSecurity appends labels to meta.security
// (https://hl7.org/fhir/R4/security-labels.html), keeping the client's
// labels and their order. It runs before the resource is encoded and
// indexed, so the labels are stored and searchable like the client's own.
func (r *Resource) AddSecurity(labels ...Coding) {
	if len(labels) == 0 {
		return
	}
	var raw []json.RawMessage
	i := -1
	for j, m := range r.meta {
		if m.Name == "security" {
			i = j
			_ = json.Unmarshal(m.Value, &raw)
		}
	}
	for _, l := range labels {
		b, _ := fhirjson.Marshal(l)
		raw = append(raw, b)
	}
	v, _ := fhirjson.Marshal(raw)
	if i >= 0 {
		r.meta[i].Value = v
		return
	}
	r.meta = append(r.meta, fhirjson.Member{Name: "security", Value: v})
}
