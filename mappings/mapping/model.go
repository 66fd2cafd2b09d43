package mapping

import "encoding/json"

// The types below are the subset of FHIR R4 the mappers write and read back.
// They are plain structs so that encoding/json keeps the member order stable
// (golden files) and unknown members of stored resources are simply ignored on
// the way back to a source format.

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Code returns the code of the first coding in system, "" if none.
func (c *CodeableConcept) Code(system string) string {
	if c == nil {
		return ""
	}
	for _, cd := range c.Coding {
		if cd.System == system {
			return cd.Code
		}
	}
	return ""
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	// Extension holds Mekong's identifier-doubt extension on an identifier a
	// source sent that failed its own check (see Doubtful).
	Extension []Extension      `json:"extension,omitempty"`
	Use       string           `json:"use,omitempty"`
	Type      *CodeableConcept `json:"type,omitempty"`
	System    string           `json:"system,omitempty"`
	Value     string           `json:"value,omitempty"`
}

// Key is "system|value", the form conditional requests and reports use.
func (id Identifier) Key() string { return id.System + "|" + id.Value }

// Extension is a FHIR Extension with the value types Mekong uses.
type Extension struct {
	URL                  string           `json:"url"`
	Extension            []Extension      `json:"extension,omitempty"`
	ValueCode            string           `json:"valueCode,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueURI             string           `json:"valueUri,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
}

// HumanName is a FHIR HumanName; the language extension tells native script from Latin.
type HumanName struct {
	Extension []Extension `json:"extension,omitempty"`
	Use       string      `json:"use,omitempty"`
	Text      string      `json:"text,omitempty"`
	Family    string      `json:"family,omitempty"`
	Given     []string    `json:"given,omitempty"`
}

// Language returns the value of the name's language extension.
func (n HumanName) Language() string {
	for _, e := range n.Extension {
		if e.URL == ExtLanguage {
			return e.ValueCode
		}
	}
	return ""
}

// ContactPoint is a FHIR ContactPoint.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Quantity is a FHIR Quantity; Value keeps the source's digits ("1250.00").
type Quantity struct {
	Value  json.Number `json:"value,omitempty"`
	Unit   string      `json:"unit,omitempty"`
	System string      `json:"system,omitempty"`
	Code   string      `json:"code,omitempty"`
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Meta is the part of Resource.meta a mapper sets.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Security    []Coding `json:"security,omitempty"`
}

// Patient is a FHIR R4 Patient.
type Patient struct {
	ResourceType         string         `json:"resourceType"`
	ID                   string         `json:"id,omitempty"`
	Meta                 *Meta          `json:"meta,omitempty"`
	Extension            []Extension    `json:"extension,omitempty"`
	Identifier           []Identifier   `json:"identifier,omitempty"`
	Name                 []HumanName    `json:"name,omitempty"`
	Telecom              []ContactPoint `json:"telecom,omitempty"`
	Gender               string         `json:"gender,omitempty"`
	BirthDate            string         `json:"birthDate,omitempty"`
	ManagingOrganization *Reference     `json:"managingOrganization,omitempty"`
}

// IdentifierValue returns the value of the first identifier in system.
func (p *Patient) IdentifierValue(system string) string {
	for _, id := range p.Identifier {
		if id.System == system {
			return id.Value
		}
	}
	return ""
}

// Observation is a FHIR R4 Observation.
type Observation struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id,omitempty"`
	Meta                 *Meta             `json:"meta,omitempty"`
	Extension            []Extension       `json:"extension,omitempty"`
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Status               string            `json:"status"`
	Category             []CodeableConcept `json:"category,omitempty"`
	Code                 CodeableConcept   `json:"code"`
	Subject              *Reference        `json:"subject,omitempty"`
	Encounter            *Reference        `json:"encounter,omitempty"`
	EffectiveDateTime    string            `json:"effectiveDateTime,omitempty"`
	Issued               string            `json:"issued,omitempty"`
	Performer            []Reference       `json:"performer,omitempty"`
	ValueCodeableConcept *CodeableConcept  `json:"valueCodeableConcept,omitempty"`
	ValueQuantity        *Quantity         `json:"valueQuantity,omitempty"`
}

// Immunization is a FHIR R4 Immunization.
type Immunization struct {
	ResourceType       string                  `json:"resourceType"`
	ID                 string                  `json:"id,omitempty"`
	Meta               *Meta                   `json:"meta,omitempty"`
	Identifier         []Identifier            `json:"identifier,omitempty"`
	Status             string                  `json:"status"`
	VaccineCode        CodeableConcept         `json:"vaccineCode"`
	Patient            Reference               `json:"patient"`
	Encounter          *Reference              `json:"encounter,omitempty"`
	OccurrenceDateTime string                  `json:"occurrenceDateTime,omitempty"`
	PrimarySource      *bool                   `json:"primarySource,omitempty"`
	LotNumber          string                  `json:"lotNumber,omitempty"`
	Performer          []ImmunizationPerformer `json:"performer,omitempty"`
	ProtocolApplied    []ProtocolApplied       `json:"protocolApplied,omitempty"`
}

// ImmunizationPerformer is Immunization.performer.
type ImmunizationPerformer struct {
	Actor Reference `json:"actor"`
}

// ProtocolApplied is Immunization.protocolApplied; R4 allows the dose as a
// positiveInt or a string, and stored resources from elsewhere may use either.
type ProtocolApplied struct {
	TargetDisease         []CodeableConcept `json:"targetDisease,omitempty"`
	DoseNumberPositiveInt int               `json:"doseNumberPositiveInt,omitempty"`
	DoseNumberString      string            `json:"doseNumberString,omitempty"`
}

// Dose returns the dose number, 0 if absent or not a number.
func (im *Immunization) Dose() int {
	for _, pa := range im.ProtocolApplied {
		if pa.DoseNumberPositiveInt > 0 {
			return pa.DoseNumberPositiveInt
		}
		n := 0
		for _, c := range pa.DoseNumberString {
			if c < '0' || c > '9' {
				n = 0
				break
			}
			n = n*10 + int(c-'0')
		}
		if n > 0 {
			return n
		}
	}
	return 0
}

// EpisodeOfCare is a FHIR R4 EpisodeOfCare; DHIS2 enrollments become one.
type EpisodeOfCare struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id,omitempty"`
	Meta                 *Meta             `json:"meta,omitempty"`
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Status               string            `json:"status"`
	Type                 []CodeableConcept `json:"type,omitempty"`
	Patient              Reference         `json:"patient"`
	ManagingOrganization *Reference        `json:"managingOrganization,omitempty"`
	Period               *Period           `json:"period,omitempty"`
}

// IdentifierIn returns the value of the first identifier whose system is system.
func IdentifierIn(ids []Identifier, system string) string {
	for _, id := range ids {
		if id.System == system {
			return id.Value
		}
	}
	return ""
}
