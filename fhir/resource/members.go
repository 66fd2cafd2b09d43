package resource

import (
	"encoding/json"
	"fmt"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// SetMember replaces a top-level member's compact JSON, or appends it when
// absent; nil removes it. It is for elements the server maintains (the
// identity links of a Patient); the caller must keep the resource valid.
func (r *Resource) SetMember(name string, value []byte) {
	for i, m := range r.members {
		if m.Name != name {
			continue
		}
		if value == nil {
			r.members = append(r.members[:i], r.members[i+1:]...)
			return
		}
		r.members[i].Value = value
		return
	}
	if value != nil {
		r.members = append(r.members, fhirjson.Member{Name: name, Value: value})
	}
}

// Stored reads a resource the server stored itself, without validating it
// again: it was validated when written, and re-validating costs more than
// the server-side change (a new link) being made to it. Anything else must
// go through Parser.Parse.
func Stored(body []byte) (*Resource, error) {
	members, err := fhirjson.Scan(body)
	if err != nil {
		return nil, fmt.Errorf("resource.Stored: %w", err)
	}
	r, bad := split(members)
	if bad != "" {
		return nil, fmt.Errorf("resource.Stored: %s is malformed", bad)
	}
	return r, nil
}

// split sorts a resource's top-level members into a Resource; bad names
// the first member that is malformed ("" when none).
func split(members []fhirjson.Member) (*Resource, string) {
	r := &Resource{}
	for _, m := range members {
		switch m.Name {
		case "resourceType":
			if err := json.Unmarshal(m.Value, &r.Type); err != nil {
				return nil, "resourceType"
			}
		case "id":
			if err := json.Unmarshal(m.Value, &r.ID); err != nil {
				return nil, "id"
			}
		case "meta":
			meta, err := objectMembers(m.Value)
			if err != nil {
				return nil, "meta"
			}
			for _, mm := range meta {
				switch mm.Name {
				case "versionId", "lastUpdated", "_versionId", "_lastUpdated":
					// The server owns these (https://hl7.org/fhir/R4/resource.html#Meta).
				default:
					r.meta = append(r.meta, mm)
				}
			}
		default:
			r.members = append(r.members, m)
		}
	}
	return r, ""
}
