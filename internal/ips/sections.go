package ips

import (
	"strings"
)

// Section is one Composition.section of the IPS
// (http://hl7.org/fhir/uv/ips/STU2/StructureDefinition-Composition-uv-ips.html).
type Section struct {
	Key     string // "immunizations", "results", ...
	Title   string
	Code    string // LOINC
	Display string // LOINC display, as the IPS examples give it
	// Required sections are always present; with no entries they carry
	// emptyReason "unavailable" and say so in words (Empty holds them).
	Required bool
	Empty    string
}

// Sections in the order of the IPS Composition profile. Problems, Allergies
// and Medications are required and Mekong holds none of them (it keeps
// Patients, Immunizations and Observations), so they are always empty.
var (
	Problems = Section{Key: "problems", Title: "Problem List", Code: "11450-4", Display: "Problem list - Reported", Required: true,
		Empty: "There is no information available about the subject's health problems or disabilities: the records this summary is drawn from (vaccinations, test results and observations) do not include a problem list."}
	Allergies = Section{Key: "allergies", Title: "Allergies and Intolerances", Code: "48765-2", Display: "Allergies and adverse reactions Document", Required: true,
		Empty: "There is no information available regarding the subject's allergies: the records this summary is drawn from (vaccinations, test results and observations) do not include allergies or intolerances."}
	Medications = Section{Key: "medications", Title: "Medication Summary", Code: "10160-0", Display: "History of Medication use Narrative", Required: true,
		Empty: "There is no information available about the subject's medication use or administration: the records this summary is drawn from (vaccinations, test results and observations) do not include medications."}
	Immunizations = Section{Key: "immunizations", Title: "Immunizations", Code: "11369-6", Display: "History of Immunization note"}
	Results       = Section{Key: "results", Title: "Diagnostic Results", Code: "30954-2", Display: "Relevant diagnostic tests/laboratory data note"}
	VitalSigns    = Section{Key: "vital-signs", Title: "Vital Signs", Code: "8716-3", Display: "Vital signs note"}
	SocialHistory = Section{Key: "social-history", Title: "Social History", Code: "29762-2", Display: "Social history note"}
	Pregnancy     = Section{Key: "pregnancy", Title: "History of Pregnancy", Code: "10162-6", Display: "History of pregnancies Narrative"}
)

// sectionOrder is the order sections appear in the document.
var sectionOrder = []Section{Problems, Allergies, Medications, Immunizations, Results, VitalSigns, SocialHistory, Pregnancy}

const (
	loinc       = "http://loinc.org"
	obsCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
)

// pregnancyCodes are the LOINC codes of the IPS pregnancy profiles: status
// (82810-3), outcomes (ValueSet pregnancies-summary-uv-ips) and estimated
// delivery date (ValueSet edd-method-uv-ips).
var pregnancyCodes = codeSet(loinc, "82810-3", "11636-8", "11637-6", "11638-4", "11639-2", "11640-0", "11612-9", "11613-7",
	"11614-5", "33065-4", "11778-8", "11779-6", "11780-4")

// vitalSignCodes are the R4 vital signs profiles' codes
// (https://hl7.org/fhir/R4/observation-vitalsigns.html), for Observations
// a source sent without the vital-signs category.
var vitalSignCodes = codeSet(loinc, "85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "9843-4",
	"29463-7", "39156-5", "85354-9", "8480-6", "8462-4")

// socialHistoryCodes are the IPS tobacco and alcohol use codes.
var socialHistoryCodes = codeSet(loinc, "72166-2", "74013-4", "11331-6")

func codeSet(system string, codes ...string) map[string]bool {
	m := map[string]bool{}
	for _, c := range codes {
		m[system+"|"+c] = true
	}
	return m
}

func hasCode(cc *object, set map[string]bool) bool {
	for _, c := range cc.objs("coding") {
		if set[c.str("system")+"|"+c.str("code")] {
			return true
		}
	}
	return false
}

func hasCategory(o *object, code string) bool {
	for _, cc := range o.objs("category") {
		for _, c := range cc.objs("coding") {
			if c.str("system") == obsCategory && c.str("code") == code {
				return true
			}
		}
	}
	return false
}

// sectionOf places a resource. Immunizations go to Immunizations.
// Observations: pregnancy codes to Pregnancy, vital signs (by category or
// code) to Vital signs, social history to Social history, everything else
// (laboratory, imaging, exam, or no category: a SARS-CoV-2 PCR sent
// without one is still a result) to Results. ok is false for what a summary
// leaves out: entered-in-error records and cancelled Observations, which
// hold no result.
func sectionOf(typ string, o *object) (Section, bool) {
	status := o.str("status")
	if status == "entered-in-error" {
		return Section{}, false
	}
	switch typ {
	case "Immunization":
		return Immunizations, true
	case "Observation":
		if status == "cancelled" {
			return Section{}, false
		}
		code := o.obj("code")
		switch {
		case hasCode(code, pregnancyCodes):
			return Pregnancy, true
		case hasCategory(o, "vital-signs") || hasCode(code, vitalSignCodes):
			return VitalSigns, true
		case hasCategory(o, "social-history") || hasCode(code, socialHistoryCodes):
			return SocialHistory, true
		}
		return Results, true
	}
	return Section{}, false
}

