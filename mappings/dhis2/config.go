// Package dhis2 maps DHIS2 tracker payloads (trackedEntities → enrollments
// → events → dataValues, as sent to and read from /api/tracker) to FHIR and
// back. DHIS2 metadata identifiers are instance-specific and Cambodia's are
// not public, so a configuration file names every UID Mekong reads: the
// tracked entity type, the attributes, the programs and their stages, the
// data elements and the option sets (mappings/README.md documents the format;
// example-config.json is a COVID-19 vaccination and a TB/HIV screening programme).
package dhis2

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

//go:embed example-config.json
var exampleConfig []byte

// ExampleConfig returns the shipped example configuration.
func ExampleConfig() Config {
	c, err := LoadConfig(exampleConfig)
	if err != nil {
		panic(err) // embedded and tested
	}
	return c
}

// orgUnit is a reference to an organisation unit, named when the
// configuration knows its name.
func (c *Config) orgUnit(uid string) *mapping.Reference {
	return &mapping.Reference{Type: "Organization", Identifier: &mapping.Identifier{System: c.system("orgUnit"), Value: uid},
		Display: c.OrgUnitNames[uid]}
}

// Config is a mapping configuration: which UIDs mean what.
type Config struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// TrackedEntityType is the UID of the tracked entity type of persons.
	TrackedEntityType string `json:"trackedEntityType"`
	// IdentifierBase prefixes the identifier systems of DHIS2 UIDs
	// (IdentifierBase + "/trackedEntity", "/event", "/orgUnit", ...).
	IdentifierBase string `json:"identifierBase"`
	// Timezone is the UTC offset of the instance ("+07:00"): DHIS2 writes
	// local date-times without an offset, FHIR needs one.
	Timezone string `json:"timezone"`
	// OrgUnit is the organisation unit UID exports use for patients and
	// services recorded outside DHIS2.
	OrgUnit string `json:"orgUnit,omitempty"`
	// OrgUnitNames names organisation units by UID (from the instance's
	// metadata, /api/organisationUnits?fields=id,name): a payload carries
	// only the UID, and a clinic reading the record wants the place. A name
	// becomes the display of the references to that unit.
	OrgUnitNames map[string]string `json:"orgUnitNames,omitempty"`
	Attributes   []Attribute       `json:"attributes"`
	Programs     []Program         `json:"programs"`
	OptionSets   []OptionSet       `json:"optionSets"`
	// Ignore lists attribute and data element UIDs deliberately not mapped;
	// any other UID Mekong does not know rejects its tracked entity or event.
	Ignore []string `json:"ignore,omitempty"`

	// File names the input in rejects (default "payload.json").
	File string `json:"-"`
	// Terminology translates option codes (default terminology.Default()).
	Terminology *terminology.Terminology `json:"-"`

	zone       *time.Location
	attributes map[string]*Attribute
	stages     map[string]stageRef
	elements   map[string]elementRef
	optionSets map[string]*OptionSet
	programs   map[string]*Program
	ignored    map[string]bool
}

// Attribute maps a tracked entity attribute to a Patient element.
type Attribute struct {
	Attribute string `json:"attribute"`
	Name      string `json:"name,omitempty"`
	// Maps is one of: identifier, name.latin.family, name.latin.given,
	// name.native.family, name.native.given, gender, birthDate,
	// nationality (ISO 3166 alpha-3), phone.
	Maps string `json:"maps"`
	// System and Type (a v2-0203 code) apply to identifiers.
	System string `json:"system,omitempty"`
	Type   string `json:"type,omitempty"`
	// Values maps option codes to FHIR codes (gender: MALE → male).
	Values map[string]string `json:"values,omitempty"`
}

// Program is a tracker program and the stages Mekong reads.
type Program struct {
	Program string  `json:"program"`
	Name    string  `json:"name,omitempty"`
	Stages  []Stage `json:"stages"`
}

// Stage is a program stage: its events become an Immunization or Observations.
type Stage struct {
	ProgramStage string             `json:"programStage"`
	Name         string             `json:"name,omitempty"`
	Immunization *ImmunizationStage `json:"immunization,omitempty"`
	Observations []DataElement      `json:"observations,omitempty"`
}

// ImmunizationStage names the data elements of a vaccination event.
type ImmunizationStage struct {
	Vaccine DataElement  `json:"vaccine"`
	Dose    *DataElement `json:"dose,omitempty"`
	Lot     *DataElement `json:"lot,omitempty"`
}

// DataElement is a data element and how its value is read.
type DataElement struct {
	DataElement string `json:"dataElement"`
	Name        string `json:"name,omitempty"`
	// Code is the standard code of the result (LOINC) for observations.
	Code *mapping.Coding `json:"code,omitempty"`
	// OptionSet is set when the value is an option code; otherwise the
	// value is a number (observations), a positive integer (dose) or text (lot).
	OptionSet string `json:"optionSet,omitempty"`
}

// OptionSet gives the code system of an option set's codes.
type OptionSet struct {
	OptionSet string `json:"optionSet"`
	Name      string `json:"name,omitempty"`
	System    string `json:"system"`
}

type stageRef struct {
	program *Program
	stage   *Stage
}

type elementRef struct {
	stage *Stage
	de    *DataElement
	role  string // "observation", "vaccine", "dose", "lot"
}

var uidPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{10}$`)

var attributeRoles = map[string]bool{
	"identifier": true, "name.latin.family": true, "name.latin.given": true, "name.native.family": true,
	"name.native.given": true, "gender": true, "birthDate": true, "nationality": true, "phone": true,
}

// LoadConfig parses and checks a configuration file.
func LoadConfig(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("dhis2.LoadConfig: %w", err)
	}
	if err := c.init(); err != nil {
		return Config{}, fmt.Errorf("dhis2.LoadConfig: %w", err)
	}
	return c, nil
}

// init checks the configuration and builds its indexes; every exported
// function calls it, so a Config built in Go works like a loaded one.
func (c *Config) init() error {
	if c.File == "" {
		c.File = "payload.json"
	}
	if c.Terminology == nil {
		c.Terminology = terminology.Default()
	}
	if c.IdentifierBase == "" {
		c.IdentifierBase = mapping.Base + "/sid/dhis2"
	}
	c.zone = time.UTC
	if c.Timezone != "" {
		t, err := time.Parse("-07:00", c.Timezone)
		if err != nil {
			return fmt.Errorf("timezone %q is not an offset like +07:00", c.Timezone)
		}
		_, off := t.Zone()
		c.zone = time.FixedZone(c.Timezone, off)
	}
	if !uidPattern.MatchString(c.TrackedEntityType) {
		return fmt.Errorf("trackedEntityType %q is not a DHIS2 UID", c.TrackedEntityType)
	}
	for uid, name := range c.OrgUnitNames {
		if !uidPattern.MatchString(uid) {
			return fmt.Errorf("orgUnitNames: %q is not a DHIS2 UID", uid)
		}
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("orgUnitNames: %s has an empty name", uid)
		}
	}
	c.attributes, c.stages, c.elements = map[string]*Attribute{}, map[string]stageRef{}, map[string]elementRef{}
	c.optionSets, c.programs, c.ignored = map[string]*OptionSet{}, map[string]*Program{}, map[string]bool{}
	uids := map[string]string{}
	claim := func(uid, what string) error {
		if !uidPattern.MatchString(uid) {
			return fmt.Errorf("%s %q is not a DHIS2 UID", what, uid)
		}
		if prev, dup := uids[uid]; dup && prev != what {
			return fmt.Errorf("UID %s is both %s and %s", uid, prev, what)
		}
		uids[uid] = what
		return nil
	}
	for i := range c.OptionSets {
		os := &c.OptionSets[i]
		if err := claim(os.OptionSet, "option set"); err != nil {
			return err
		}
		if os.System == "" {
			return fmt.Errorf("option set %s has no system", os.OptionSet)
		}
		c.optionSets[os.OptionSet] = os
	}
	hasID := false
	for i := range c.Attributes {
		a := &c.Attributes[i]
		if err := claim(a.Attribute, "attribute"); err != nil {
			return err
		}
		if !attributeRoles[a.Maps] {
			return fmt.Errorf("attribute %s maps to %q, not a known Patient element", a.Attribute, a.Maps)
		}
		if a.Maps == "identifier" {
			if a.System == "" {
				return fmt.Errorf("identifier attribute %s has no system", a.Attribute)
			}
			hasID = true
		}
		c.attributes[a.Attribute] = a
	}
	if !hasID {
		return fmt.Errorf("no attribute maps to an identifier: Patients are matched on identifiers")
	}
	for i := range c.Programs {
		p := &c.Programs[i]
		if err := claim(p.Program, "program"); err != nil {
			return err
		}
		c.programs[p.Program] = p
		for j := range p.Stages {
			s := &p.Stages[j]
			if err := claim(s.ProgramStage, "program stage"); err != nil {
				return err
			}
			c.stages[s.ProgramStage] = stageRef{p, s}
			add := func(de *DataElement, role string) error {
				if err := claim(de.DataElement, "data element"); err != nil {
					return err
				}
				if de.OptionSet != "" && c.optionSets[de.OptionSet] == nil {
					return fmt.Errorf("data element %s uses unknown option set %s", de.DataElement, de.OptionSet)
				}
				if _, dup := c.elements[de.DataElement]; dup {
					return fmt.Errorf("data element %s is mapped twice", de.DataElement)
				}
				c.elements[de.DataElement] = elementRef{s, de, role}
				return nil
			}
			if im := s.Immunization; im != nil {
				if im.Vaccine.OptionSet == "" {
					return fmt.Errorf("stage %s: the vaccine data element needs an option set", s.ProgramStage)
				}
				if err := add(&im.Vaccine, "vaccine"); err != nil {
					return err
				}
				for _, x := range []struct {
					de   *DataElement
					role string
				}{{im.Dose, "dose"}, {im.Lot, "lot"}} {
					if x.de != nil {
						if err := add(x.de, x.role); err != nil {
							return err
						}
					}
				}
			}
			for k := range s.Observations {
				de := &s.Observations[k]
				if de.Code == nil || de.Code.System == "" || de.Code.Code == "" {
					return fmt.Errorf("data element %s has no standard code", de.DataElement)
				}
				if err := add(de, "observation"); err != nil {
					return err
				}
			}
		}
	}
	for _, uid := range c.Ignore {
		c.ignored[uid] = true
	}
	return nil
}

func (c *Config) system(kind string) string { return c.IdentifierBase + "/" + kind }
