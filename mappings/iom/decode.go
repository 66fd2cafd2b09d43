package iom

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// decoder turns rows into persons; the CSV and JSON front ends feed it.
type decoder struct {
	cfg Config
	b   *mapping.Builder
	res *mapping.Result
}

func newDecoder(cfg Config) *decoder {
	return &decoder{cfg: cfg, b: mapping.NewBuilder(), res: &mapping.Result{}}
}

func (d *decoder) result() *mapping.Result {
	d.res.Persons = d.b.Result()
	return d.res
}

// rowState collects one row's problems; nothing of the row is kept unless it has none.
type rowState struct {
	d        *decoder
	n        int
	f        map[string]string
	rejects  []mapping.Reject
	unmapped []mapping.Unmapped
}

func (r *rowState) get(col string) string { return strings.TrimSpace(r.f[col]) }

func (r *rowState) bad(col, format string, args ...any) {
	field := ""
	if col != "" {
		field = r.d.cfg.name(col)
	}
	r.rejects = append(r.rejects, mapping.Reject{File: r.d.cfg.File, Row: r.n, Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (r *rowState) date(col string) string {
	v := r.get(col)
	if v == "" {
		return ""
	}
	if err := mapping.CheckDate(v); err != nil {
		r.bad(col, "%v", err)
		return ""
	}
	return v
}

// translate returns the standard coding for a source code, recording the
// code as Unmapped when no crosswalk knows it.
func (r *rowState) translate(col string, src mapping.Coding, target string) []mapping.Coding {
	c, ok, known, _ := mapping.Translate(r.d.cfg.Terminology, src.System, src.Code, target)
	if !known {
		r.unmapped = append(r.unmapped, mapping.Unmapped{File: r.d.cfg.File, Row: r.n, Field: r.d.cfg.name(col), System: src.System, Code: src.Code})
	}
	if ok {
		return []mapping.Coding{c, src}
	}
	return []mapping.Coding{src}
}

// row maps one assessment. n is the row number reported in rejects.
func (d *decoder) row(n int, f map[string]string) {
	r := &rowState{d: d, n: n, f: f}
	p := r.patient()
	caseNo := r.get(colCase)
	assessed := r.date(colAssessmentDate)
	if r.get(colAssessmentDate) == "" {
		r.bad(colAssessmentDate, "required")
	}
	var resources []any
	for _, t := range tests {
		if o := r.observation(t, caseNo, assessed); o != nil {
			resources = append(resources, o)
		}
	}
	if o := r.tbClass(caseNo, assessed); o != nil {
		resources = append(resources, o)
	}
	resources = append(resources, r.immunizations(caseNo, assessed)...)
	if len(r.rejects) > 0 {
		d.res.Rejects = append(d.res.Rejects, r.rejects...)
		return
	}
	if _, err := d.b.Add(p, fmt.Sprintf("%s row %d", d.cfg.File, n), resources...); err != nil {
		r.bad("", "%v", err)
		d.res.Rejects = append(d.res.Rejects, r.rejects...)
		return
	}
	d.res.Unmapped = append(d.res.Unmapped, r.unmapped...)
}

func (r *rowState) patient() *mapping.Patient {
	p := &mapping.Patient{ResourceType: "Patient", Meta: &mapping.Meta{Profile: []string{mapping.ProfilePatient}}}
	caseNo := r.get(colCase)
	switch {
	case caseNo == "":
		r.bad(colCase, "required: the IOM case number identifies the person")
	case !keyPattern.MatchString(caseNo):
		r.bad(colCase, "must be 1-64 letters, digits, '.' or '-'")
	default:
		p.Identifier = append(p.Identifier, mapping.Identifier{System: r.d.cfg.CaseSystem, Value: caseNo})
	}
	passport, country := r.get(colPassport), r.get(colPassportCountry)
	switch {
	case passport == "" && country != "":
		r.bad(colPassport, "required when %s is given", r.d.cfg.name(colPassportCountry))
	case passport == "":
	case !keyPattern.MatchString(passport):
		r.bad(colPassport, "must be 1-64 letters, digits, '.' or '-'")
	case !iso3.MatchString(country):
		r.bad(colPassportCountry, "the issuing country must be an ISO 3166 alpha-3 code, got %q", country)
	default:
		p.Identifier = append(p.Identifier, mapping.Identifier{
			Type:   &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.IdentifierType, Code: "PPN"}}},
			System: mapping.Passport(country), Value: passport,
		})
	}
	if n, ok := mapping.NewName(r.get(colFamily), r.get(colGiven)); ok {
		p.Name = append(p.Name, n)
	} else {
		r.bad(colFamily, "a Latin-script name (family or given) is required")
	}
	if n, ok := mapping.NewName(r.get(colFamilyNative), r.get(colGivenNative)); ok {
		p.Name = append(p.Name, n)
	}
	switch sex := r.get(colSex); {
	case sex == "":
		r.bad(colSex, "required")
	case sexes[sex] == "":
		r.bad(colSex, "%q is not one of M, F, X, U", sex)
	default:
		p.Gender = sexes[sex]
	}
	p.BirthDate = r.date(colBirthDate)
	if r.get(colBirthDate) == "" {
		r.bad(colBirthDate, "required")
	}
	if nat := r.get(colNationality); nat != "" {
		if !iso3.MatchString(nat) {
			r.bad(colNationality, "must be an ISO 3166 alpha-3 code, got %q", nat)
		} else {
			p.Extension = append(p.Extension, nationality(nat))
		}
	}
	return p
}

