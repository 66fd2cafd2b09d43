package ips

import (
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
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

func hasCode(cc *fhirjson.Object, set map[string]bool) bool {
	for _, c := range cc.Objs("coding") {
		if set[c.Str("system")+"|"+c.Str("code")] {
			return true
		}
	}
	return false
}

func hasCategory(o *fhirjson.Object, code string) bool {
	for _, cc := range o.Objs("category") {
		for _, c := range cc.Objs("coding") {
			if c.Str("system") == obsCategory && c.Str("code") == code {
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
func sectionOf(typ string, o *fhirjson.Object) (Section, bool) {
	status := o.Str("status")
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
		code := o.Obj("code")
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
func date(typ string, o *fhirjson.Object) string {
	if typ == "Immunization" {
		if d := o.Str("occurrenceDateTime"); d != "" {
			return d
		}
		return o.Str("recorded")
	}
	for _, k := range []string{"effectiveDateTime", "effectiveInstant"} {
		if d := o.Str(k); d != "" {
			return d
		}
	}
	if p := o.Obj("effectivePeriod"); p != nil {
		if d := p.Str("start"); d != "" {
			return d
		}
		return p.Str("end")
	}
	return o.Str("issued")
}

// dateText is the date column: the date, a period, or what the source said.
func dateText(typ string, o *fhirjson.Object) string {
	if typ == "Immunization" {
		if d := o.Str("occurrenceDateTime"); d != "" {
			return formatDate(d)
		}
		if s := o.Str("occurrenceString"); s != "" {
			return s
		}
	} else if p := o.Obj("effectivePeriod"); p != nil {
		return periodText(p)
	}
	if d := date(typ, o); d != "" {
		return formatDate(d)
	}
	return "date not recorded"
}

// immunizationRow: Vaccine, Date, Dose, Against, Lot, Given at, Status.
func immunizationRow(o *fhirjson.Object) []string {
	dose, against := "", ""
	for _, pa := range o.Objs("protocolApplied") {
		n := firstNonEmpty(scalar(pa, "doseNumberPositiveInt"), pa.Str("doseNumberString"))
		if of := firstNonEmpty(scalar(pa, "seriesDosesPositiveInt"), pa.Str("seriesDosesString")); n != "" && of != "" {
			n += " of " + of
		}
		if dose == "" {
			dose = n
		}
		if against == "" {
			against = conceptsText(pa.Objs("targetDisease"))
		}
	}
	place := ""
	if l := o.Obj("location"); l != nil {
		place = l.Str("display")
	}
	if place == "" {
		for _, p := range o.Objs("performer") {
			if d := p.Obj("actor").Str("display"); d != "" {
				place = d
				break
			}
		}
	}
	status := o.Str("status")
	if status == "not-done" {
		status = "not done"
		if r := conceptText(o.Obj("statusReason")); r != "" {
			status += ": " + r
		}
	}
	return []string{conceptWithCodes(o.Obj("vaccineCode")), dateText("Immunization", o), dose, against, o.Str("lotNumber"), place, status}
}

var immunizationHead = []string{"Vaccine", "Date", "Dose", "Against", "Lot", "Given at", "Status"}

// observationRow: Test, Date, Result, Reference range, Status.
func observationRow(o *fhirjson.Object) []string {
	result := valueText(o)
	var comps []string
	for _, c := range o.Objs("component") {
		if v := valueText(c); v != "" {
			comps = append(comps, conceptText(c.Obj("code"))+": "+v)
		}
	}
	if len(comps) > 0 {
		if result != "" {
			result += "; "
		}
		result += strings.Join(comps, "; ")
	}
	if i := conceptsText(o.Objs("interpretation")); i != "" {
		result += " (" + i + ")"
	}
	var ranges []string
	for _, r := range o.Objs("referenceRange") {
		if t := strings.TrimSpace(r.Str("text")); t != "" {
			ranges = append(ranges, t)
		} else if t := rangeText(r); t != "" {
			ranges = append(ranges, t)
		}
	}
	for _, n := range o.Objs("note") {
		if t := strings.TrimSpace(n.Str("text")); t != "" {
			result += " Note: " + t
		}
	}
	return []string{conceptWithCodes(o.Obj("code")), dateText("Observation", o), strings.TrimSpace(result), strings.Join(ranges, "; "), o.Str("status")}
}

var observationHead = []string{"Test", "Date", "Result", "Reference range", "Status"}

// valueText renders an Observation's (or component's) value[x], or why it
// is absent.
func valueText(o *fhirjson.Object) string {
	switch {
	case o.Obj("valueQuantity") != nil:
		return quantityText(o.Obj("valueQuantity"))
	case o.Obj("valueCodeableConcept") != nil:
		return conceptText(o.Obj("valueCodeableConcept"))
	case o.Get("valueString") != nil:
		return o.Str("valueString")
	case o.Get("valueBoolean") != nil:
		return scalar(o, "valueBoolean")
	case o.Get("valueInteger") != nil:
		return scalar(o, "valueInteger")
	case o.Obj("valueRange") != nil:
		return rangeText(o.Obj("valueRange"))
	case o.Obj("valueRatio") != nil:
		r := o.Obj("valueRatio")
		return quantityText(r.Obj("numerator")) + " : " + quantityText(r.Obj("denominator"))
	case o.Get("valueDateTime") != nil:
		return formatDate(o.Str("valueDateTime"))
	case o.Get("valueTime") != nil:
		return o.Str("valueTime")
	case o.Obj("valuePeriod") != nil:
		return periodText(o.Obj("valuePeriod"))
	case o.Obj("valueSampledData") != nil:
		return "sampled data (see the resource)"
	case o.Obj("dataAbsentReason") != nil:
		return "no value: " + conceptText(o.Obj("dataAbsentReason"))
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
