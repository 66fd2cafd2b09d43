package th43

import (
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// observation writes a result as a LABFU row (a lab test with an ICD-10-TM
// or THCC 2-digit code) or a SPECIALPP row (a screening with a special-PP
// code), whichever its codes reach through the crosswalks.
func (e *encoder) observation(o mapping.Observation, keys []hp, cid string) {
	what := mapping.Describe("Observation", o.Identifier)
	if formatDate(o.EffectiveDateTime) == "" {
		e.omit(what, "no date with a day: DATE_SERV is YYYYMMDD")
		return
	}
	if code, ok := e.labTest(o.Code); ok {
		e.labfu(o, code, e.owner(o.Identifier, mapping.TH43LABFU, keys), cid, what)
		return
	}
	if pp, ok := e.specialPP(o); ok {
		k := e.owner(o.Identifier, mapping.TH43SPECIALPP, keys)
		r := e.service(k, cid, o.EffectiveDateTime, o.Encounter, lastUpdated(o.Meta))
		r["PPSPECIAL"], r["PPSPLACE"], r["PROVIDER"] = pp, place(o.Performer), provider(o.Performer, k.hcode)
		for _, ext := range o.Extension {
			if ext.URL == ExtServPlace {
				r["SERVPLACE"] = ext.ValueCode
			}
		}
		e.rows[specialppSpec.name] = append(e.rows[specialppSpec.name], r)
		return
	}
	e.omit(what, "no 43-file code (ICD-10-TM lab or special PP) for this result")
}

// labTest returns the LABTEST code of a result: its own, or its LOINC code translated.
func (e *encoder) labTest(cc mapping.CodeableConcept) (string, bool) {
	for _, sys := range []string{mapping.ICD10TMLab, mapping.THCC2DigitLab} {
		if c := mapping.CodeIn(&cc, sys); c != "" {
			return c, true
		}
	}
	for _, c := range cc.Coding {
		if mapping.NormalizeSystem(c.System) != mapping.LOINC {
			continue
		}
		if t, ok := terminology.First(e.cfg.Terminology.Map(mapping.LOINC, c.Code, mapping.ICD10TMLab)); ok {
			return t.Code, true
		}
	}
	return "", false
}

// specialPP returns the special-PP code of a screening: its own, or the one
// its SNOMED CT result translates back to (707308007 → 1B1160).
func (e *encoder) specialPP(o mapping.Observation) (string, bool) {
	if c := mapping.CodeIn(&o.Code, mapping.THCCSpecialPP); c != "" {
		return c, true
	}
	if o.ValueCodeableConcept == nil {
		return "", false
	}
	for _, c := range o.ValueCodeableConcept.Coding {
		if mapping.NormalizeSystem(c.System) != mapping.SNOMED {
			continue
		}
		if t, ok := terminology.First(e.cfg.Terminology.Map(mapping.SNOMED, c.Code, mapping.THCCSpecialPP)); ok {
			return t.Code, true
		}
	}
	return "", false
}

func (e *encoder) labfu(o mapping.Observation, test string, k hp, cid, what string) {
	var result string
	switch {
	case o.ValueQuantity != nil && o.ValueQuantity.Value != "":
		result = o.ValueQuantity.Value.String()
	case o.ValueCodeableConcept != nil:
		result = mapping.CodeIn(o.ValueCodeableConcept, mapping.TH43LabResult)
		for _, c := range o.ValueCodeableConcept.Coding {
			if result != "" {
				break
			}
			if mapping.NormalizeSystem(c.System) == mapping.SNOMED {
				if t, ok := terminology.First(e.cfg.Terminology.Map(mapping.SNOMED, c.Code, mapping.TH43LabResult)); ok {
					result = t.Code
				}
			}
		}
	}
	if result == "" {
		e.omit(what, "the result has no LABRESULT value (a number, or 0/1/2 for qualitative tests)")
		return
	}
	r := e.service(k, cid, o.EffectiveDateTime, o.Encounter, lastUpdated(o.Meta))
	r["LABTEST"], r["LABRESULT"] = test, result
	r["LABPLACE"], r["PROVIDER"] = place(o.Performer), provider(o.Performer, k.hcode)
	e.rows[labfuSpec.name] = append(e.rows[labfuSpec.name], r)
}

// tis620 converts a file to TIS-620; a field TIS-620 cannot hold (a Khmer
// name) is emptied and reported rather than written as question marks.
func (e *encoder) tis620(file, s string) []byte {
	header := strings.Split(strings.SplitN(s, "\n", 2)[0], "|")
	var out []byte
	for _, l := range strings.SplitAfter(s, "\n") {
		if b, ok := encodeTIS620(l); ok {
			out = append(out, b...)
			continue
		}
		fields := strings.Split(strings.TrimSuffix(l, "\n"), "|")
		for i, f := range fields {
			if _, ok := encodeTIS620(f); !ok {
				e.omit(file+".txt", "column %s: text TIS-620 cannot hold, left empty", header[i])
				fields[i] = ""
			}
		}
		b, _ := encodeTIS620(strings.Join(fields, "|") + "\n")
		out = append(out, b...)
	}
	return out
}
