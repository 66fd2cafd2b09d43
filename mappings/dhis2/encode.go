package dhis2

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// Encode writes records as a nested tracker payload for POST /api/tracker.
// Resources Mekong decoded from DHIS2 keep their UIDs, so importing the
// payload updates rather than duplicates; others get none and DHIS2
// assigns them. What the configuration has no place for is an Omission.
func Encode(w io.Writer, records []mapping.Record, cfg Config) ([]mapping.Omission, error) {
	p, omitted, err := EncodePayload(records, cfg)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("dhis2.Encode: %w", err)
	}
	return omitted, nil
}

// EncodePayload returns the payload Encode writes.
func EncodePayload(records []mapping.Record, cfg Config) (Payload, []mapping.Omission, error) {
	if err := cfg.init(); err != nil {
		return Payload{}, nil, fmt.Errorf("dhis2.EncodePayload: %w", err)
	}
	e := &encoder{cfg: &cfg}
	p := Payload{TrackedEntities: []TrackedEntity{}}
	for _, rec := range records {
		p.TrackedEntities = append(p.TrackedEntities, e.trackedEntity(rec))
	}
	return p, e.omitted, nil
}

type encoder struct {
	cfg     *Config
	omitted []mapping.Omission
}

func (e *encoder) omit(what, format string, args ...any) {
	e.omitted = append(e.omitted, mapping.Omission{Resource: what, Reason: fmt.Sprintf(format, args...)})
}

func (e *encoder) orgUnit(ref *mapping.Reference, fallback string) string {
	if ref != nil && ref.Identifier != nil && ref.Identifier.System == e.cfg.system("orgUnit") {
		return ref.Identifier.Value
	}
	return fallback
}

func (e *encoder) trackedEntity(rec mapping.Record) TrackedEntity {
	cfg, p := e.cfg, &rec.Patient
	te := TrackedEntity{
		TrackedEntity:     p.IdentifierValue(cfg.system("trackedEntity")),
		TrackedEntityType: cfg.TrackedEntityType,
		OrgUnit:           e.orgUnit(p.ManagingOrganization, cfg.OrgUnit),
	}
	if te.OrgUnit == "" {
		e.omit("Patient", "no organisation unit: set orgUnit in the configuration")
	}
	latin, native := p.Names()
	for _, a := range cfg.Attributes {
		v := ""
		switch a.Maps {
		case "identifier":
			for _, id := range p.Identifier {
				if mapping.NormalizeSystem(id.System) == a.System {
					v = id.Value
					break
				}
			}
		case "name.latin.family":
			if latin != nil {
				v = latin.Family
			}
		case "name.latin.given":
			if latin != nil {
				v = latin.GivenName()
			}
		case "name.native.family":
			if native != nil {
				v = native.Family
			}
		case "name.native.given":
			if native != nil {
				v = native.GivenName()
			}
		case "gender":
			v = optionFor(a.Values, p.Gender)
		case "birthDate":
			v = mapping.Date(p.BirthDate)
		case "nationality":
			for _, ext := range p.Extension {
				for _, sub := range ext.Extension {
					if ext.URL == mapping.ExtNationality && sub.URL == "code" {
						v = mapping.CodeIn(sub.ValueCodeableConcept, mapping.ISO3166)
					}
				}
			}
		case "phone":
			for _, t := range p.Telecom {
				if t.System == "phone" && v == "" {
					v = t.Value
				}
			}
		}
		if v != "" {
			te.Attributes = append(te.Attributes, Value{Attribute: a.Attribute, Value: v})
		}
	}
	e.enrollments(&te, rec)
	return te
}

