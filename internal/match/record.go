package match

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Record is the matcher's view of one Patient.
type Record struct {
	ID          string // Patient id ("" for a probe)
	Names       []Name // every name the Patient carries, any script
	BirthDate   string // FHIR date as written: "1990", "1990-04", "1990-04-01" ("" unknown)
	Gender      string // FHIR administrative gender code
	Nationality string // ISO 3166 alpha-3 when known, "" unknown
	Identifiers []Identifier

	// prep is the comparison form Matcher.Prepare computed, by prepBy.
	prep   *prepared
	prepBy *Matcher
}

// Name is one HumanName: family, given names and the free text.
type Name struct {
	Family string
	Given  []string
	Text   string
}

// Identifier is one Patient.identifier.
type Identifier struct {
	System, Value string
	// Doubtful marks an identifier that failed its own check (a Thai CID with
	// a bad check digit): shown, kept, never evidence for a certain match.
	Doubtful bool
}

// Limits on what a Record takes from a Patient, so that a hostile or broken
// resource cannot make matching cost more than a normal one (the brief: memory
// bounded by configuration, never by what a client sends).
const (
	maxNames       = 8
	maxGiven       = 6
	maxIdentifiers = 32
	maxField       = 256 // bytes of one name part, system or value
)

// Extension URLs read from a Patient.
const (
	// ExtIdentifierDoubt marks a kept identifier that failed its source's check; its
	// "system" sub-extension names the system it was issued under (CONTRACTS.md §7,
	// the same URLs as mapping.ExtIdentifierDoubt and mapping.DoubtfulSystem).
	ExtIdentifierDoubt = "https://mekong-fhir.github.io/fhir/StructureDefinition/identifier-doubt"
	// DoubtfulSystem is the system under which a doubtful identifier is
	// kept, itself or followed by "/" and the meant system.
	DoubtfulSystem  = "https://mekong-fhir.github.io/fhir/sid/doubtful-identifier"
	extNationality  = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
	iso3166         = "urn:iso:std:iso:3166"
	thccNationality = "cs-thcc-nationality"
)

// FromPatient builds a Record from the Patient's top-level members; member
// returns the compact JSON of a member or nil. Members that do not parse are
// skipped: a record with a broken name still matches on its identifiers.
func FromPatient(id string, member func(name string) []byte) Record {
	r := Record{ID: id}
	if b := member("name"); b != nil {
		var names []struct {
			Family string   `json:"family"`
			Given  []string `json:"given"`
			Text   string   `json:"text"`
			Use    string   `json:"use"`
		}
		if json.Unmarshal(b, &names) == nil {
			for _, n := range names {
				if len(r.Names) == maxNames {
					break
				}
				if n.Use == "old" {
					continue // a maiden or former name is history, not identity evidence
				}
				nm := Name{Family: clip(n.Family), Text: clip(n.Text)}
				for _, g := range n.Given {
					if len(nm.Given) == maxGiven {
						break
					}
					if g = clip(g); strings.TrimSpace(g) != "" {
						nm.Given = append(nm.Given, g)
					}
				}
				if strings.TrimSpace(nm.Family) != "" || len(nm.Given) > 0 || strings.TrimSpace(nm.Text) != "" {
					r.Names = append(r.Names, nm)
				}
			}
		}
	}
	if b := member("birthDate"); b != nil {
		var s string
		if json.Unmarshal(b, &s) == nil && validDate(s) {
			r.BirthDate = s
		}
	}
	if b := member("gender"); b != nil {
		var s string
		if json.Unmarshal(b, &s) == nil {
			switch s {
			case "male", "female", "other", "unknown":
				r.Gender = s
			}
		}
	}
	if b := member("identifier"); b != nil {
		var ids []struct {
			System    string `json:"system"`
			Value     string `json:"value"`
			Extension []struct {
				URL       string `json:"url"`
				Extension []struct {
					URL      string `json:"url"`
					ValueURI string `json:"valueUri"`
				} `json:"extension"`
			} `json:"extension"`
		}
		if json.Unmarshal(b, &ids) == nil {
			for _, id := range ids {
				if len(r.Identifiers) == maxIdentifiers {
					break
				}
				doubt := id.System == DoubtfulSystem || strings.HasPrefix(id.System, DoubtfulSystem+"/")
				system := id.System
				for _, e := range id.Extension {
					if e.URL != ExtIdentifierDoubt {
						continue
					}
					doubt = true
					for _, sub := range e.Extension {
						if sub.URL == "system" && sub.ValueURI != "" {
							system = sub.ValueURI
						}
					}
				}
				if system == "" || strings.TrimSpace(id.Value) == "" || len(system) > maxField || len(id.Value) > maxField {
					continue
				}
				r.Identifiers = append(r.Identifiers, Identifier{System: system, Value: id.Value, Doubtful: doubt})
			}
		}
	}
	if b := member("extension"); b != nil {
		r.Nationality = nationalityFromExtensions(b)
	}
	if r.Nationality == "" {
		r.Nationality = nationalityFromIdentifiers(r.Identifiers)
	}
	return r
}

// ParsePatient builds a Record from a Patient's JSON (a stored resource).
func ParsePatient(id string, body []byte) (Record, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return Record{}, fmt.Errorf("match.ParsePatient: %w", err)
	}
	var rt string
	if err := json.Unmarshal(members["resourceType"], &rt); err != nil || rt != "Patient" {
		return Record{}, errors.New("match.ParsePatient: not a Patient")
	}
	if id == "" {
		_ = json.Unmarshal(members["id"], &id)
	}
	return FromPatient(id, func(name string) []byte { return members[name] }), nil
}

func nationalityFromExtensions(b []byte) string {
	type coding struct{ System, Code string }
	var exts []struct {
		URL       string `json:"url"`
		Extension []struct {
			URL                  string `json:"url"`
			ValueCodeableConcept *struct {
				Coding []coding `json:"coding"`
			} `json:"valueCodeableConcept"`
		} `json:"extension"`
	}
	if json.Unmarshal(b, &exts) != nil {
		return ""
	}
	for _, e := range exts {
		if e.URL != extNationality {
			continue
		}
		for _, sub := range e.Extension {
			if sub.URL != "code" || sub.ValueCodeableConcept == nil {
				continue
			}
			for _, c := range sub.ValueCodeableConcept.Coding {
				if c.System == iso3166 && len(c.Code) == 3 && isUpperAlpha(c.Code) {
					return c.Code
				}
			}
			for _, c := range sub.ValueCodeableConcept.Coding {
				if strings.HasSuffix(c.System, "/"+thccNationality) {
					if iso := thccISO[c.Code]; iso != "" {
						return iso
					}
				}
			}
		}
	}
	return ""
}

// thccISO is the part of the THCC nationality code list (domain.md §4.2) that
// names the region's countries, for Patients that carry no ISO coding.
var thccISO = map[string]string{
	"057": "KHM", "264": "KHM", "257": "KHM", "089": "KHM",
	"056": "LAO", "266": "LAO", "048": "MMR", "265": "MMR", "099": "THA",
}

func nationalityFromIdentifiers(ids []Identifier) string {
	for _, id := range ids {
		if id.System == systemKHMNationalID {
			return "KHM"
		}
	}
	return ""
}

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// clip cuts s to maxField bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	s = s[:maxField]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