func nationality(iso string) mapping.Extension {
	return mapping.Extension{URL: mapping.ExtNationality, Extension: []mapping.Extension{{
		URL:                  "code",
		ValueCodeableConcept: &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.ISO3166, Code: iso}}},
	}}}
}

// obsID is the source key of an assessment result: case/assessment date/test.
func obsID(caseNo, assessed, key string) mapping.Identifier {
	return mapping.Identifier{System: mapping.IOMObservationID, Value: caseNo + "/" + assessed + "/" + key}
}

func (r *rowState) observation(t test, caseNo, assessed string) *mapping.Observation {
	value, date := r.get(t.resultCol), r.date(t.dateCol)
	if value == "" {
		if r.get(t.dateCol) != "" && t.key != "xpert-rif" {
			r.bad(t.dateCol, "a date without %s", r.d.cfg.name(t.resultCol))
		}
		if t.typeCol != "" && r.get(t.typeCol) != "" {
			r.bad(t.typeCol, "a test type without %s", r.d.cfg.name(t.resultCol))
		}
		return nil
	}
	if err := oneOf(value, t.values); err != nil {
		r.bad(t.resultCol, "%v", err)
		return nil
	}
	code := t.resultCode
	if t.typeCol != "" {
		typ := r.get(t.typeCol)
		if code = t.types[typ]; code == "" {
			r.bad(t.typeCol, "%q is not a known test type (%s)", typ, keys(t.types))
			return nil
		}
	}
	if date == "" {
		date = assessed // the worksheet's date when the test has none of its own
	}
	src := mapping.Coding{System: mapping.IOMTest, Code: code}
	val := mapping.Coding{System: mapping.IOMResult, Code: value}
	return mapping.NewObservation(mapping.ObservationInput{
		ID:        obsID(caseNo, assessed, t.key),
		Code:      r.translate(t.resultCol, src, mapping.LOINC),
		Effective: date,
		Performer: r.site(),
		Value:     &mapping.CodeableConcept{Coding: r.translate(t.resultCol, val, mapping.SNOMED)},
	})
}

func (r *rowState) tbClass(caseNo, assessed string) *mapping.Observation {
	v := r.get(colTBClass)
	if v == "" {
		return nil
	}
	if err := oneOf(v, tbClasses); err != nil {
		r.bad(colTBClass, "%v", err)
		return nil
	}
	return mapping.NewObservation(mapping.ObservationInput{
		ID:        obsID(caseNo, assessed, "tb-class"),
		Code:      []mapping.Coding{{System: mapping.IOMTest, Code: "tb-class", Display: "TB classification (panel physician)"}},
		Effective: assessed,
		Performer: r.site(),
		Value:     &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.IOMTBClass, Code: v}}},
	})
}

func (r *rowState) site() []mapping.Reference {
	if s := r.get(colSite); s != "" {
		return []mapping.Reference{{Type: "Organization", Display: s}}
	}
	return nil
}

// immunizations reads vaccination groups 1, 2, ... for as long as the row
// has them. The key holds the assessment date so an export puts each
// vaccination back on the row it came from.
func (r *rowState) immunizations(caseNo, assessed string) []any {
	var out []any
	for i := 1; ; i++ {
		cvxCol, dateCol, doseCol, lotCol := vaccineCols(i)
		if _, present := r.f[cvxCol]; !present {
			return out
		}
		cvx, lot := r.get(cvxCol), r.get(lotCol)
		date := r.date(dateCol)
		if cvx == "" {
			if r.get(dateCol)+r.get(doseCol)+lot != "" {
				r.bad(cvxCol, "vaccination %d has a date, dose or lot but no vaccine", i)
			}
			continue
		}
		if !cvxPattern.MatchString(cvx) {
			r.bad(cvxCol, "a CVX code is 1-3 digits, got %q", cvx)
			continue
		}
		if r.get(dateCol) == "" {
			r.bad(dateCol, "required for vaccination %d", i)
			continue
		}
		im := &mapping.Immunization{
			ResourceType:       "Immunization",
			Identifier:         []mapping.Identifier{{System: mapping.IOMImmunization, Value: caseNo + "/" + assessed + "/vaccine/" + cvx + "/" + date}},
			Status:             "completed",
			VaccineCode:        mapping.CodeableConcept{Coding: vaccineCodings(r, cvx)},
			OccurrenceDateTime: date,
			LotNumber:          lot,
		}
		if dose := r.get(doseCol); dose != "" {
			n, err := strconv.Atoi(dose)
			if err != nil || n < 1 || n > 99 {
				r.bad(doseCol, "the dose number is a positive integer, got %q", dose)
				continue
			}
			im.ProtocolApplied = []mapping.ProtocolApplied{{DoseNumberPositiveInt: n}}
		}
		mapping.ClaimImmunizationProfile(im)
		out = append(out, im)
	}
}

// vaccineCodings is the CVX code IOM records, plus its ICD-11 code for COVID-19 vaccines.
func vaccineCodings(r *rowState, cvx string) []mapping.Coding {
	src := mapping.Coding{System: mapping.CVX, Code: cvx}
	out := []mapping.Coding{src}
	if c, ok, _, _ := mapping.Translate(r.d.cfg.Terminology, mapping.CVX, cvx, mapping.ICD11); ok {
		out = append(out, c)
	}
	return out
}

func keys(m map[string]string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