// optionFor reverses a value map (female → FEMALE), deterministically.
func optionFor(values map[string]string, fhir string) string {
	var keys []string
	for k, v := range values {
		if v == fhir && fhir != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// pending is an event being assembled, with the enrollment it goes in.
type pending struct {
	program string
	ev      Event
	partial bool // some observation of it is preliminary
}

func (e *encoder) enrollments(te *TrackedEntity, rec mapping.Record) {
	cfg := e.cfg
	var events []*pending
	byKey := map[string]*pending{}
	add := func(key, program string, ev Event) *pending {
		if pe, ok := byKey[key]; ok && key != "" {
			return pe
		}
		pe := &pending{program: program, ev: ev}
		events = append(events, pe)
		if key != "" {
			byKey[key] = pe
		}
		return pe
	}
	for _, o := range rec.Observations {
		e.observation(o, te.OrgUnit, add)
	}
	for _, im := range rec.Immunizations {
		e.immunization(im, te.OrgUnit, add)
	}
	var order []string
	enrollments := map[string]*Enrollment{}
	for _, ep := range rec.Episodes {
		prog := ""
		for _, t := range ep.Type {
			if c := mapping.CodeIn(&t, cfg.system("program")); c != "" && cfg.programs[c] != nil {
				prog = c
			}
		}
		if prog == "" || enrollments[prog] != nil {
			e.omit(mapping.Describe("EpisodeOfCare", ep.Identifier), "not an enrollment in a configured program")
			continue
		}
		en := &Enrollment{
			Enrollment: mapping.IdentifierIn(ep.Identifier, cfg.system("enrollment")),
			Program:    prog,
			OrgUnit:    e.orgUnit(ep.ManagingOrganization, te.OrgUnit),
			Status:     map[string]string{"active": "ACTIVE", "finished": "COMPLETED", "cancelled": "CANCELLED"}[ep.Status],
		}
		if en.Status == "" {
			en.Status = "ACTIVE"
		}
		if ep.Period != nil {
			en.EnrolledAt = dhisTimeOf(ep.Period.Start, cfg.zone)
		}
		en.OccurredAt = en.EnrolledAt
		enrollments[prog] = en
		order = append(order, prog)
	}
	for _, pe := range events {
		en, ok := enrollments[pe.program]
		if !ok { // services from elsewhere: enrol from the first event
			en = &Enrollment{Program: pe.program, OrgUnit: te.OrgUnit, Status: "ACTIVE", EnrolledAt: pe.ev.OccurredAt, OccurredAt: pe.ev.OccurredAt}
			enrollments[pe.program] = en
			order = append(order, pe.program)
		}
		if pe.partial {
			pe.ev.Status = "ACTIVE"
		}
		en.Events = append(en.Events, pe.ev)
	}
	for _, prog := range order {
		te.Enrollments = append(te.Enrollments, *enrollments[prog])
	}
}

// element finds the data element of an Observation: its own DHIS2 coding,
// else the first observation data element with the same standard code.
func (e *encoder) element(o mapping.Observation) (elementRef, bool) {
	cfg := e.cfg
	if uid := mapping.CodeIn(&o.Code, cfg.system("dataElement")); uid != "" {
		if er, ok := cfg.elements[uid]; ok && er.role == "observation" {
			return er, true
		}
	}
	for _, p := range cfg.Programs {
		for si := range p.Stages {
			s := &p.Stages[si]
			for di := range s.Observations {
				de := &s.Observations[di]
				for _, c := range o.Code.Coding {
					if mapping.NormalizeSystem(c.System) == de.Code.System && c.Code == de.Code.Code {
						return elementRef{s, de, "observation"}, true
					}
				}
			}
		}
	}
	return elementRef{}, false
}

// optionCode returns the option code of a value: the option set's own
// coding, or a standard code read back through the crosswalk.
func (e *encoder) optionCode(os *OptionSet, cc *mapping.CodeableConcept, standard string) string {
	if c := mapping.CodeIn(cc, os.System); c != "" {
		return c
	}
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if mapping.NormalizeSystem(c.System) == standard {
			if t, ok := terminology.First(e.cfg.Terminology.Map(standard, c.Code, os.System)); ok {
				return t.Code
			}
		}
	}
	return ""
}

func (e *encoder) observation(o mapping.Observation, orgUnit string, add func(string, string, Event) *pending) {
	cfg := e.cfg
	what := mapping.Describe("Observation", o.Identifier)
	er, ok := e.element(o)
	if !ok {
		e.omit(what, "no configured data element has its code")
		return
	}
	v := ""
	if er.de.OptionSet != "" {
		v = e.optionCode(cfg.optionSets[er.de.OptionSet], o.ValueCodeableConcept, mapping.SNOMED)
	} else if o.ValueQuantity != nil {
		v = o.ValueQuantity.Value.String()
	}
	if v == "" {
		e.omit(what, "its value has no option of %s", er.de.DataElement)
		return
	}
	date := dhisTimeOf(o.EffectiveDateTime, cfg.zone)
	uid, key := "", er.stage.ProgramStage+"|"+date
	if id := mapping.IdentifierIn(o.Identifier, cfg.system("event")); id != "" && len(id) > 12 && id[11] == '/' {
		uid, key = id[:11], id[:11]
	}
	pe := add(key, cfg.stages[er.stage.ProgramStage].program.Program, Event{
		Event: uid, ProgramStage: er.stage.ProgramStage, OrgUnit: e.orgUnit(firstRef(o.Performer), orgUnit),
		Status: "COMPLETED", OccurredAt: date,
	})
	pe.ev.DataValues = insertValue(pe.ev.DataValues, Value{DataElement: er.de.DataElement, Value: v}, er.stage)
	if o.Status == "preliminary" {
		pe.partial = true
	}
}

// insertValue keeps data values in the order the stage lists its data elements.
func insertValue(vs []Value, v Value, s *Stage) []Value {
	rank := func(uid string) int {
		for i, de := range s.Observations {
			if de.DataElement == uid {
				return i
			}
		}
		return len(s.Observations)
	}
	vs = append(vs, v)
	sort.SliceStable(vs, func(i, j int) bool { return rank(vs[i].DataElement) < rank(vs[j].DataElement) })
	return vs
}

func firstRef(refs []mapping.Reference) *mapping.Reference {
	if len(refs) == 0 {
		return nil
	}
	return &refs[0]
}

func (e *encoder) immunization(im mapping.Immunization, orgUnit string, add func(string, string, Event) *pending) {
	cfg := e.cfg
	what := mapping.Describe("Immunization", im.Identifier)
	for _, p := range cfg.Programs {
		for si := range p.Stages {
			s := &p.Stages[si]
			if s.Immunization == nil {
				continue
			}
			os := cfg.optionSets[s.Immunization.Vaccine.OptionSet]
			option := e.optionCode(os, &im.VaccineCode, mapping.CVX)
			if option == "" {
				continue
			}
			var actor *mapping.Reference
			if len(im.Performer) > 0 {
				actor = &im.Performer[0].Actor
			}
			ev := Event{
				Event: mapping.IdentifierIn(im.Identifier, cfg.system("event")), ProgramStage: s.ProgramStage,
				OrgUnit: e.orgUnit(actor, orgUnit), Status: "COMPLETED", OccurredAt: dhisTimeOf(im.OccurrenceDateTime, cfg.zone),
				DataValues: []Value{{DataElement: s.Immunization.Vaccine.DataElement, Value: option}},
			}
			if d := s.Immunization.Dose; d != nil && im.Dose() > 0 {
				ev.DataValues = append(ev.DataValues, Value{DataElement: d.DataElement, Value: strconv.Itoa(im.Dose())})
			}
			if l := s.Immunization.Lot; l != nil && im.LotNumber != "" {
				ev.DataValues = append(ev.DataValues, Value{DataElement: l.DataElement, Value: im.LotNumber})
			}
			add("", p.Program, ev)
			return
		}
	}
	e.omit(what, "no vaccination stage has an option for this vaccine")
}
