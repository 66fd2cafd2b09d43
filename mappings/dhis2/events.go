package dhis2

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// enrollment returns the EpisodeOfCare of an enrollment and the resources of
// its events; a rejected enrollment or event returns nothing of itself.
func (u *unit) enrollment(at string, p *mapping.Patient, en Enrollment) []any {
	cfg := u.d.cfg
	prog, known := cfg.programs[en.Program]
	if !known {
		u.bad(at+".program", "unknown program UID %q", en.Program)
		return nil
	}
	u.uid(at+".enrollment", en.Enrollment, false)
	u.uid(at+".orgUnit", en.OrgUnit, true)
	enrolled := u.time(at+".enrolledAt", en.EnrolledAt, true)
	status, ok := map[string]string{"ACTIVE": "active", "COMPLETED": "finished", "CANCELLED": "cancelled", "": "active"}[en.Status]
	if !ok {
		u.bad(at+".status", "%q is not ACTIVE, COMPLETED or CANCELLED", en.Status)
	}
	if !u.ok() {
		return nil
	}
	key := en.Enrollment
	system := cfg.system("enrollment")
	if key == "" { // a payload to import may leave UIDs to the server
		ids := p.TrustedIdentifiers()
		if len(ids) == 0 { // kept on doubted identifiers alone
			ids = p.Identifier
		}
		system, key = cfg.system("enrollment-key"), ids[0].Value+"/"+en.Program
	}
	ep := &mapping.EpisodeOfCare{
		ResourceType: "EpisodeOfCare",
		Identifier:   []mapping.Identifier{{System: system, Value: key}},
		Status:       status,
		Type:         []mapping.CodeableConcept{{Coding: []mapping.Coding{{System: cfg.system("program"), Code: prog.Program, Display: prog.Name}}}},
		Period:       &mapping.Period{Start: enrolled},
	}
	if en.OrgUnit != "" {
		ep.ManagingOrganization = cfg.orgUnit(en.OrgUnit)
	}
	out := []any{ep}
	for k, ev := range en.Events {
		eu := &unit{d: u.d, row: u.row}
		rs := eu.event(fmt.Sprintf("%s.events[%d]", at, k), key, prog, ev)
		u.absorb(eu)
		if eu.ok() {
			out = append(out, rs...)
		}
	}
	return out
}

// event maps one event: a vaccination stage gives an Immunization, a
// screening stage one Observation per data value.
func (u *unit) event(at, enrollmentKey string, prog *Program, ev Event) []any {
	cfg := u.d.cfg
	ref, known := cfg.stages[ev.ProgramStage]
	if !known || ref.program != prog {
		u.bad(at+".programStage", "program stage %q is not a configured stage of program %s", ev.ProgramStage, prog.Program)
		return nil
	}
	switch ev.Status {
	case "SCHEDULE", "OVERDUE", "SKIPPED":
		return nil // an appointment, not a record of care
	case "", "ACTIVE", "COMPLETED", "VISITED":
	default:
		u.bad(at+".status", "unknown event status %q", ev.Status)
	}
	u.uid(at+".event", ev.Event, false)
	u.uid(at+".orgUnit", ev.OrgUnit, true)
	when := u.time(at+".occurredAt", ev.OccurredAt, true)
	values := map[string]string{}
	for k, dv := range ev.DataValues {
		path := fmt.Sprintf("%s.dataValues[%d]", at, k)
		er, known := cfg.elements[dv.DataElement]
		switch {
		case !known && cfg.ignored[dv.DataElement]:
		case !known || er.stage != ref.stage:
			// Like an unknown column: the value is not read, the event is kept.
			u.warn(path+".dataElement", "unknown data element UID %q for stage %s: not read", dv.DataElement, ev.ProgramStage)
		default:
			values[dv.DataElement] = strings.TrimSpace(dv.Value)
		}
	}
	if !u.ok() {
		return nil
	}
	system, key := cfg.system("event"), ev.Event
	if key == "" {
		system, key = cfg.system("event-key"), enrollmentKey+"/"+ev.ProgramStage+"/"+mapping.Date(when)
	}
	id := mapping.Identifier{System: system, Value: key}
	var performer []mapping.Reference
	if ev.OrgUnit != "" {
		performer = []mapping.Reference{*cfg.orgUnit(ev.OrgUnit)}
	}
	if im := ref.stage.Immunization; im != nil {
		r := u.immunization(at, id, when, performer, im, values)
		if r == nil {
			return nil
		}
		return []any{r}
	}
	status := "final"
	if ev.Status == "ACTIVE" {
		status = "preliminary"
	}
	var out []any
	for k := range ref.stage.Observations {
		de := &ref.stage.Observations[k]
		v, ok := values[de.DataElement]
		if !ok || v == "" {
			continue
		}
		std := *de.Code
		if k, ok := mapping.KindOf(std.System, std.Code); ok && std.Display == "" {
			std.Display = k.Code.Display
		}
		in := mapping.ObservationInput{
			ID:        mapping.Identifier{System: id.System, Value: id.Value + "/" + de.DataElement},
			Code:      []mapping.Coding{std, {System: cfg.system("dataElement"), Code: de.DataElement, Display: de.Name}},
			Effective: when,
			Status:    status,
			Performer: performer,
		}
		if de.OptionSet != "" {
			in.Value = &mapping.CodeableConcept{Coding: u.option(at, de, v, mapping.SNOMED)}
		} else {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				// This one result is lost; the event's other values are kept.
				u.drop(at+".dataValues", "data element %s: %q is not a number: this result was left out", de.DataElement, v)
				continue
			}
			in.Quantity = &mapping.Quantity{Value: json.Number(v)}
			if k, ok := mapping.KindOf(de.Code.System, de.Code.Code); ok && k.Quantitative() {
				in.Quantity.Unit, in.Quantity.System, in.Quantity.Code = k.Unit, mapping.UCUM, k.UCUM
			}
		}
		out = append(out, mapping.NewObservation(in))
	}
	return out
}