// date is the clinically relevant date of an entry, as written.
func date(typ string, o *object) string {
	if typ == "Immunization" {
		if d := o.str("occurrenceDateTime"); d != "" {
			return d
		}
		return o.str("recorded")
	}
	for _, k := range []string{"effectiveDateTime", "effectiveInstant"} {
		if d := o.str(k); d != "" {
			return d
		}
	}
	if p := o.obj("effectivePeriod"); p != nil {
		if d := p.str("start"); d != "" {
			return d
		}
		return p.str("end")
	}
	return o.str("issued")
}

// dateText is the date column: the date, a period, or what the source said.
func dateText(typ string, o *object) string {
	if typ == "Immunization" {
		if d := o.str("occurrenceDateTime"); d != "" {
			return formatDate(d)
		}
		if s := o.str("occurrenceString"); s != "" {
			return s
		}
	} else if p := o.obj("effectivePeriod"); p != nil {
		return periodText(p)
	}
	if d := date(typ, o); d != "" {
		return formatDate(d)
	}
	return "date not recorded"
}

// immunizationRow: Vaccine, Date, Dose, Against, Lot, Given at, Status.
func immunizationRow(o *object) []string {
	dose, against := "", ""
	for _, pa := range o.objs("protocolApplied") {
		n := firstNonEmpty(pa.scalar("doseNumberPositiveInt"), pa.str("doseNumberString"))
		if of := firstNonEmpty(pa.scalar("seriesDosesPositiveInt"), pa.str("seriesDosesString")); n != "" && of != "" {
			n += " of " + of
		}
		if dose == "" {
			dose = n
		}
		if against == "" {
			against = conceptsText(pa.objs("targetDisease"))
		}
	}
	place := ""
	if l := o.obj("location"); l != nil {
		place = l.str("display")
	}
	if place == "" {
		for _, p := range o.objs("performer") {
			if d := p.obj("actor").str("display"); d != "" {
				place = d
				break
			}
		}
	}
	status := o.str("status")
	if status == "not-done" {
		status = "not done"
		if r := conceptText(o.obj("statusReason")); r != "" {
			status += ": " + r
		}
	}
	return []string{conceptWithCodes(o.obj("vaccineCode")), dateText("Immunization", o), dose, against, o.str("lotNumber"), place, status}
}

var immunizationHead = []string{"Vaccine", "Date", "Dose", "Against", "Lot", "Given at", "Status"}

// observationRow: Test, Date, Result, Reference range, Status.
func observationRow(o *object) []string {
	result := valueText(o)
	var comps []string
	for _, c := range o.objs("component") {
		if v := valueText(c); v != "" {
			comps = append(comps, conceptText(c.obj("code"))+": "+v)
		}
	}
	if len(comps) > 0 {
		if result != "" {
			result += "; "
		}
		result += strings.Join(comps, "; ")
	}
	if i := conceptsText(o.objs("interpretation")); i != "" {
		result += " (" + i + ")"
	}
	var ranges []string
	for _, r := range o.objs("referenceRange") {
		if t := strings.TrimSpace(r.str("text")); t != "" {
			ranges = append(ranges, t)
		} else if t := rangeText(r); t != "" {
			ranges = append(ranges, t)
		}
	}
	for _, n := range o.objs("note") {
		if t := strings.TrimSpace(n.str("text")); t != "" {
			result += " Note: " + t
		}
	}
	return []string{conceptWithCodes(o.obj("code")), dateText("Observation", o), strings.TrimSpace(result), strings.Join(ranges, "; "), o.str("status")}
}

var observationHead = []string{"Test", "Date", "Result", "Reference range", "Status"}

// valueText renders an Observation's (or component's) value[x], or why it
// is absent.
func valueText(o *object) string {
	switch {
	case o.obj("valueQuantity") != nil:
		return quantityText(o.obj("valueQuantity"))
	case o.obj("valueCodeableConcept") != nil:
		return conceptText(o.obj("valueCodeableConcept"))
	case o.get("valueString") != nil:
		return o.str("valueString")
	case o.get("valueBoolean") != nil:
		return o.scalar("valueBoolean")
	case o.get("valueInteger") != nil:
		return o.scalar("valueInteger")
	case o.obj("valueRange") != nil:
		return rangeText(o.obj("valueRange"))
	case o.obj("valueRatio") != nil:
		r := o.obj("valueRatio")
		return quantityText(r.obj("numerator")) + " : " + quantityText(r.obj("denominator"))
	case o.get("valueDateTime") != nil:
		return formatDate(o.str("valueDateTime"))
	case o.get("valueTime") != nil:
		return o.str("valueTime")
	case o.obj("valuePeriod") != nil:
		return periodText(o.obj("valuePeriod"))
	case o.obj("valueSampledData") != nil:
		return "sampled data (see the resource)"
	case o.obj("dataAbsentReason") != nil:
		return "no value: " + conceptText(o.obj("dataAbsentReason"))
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
