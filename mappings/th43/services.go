package th43

import (
	"encoding/json"
	"strconv"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// ExtServPlace keeps SPECIALPP.SERVPLACE (in or outside the facility), which FHIR has no element for.
const ExtServPlace = mapping.Base + "/StructureDefinition/th43-servplace"

// visit is the logical reference to the encounter a service row belongs to:
// SEQ is the visit number, TH Core's local VN.
func visit(hcode, seq string) *mapping.Reference {
	if seq == "" {
		return nil
	}
	return &mapping.Reference{Type: "Encounter", Identifier: &mapping.Identifier{System: mapping.ThaiLocal(hcode, "VN"), Value: seq}}
}

// performers are the facility (a HOSPCODE column) and the provider (local id).
func performers(hcode, place, provider string) []mapping.Reference {
	var out []mapping.Reference
	if place != "" {
		out = append(out, mapping.Reference{Type: "Organization", Identifier: &mapping.Identifier{System: mapping.HCode, Value: place}})
	}
	if provider != "" {
		out = append(out, mapping.Reference{Type: "Practitioner", Identifier: &mapping.Identifier{System: mapping.TH43Provider + "/" + hcode, Value: provider}})
	}
	return out
}

// common checks the columns every service row has.
func (s *rowState) common(placeCol string) (seq, date, updated string) {
	seq = s.r.get("SEQ")
	if seq != "" && !seqPattern.MatchString(seq) {
		s.bad("SEQ", "a SEQ (visit number) is 1-16 letters or digits")
	}
	date = s.date("DATE_SERV", true)
	updated = s.updated()
	if place := s.r.get(placeCol); placeCol != "" && place != "" && !hospPattern.MatchString(place) {
		s.bad(placeCol, "a facility code is 5 digits, got %q", place)
	}
	return
}

// epi maps an EPI row to an Immunization. The THCC code becomes CVX (and
// ICD-11 for COVID-19 vaccines) through the crosswalk, which also carries
// the dose number the THCC code encodes (CS2: Sinovac, dose 2).
func (d *decoder) epi(file string, r row) {
	s := d.newRow(file, r)
	h, hcode := s.owner()
	seq, date, updated := s.common("VACCINEPLACE")
	vt := r.get("VACCINETYPE")
	if !codePattern.MatchString(vt) {
		s.bad("VACCINETYPE", "%q is not a THCC vaccine code", vt)
	}
	if len(s.rejects) > 0 {
		s.finish(false)
		return
	}
	src := mapping.Coding{System: mapping.THCCVaccine, Code: vt}
	codings := []mapping.Coding{}
	cvx, ok, known, ms := mapping.Translate(d.cfg.Terminology, src.System, vt, mapping.CVX)
	if !known {
		s.unmappedCode("VACCINETYPE", src.System, vt)
	}
	if ok {
		codings = append(codings, cvx)
		if icd, ok, _, _ := mapping.Translate(d.cfg.Terminology, mapping.CVX, cvx.Code, mapping.ICD11); ok {
			codings = append(codings, icd)
		}
	}
	im := &mapping.Immunization{
		ResourceType:       "Immunization",
		Meta:               &mapping.Meta{LastUpdated: updated},
		Identifier:         []mapping.Identifier{{System: mapping.TH43EPI, Value: hcode + "/" + r.get("PID") + "/" + r.get("DATE_SERV") + "/" + vt}},
		Status:             "completed",
		VaccineCode:        mapping.CodeableConcept{Coding: append(codings, src)},
		Encounter:          visit(hcode, seq),
		OccurrenceDateTime: date,
	}
	for _, p := range performers(hcode, r.get("VACCINEPLACE"), r.get("PROVIDER")) {
		im.Performer = append(im.Performer, mapping.ImmunizationPerformer{Actor: p})
	}
	if dose, err := strconv.Atoi(terminology.ProductValue(ms, terminology.Dose)); err == nil && dose > 0 {
		im.ProtocolApplied = []mapping.ProtocolApplied{{DoseNumberPositiveInt: dose}}
	}
	mapping.ClaimImmunizationProfile(im)
	if err := d.b.Attach(h, s.where(), im); err != nil {
		s.bad("", "%v", err)
	}
	s.finish(true)
}

// labfu maps a LABFU row to an Observation. LABRESULT is a decimal: a number
// for quantitative tests, and for qualitative ones Mekong's convention
// 1 = positive/detected, 0 = negative/not detected, 2 = indeterminate.
func (d *decoder) labfu(file string, r row) {
	s := d.newRow(file, r)
	h, hcode := s.owner()
	seq, date, updated := s.common("LABPLACE")
	test, result := r.get("LABTEST"), r.get("LABRESULT")
	system := mapping.ICD10TMLab
	switch {
	case len(test) == 2 && isDigits(test):
		system = mapping.THCC2DigitLab
	case len(test) == 7 && isDigits(test):
	default:
		s.bad("LABTEST", "%q is neither an ICD-10-TM lab code (7 digits) nor a THCC 2-digit lab code", test)
	}
	if seq == "" {
		s.bad("SEQ", "required")
	}
	num, err := strconv.ParseFloat(result, 64)
	if err != nil || result == "" {
		s.bad("LABRESULT", "%q is not a number", result)
	}
	if len(s.rejects) > 0 {
		s.finish(false)
		return
	}
	src := mapping.Coding{System: system, Code: test}
	code := []mapping.Coding{src}
	loinc, ok, known, _ := mapping.Translate(d.cfg.Terminology, system, test, mapping.LOINC)
	if !known {
		s.unmappedCode("LABTEST", system, test)
	}
	if ok {
		code = []mapping.Coding{loinc, src}
	}
	in := mapping.ObservationInput{
		ID:          mapping.Identifier{System: mapping.TH43LABFU, Value: hcode + "/" + r.get("PID") + "/" + seq + "/" + test},
		Code:        code,
		Effective:   date,
		Encounter:   visit(hcode, seq),
		Performer:   performers(hcode, r.get("LABPLACE"), r.get("PROVIDER")),
		LastUpdated: updated,
	}
	kind, hasKind := mapping.KindIn(mapping.CodeableConcept{Coding: code})
	switch {
	case hasKind && !kind.Quantitative():
		v := strconv.FormatFloat(num, 'f', -1, 64)
		if v != "0" && v != "1" && v != "2" {
			s.bad("LABRESULT", "%q: a qualitative result (%s) is 0, 1 or 2", result, kind.Code.Code)
			s.finish(false)
			return
		}
		res := mapping.Coding{System: mapping.TH43LabResult, Code: v}
		answer := []mapping.Coding{res}
		if c, ok, _, _ := mapping.Translate(d.cfg.Terminology, res.System, v, mapping.SNOMED); ok {
			answer = []mapping.Coding{c, res}
		}
		in.Value = &mapping.CodeableConcept{Coding: answer}
	case hasKind:
		in.Quantity = &mapping.Quantity{Value: json.Number(result), Unit: kind.Unit, System: mapping.UCUM, Code: kind.UCUM}
	default:
		in.Quantity = &mapping.Quantity{Value: json.Number(result)}
	}
	if err := d.b.Attach(h, s.where(), mapping.NewObservation(in)); err != nil {
		s.bad("", "%v", err)
	}
	s.finish(true)
}

// specialpp maps a SPECIALPP row to an Observation. A special-PP code names
// a screening and its result at once: the crosswalk gives the LOINC code of
// the screening and the SNOMED CT result, and the THCC code stays on the code.
func (d *decoder) specialpp(file string, r row) {
	s := d.newRow(file, r)
	h, hcode := s.owner()
	seq, date, updated := s.common("PPSPLACE")
	pp := r.get("PPSPECIAL")
	if !codePattern.MatchString(pp) {
		s.bad("PPSPECIAL", "%q is not a THCC special PP code", pp)
	}
	if seq == "" {
		s.bad("SEQ", "required")
	}
	if len(s.rejects) > 0 {
		s.finish(false)
		return
	}
	src := mapping.Coding{System: mapping.THCCSpecialPP, Code: pp}
	in := mapping.ObservationInput{
		ID:          mapping.Identifier{System: mapping.TH43SPECIALPP, Value: hcode + "/" + r.get("PID") + "/" + seq + "/" + pp},
		Code:        []mapping.Coding{src},
		Category:    "exam",
		Effective:   date,
		Encounter:   visit(hcode, seq),
		Performer:   performers(hcode, r.get("PPSPLACE"), r.get("PROVIDER")),
		LastUpdated: updated,
	}
	loinc, okTest, knownTest, _ := mapping.Translate(d.cfg.Terminology, src.System, pp, mapping.LOINC)
	if okTest {
		in.Code = []mapping.Coding{loinc, src}
		in.Category = ""
	}
	if answer, ok, _, _ := mapping.Translate(d.cfg.Terminology, src.System, pp, mapping.SNOMED); ok {
		in.Value = &mapping.CodeableConcept{Coding: []mapping.Coding{answer}}
	}
	if !knownTest {
		s.unmappedCode("PPSPECIAL", src.System, pp)
	}
	if sp := r.get("SERVPLACE"); sp != "" {
		in.Extension = []mapping.Extension{{URL: ExtServPlace, ValueCode: sp}}
	}
	if err := d.b.Attach(h, s.where(), mapping.NewObservation(in)); err != nil {
		s.bad("", "%v", err)
	}
	s.finish(true)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
