package dhis2

import (
	"fmt"
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// patient maps the tracked entity and its attributes; every attribute UID
// must be configured or listed under "ignore".
func (u *unit) patient(at string, te TrackedEntity) *mapping.Patient {
	cfg := u.d.cfg
	p := &mapping.Patient{ResourceType: "Patient", Meta: &mapping.Meta{Profile: []string{mapping.ProfilePatient}}}
	if te.TrackedEntity != "" {
		p.Identifier = append(p.Identifier, mapping.Identifier{System: cfg.system("trackedEntity"), Value: te.TrackedEntity})
	}
	if te.OrgUnit != "" {
		p.ManagingOrganization = &mapping.Reference{Type: "Organization", Identifier: &mapping.Identifier{System: cfg.system("orgUnit"), Value: te.OrgUnit}}
	}
	var latinFamily, latinGiven, nativeFamily, nativeGiven string
	for k, v := range te.Attributes {
		path := fmt.Sprintf("%s.attributes[%d]", at, k)
		a, known := cfg.attributes[v.Attribute]
		if !known {
			if !cfg.ignored[v.Attribute] {
				u.bad(path+".attribute", "unknown attribute UID %q (map it, or list it under \"ignore\" in the configuration)", v.Attribute)
			}
			continue
		}
		val := strings.TrimSpace(v.Value)
		if val == "" {
			continue
		}
		switch a.Maps {
		case "identifier":
			if !validIDValue(val) {
				u.bad(path+".value", "an identifier is 1-64 letters, digits, '.' or '-'")
				continue
			}
			id := mapping.Identifier{System: a.System, Value: val}
			if a.Type != "" {
				id.Type = &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.IdentifierType, Code: a.Type}}}
			}
			p.Identifier = append(p.Identifier, id)
		case "name.latin.family":
			latinFamily = val
		case "name.latin.given":
			latinGiven = val
		case "name.native.family":
			nativeFamily = val
		case "name.native.given":
			nativeGiven = val
		case "gender":
			g, ok := a.Values[val]
			if !ok {
				u.bad(path+".value", "%q is not a configured sex option", val)
			}
			p.Gender = g
		case "birthDate":
			if err := mapping.CheckDate(val); err != nil {
				u.bad(path+".value", "date of birth: %v", err)
				continue
			}
			p.BirthDate = val
		case "nationality":
			if len(val) != 3 || strings.ToUpper(val) != val {
				u.bad(path+".value", "%q is not an ISO 3166 alpha-3 code", val)
				continue
			}
			p.Extension = append(p.Extension, mapping.Extension{URL: mapping.ExtNationality, Extension: []mapping.Extension{{
				URL: "code", ValueCodeableConcept: &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.ISO3166, Code: val}}},
			}}})
		case "phone":
			p.Telecom = append(p.Telecom, mapping.ContactPoint{System: "phone", Value: val})
		}
	}
	if n, ok := mapping.NewName(latinFamily, latinGiven); ok {
		p.Name = append(p.Name, n)
	}
	if n, ok := mapping.NewName(nativeFamily, nativeGiven); ok {
		p.Name = append(p.Name, n)
	}
	if len(p.Identifier) == 0 {
		u.bad(at+".attributes", "no identifier: neither a trackedEntity UID nor an identifier attribute")
	}
	if len(p.Name) == 0 {
		u.bad(at+".attributes", "no name attribute")
	}
	return p
}

func validIDValue(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}
