package dhis2

import (
	"fmt"
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// patient maps the tracked entity and its attributes. One doubtful value
// never costs the person (issue 11): an attribute Mekong does not know is
// not read, a malformed identifier is kept as a doubted one
// (mapping.Doubtful), an option code that differs from the configured one
// only in case is mapped as configured, an impossible birth date keeps its
// year (and month), a missing name is recorded as unknown; each with a
// warning naming the JSON path. The tracked entity is rejected only when it
// carries no identifier at all; one whose identifiers are all doubted is
// kept, found again by those (mapping.Person.Match).
func (u *unit) patient(at string, te TrackedEntity) *mapping.Patient {
	cfg := u.d.cfg
	p := &mapping.Patient{ResourceType: "Patient", Meta: &mapping.Meta{Profile: []string{mapping.ProfilePatient}}}
	if te.TrackedEntity != "" {
		id := mapping.Identifier{System: cfg.system("trackedEntity"), Value: te.TrackedEntity}
		if !uidPattern.MatchString(te.TrackedEntity) {
			u.warn(at+".trackedEntity", "%q is not a DHIS2 UID: kept as a doubtful identifier", te.TrackedEntity)
			id = mapping.Doubtful(id, "not a DHIS2 UID (11 letters and digits, starting with a letter)")
		}
		p.Identifier = append(p.Identifier, id)
	}
	if te.OrgUnit != "" {
		p.ManagingOrganization = cfg.orgUnit(te.OrgUnit)
	}
	var latinFamily, latinGiven, nativeFamily, nativeGiven string
	for k, v := range te.Attributes {
		path := fmt.Sprintf("%s.attributes[%d]", at, k)
		a, known := cfg.attributes[v.Attribute]
		if !known {
			if !cfg.ignored[v.Attribute] {
				u.warn(path+".attribute", "unknown attribute UID %q: not read (map it, or list it under \"ignore\" in the configuration)", v.Attribute)
			}
			continue
		}
		val := strings.TrimSpace(v.Value)
		if val == "" {
			continue
		}
		switch a.Maps {
		case "identifier":
			id := mapping.Identifier{System: a.System, Value: val}
			if a.Type != "" {
				id.Type = &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.IdentifierType, Code: a.Type}}}
			}
			if !validIDValue(val) {
				u.warn(path+".value", "an identifier is 1-64 letters, digits, '.' or '-': kept as a doubtful identifier")
				id = mapping.Doubtful(id, "not 1-64 letters, digits, '.' or '-'")
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
			p.Gender = u.gender(path+".value", a.Values, val)
		case "birthDate":
			if err := mapping.CheckDate(val); err != nil {
				kept := mapping.SalvageDate(val)
				u.warn(path+".value", "date of birth: %s", mapping.Salvaged(kept, err))
				p.BirthDate = kept
				continue
			}
			p.BirthDate = val
		case "nationality":
			iso := strings.ToUpper(val)
			if len(val) != 3 || !isLetters(iso) {
				u.warn(path+".value", "%q is not an ISO 3166 alpha-3 code: nationality left out", val)
				continue
			}
			if iso != val {
				u.warn(path+".value", "%q read as %s (ISO 3166 codes are upper case)", val, iso)
			}
			p.Extension = append(p.Extension, mapping.Extension{URL: mapping.ExtNationality, Extension: []mapping.Extension{{
				URL: "code", ValueCodeableConcept: &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.ISO3166, Code: iso}}},
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
		u.bad(at+".attributes", "no identifier: neither a trackedEntity UID nor an identifier attribute, so nothing identifies the person")
	}
	if len(p.Name) == 0 {
		u.warn(at+".attributes", "no name attribute: the name is recorded as unknown")
		p.Name = []mapping.HumanName{mapping.UnknownName()}
	}
	return p
}

// gender maps a sex option code through the configuration's values. A code
// that differs from a configured one only in case ("Female" for "FEMALE")
// maps as that one, with a warning; an unknown code leaves sex out.
func (u *unit) gender(path string, values map[string]string, val string) string {
	if g, ok := values[val]; ok {
		return g
	}
	match := ""
	for code := range values {
		if strings.EqualFold(code, val) {
			if match != "" {
				match = ""
				break
			}
			match = code
		}
	}
	if match != "" {
		u.warn(path, "option code %q differs from the configured %q only in case: mapped as %q", val, match, match)
		return values[match]
	}
	u.warn(path, "%q is not a configured sex option: sex left out", val)
	return ""
}

func isLetters(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
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