// option translates an option code, keeping it as the second coding and
// reporting it when no crosswalk knows it.
func (u *unit) option(at string, de *DataElement, code, target string) []mapping.Coding {
	os := u.d.cfg.optionSets[de.OptionSet]
	c, ok, known, _ := mapping.Translate(u.d.cfg.Terminology, os.System, code, target)
	if !known {
		if v, found := u.d.cfg.Terminology.CaseVariant(os.System, code); found {
			u.warn(at+" "+de.DataElement, "option code %q differs from the known %q only in case: mapped as %q", code, v, v)
			code = v
			c, ok, known, _ = mapping.Translate(u.d.cfg.Terminology, os.System, code, target)
		}
	}
	src := mapping.Coding{System: os.System, Code: code}
	if !known {
		u.unmapped = append(u.unmapped, mapping.Unmapped{File: u.d.cfg.File, Row: u.row, Field: at + " " + de.DataElement, System: os.System, Code: code})
	}
	if ok {
		return []mapping.Coding{c, src}
	}
	return []mapping.Coding{src}
}

func (u *unit) immunization(at string, id mapping.Identifier, when string, performer []mapping.Reference, st *ImmunizationStage, values map[string]string) *mapping.Immunization {
	vaccine := values[st.Vaccine.DataElement]
	if vaccine == "" {
		u.bad(at+".dataValues", "no value for the vaccine data element %s", st.Vaccine.DataElement)
		return nil
	}
	codings := u.option(at, &st.Vaccine, vaccine, mapping.CVX)
	if cvx := mapping.CodeIn(&mapping.CodeableConcept{Coding: codings}, mapping.CVX); cvx != "" {
		if icd, ok, _, _ := mapping.Translate(u.d.cfg.Terminology, mapping.CVX, cvx, mapping.ICD11); ok {
			codings = append(codings[:1], append([]mapping.Coding{icd}, codings[1:]...)...)
		}
	}
	im := &mapping.Immunization{
		ResourceType:       "Immunization",
		Identifier:         []mapping.Identifier{id},
		Status:             "completed",
		VaccineCode:        mapping.CodeableConcept{Coding: codings},
		OccurrenceDateTime: when,
	}
	for _, p := range performer {
		im.Performer = append(im.Performer, mapping.ImmunizationPerformer{Actor: p})
	}
	if st.Dose != nil {
		if v := values[st.Dose.DataElement]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				// The vaccination happened; only its dose number is unknown.
				u.warn(at+".dataValues", "dose number %q is not a positive integer: the vaccination is kept without it", v)
			} else {
				im.ProtocolApplied = []mapping.ProtocolApplied{{DoseNumberPositiveInt: n}}
			}
		}
	}
	if st.Lot != nil {
		im.LotNumber = values[st.Lot.DataElement]
	}
	mapping.ClaimImmunizationProfile(im)
	return im
}
