package iom

import (
	"fmt"
	"maps"
	"slices"
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

// rowState collects one row's problems. A row is one assessment of one
// person (issue 11: one doubtful field never costs the person): problems
// with the person's details are warnings and the person is kept; a result or
// vaccination that cannot be read is dropped alone (a reject naming its
// column); the row is rejected whole only when nothing identifies the person.
type rowState struct {
	d        *decoder
	n        int
	f        map[string]string
	rejects  []mapping.Reject // the whole row is lost
	dropped  []mapping.Reject // one result or vaccination is lost
	warnings []mapping.Reject // kept, with a caveat
	unmapped []mapping.Unmapped
}

func (r *rowState) get(col string) string { return strings.TrimSpace(r.f[col]) }

func (r *rowState) row(col, format string, args ...any) mapping.Reject {
	field := ""
	if col != "" {
		field = r.d.cfg.name(col)
	}
	return mapping.Reject{File: r.d.cfg.File, Row: r.n, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func (r *rowState) bad(col, format string, args ...any) {
	r.rejects = append(r.rejects, r.row(col, format, args...))
}

func (r *rowState) drop(col, format string, args ...any) {
	r.dropped = append(r.dropped, r.row(col, format, args...))
}

func (r *rowState) warn(col, format string, args ...any) {
	r.warnings = append(r.warnings, r.row(col, format, args...))
}

// date reads a result's or vaccination's date; a bad one drops that item.
func (r *rowState) date(col string) string {
	v := r.get(col)
	if v == "" {
		return ""
	}
	if err := mapping.CheckDate(v); err != nil {
		r.drop(col, "%v: left out with what it dates", err)
		return ""
	}
	return v
}

// badDate reports whether col holds a date that date() refused.
func (r *rowState) badDate(col string) bool {
	return r.get(col) != "" && mapping.CheckDate(r.get(col)) != nil
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

// row maps one assessment. n is the row number reported in rejects;
// unreadable maps the columns whose values could not be read to why.
func (d *decoder) row(n int, f map[string]string, unreadable map[string]string) {
	r := &rowState{d: d, n: n, f: f}
	for _, col := range slices.Sorted(maps.Keys(unreadable)) {
		if personColumn(col) {
			r.warn(col, "%s: left out", unreadable[col])
		} else {
			r.drop(col, "%s: the value was left out", unreadable[col])
		}
	}
	p := r.patient()
	caseNo := r.get(colCase)
	var resources []any
	switch assessed := r.get(colAssessmentDate); {
	case caseNo == "":
		// The results' and vaccinations' source keys start with the case
		// number; without it they could not be told from other persons'.
		if r.hasData() {
			r.drop(colCase, "required: it identifies the row's results and vaccinations, which were left out; the person was kept")
		}
	case assessed == "":
		if r.hasData() {
			r.drop(colAssessmentDate, "required: it identifies the row's results and vaccinations, which were left out; the person was kept")
		}
	case mapping.CheckDate(assessed) != nil:
		if r.hasData() {
			r.drop(colAssessmentDate, "%v: it identifies the row's results and vaccinations, which were left out; the person was kept", mapping.CheckDate(assessed))
		}
	default:
		for _, t := range tests {
			if o := r.observation(t, caseNo, assessed); o != nil {
				resources = append(resources, o)
			}
		}
		if o := r.tbClass(caseNo, assessed); o != nil {
			resources = append(resources, o)
		}
		resources = append(resources, r.immunizations(caseNo, assessed)...)
	}
	if len(r.rejects) == 0 {
		if _, err := d.b.Add(p, fmt.Sprintf("%s row %d", d.cfg.File, n), resources...); err != nil {
			r.bad("", "%v", err)
		}
	}
	if len(r.rejects) > 0 { // the whole row is lost, and every problem is part of why
		d.res.Rejects = append(d.res.Rejects, r.warnings...)
		d.res.Rejects = append(d.res.Rejects, r.dropped...)
		d.res.Rejects = append(d.res.Rejects, r.rejects...)
		return
	}
	d.res.Warnings = append(d.res.Warnings, r.warnings...)
	d.res.Rejects = append(d.res.Rejects, r.dropped...)
	d.res.Unmapped = append(d.res.Unmapped, r.unmapped...)
}

// personColumn reports whether col describes the person rather than a
// result or vaccination.
func personColumn(col string) bool {
	switch col {
	case colCase, colPassport, colPassportCountry, colFamily, colGiven, colFamilyNative, colGivenNative,
		colSex, colBirthDate, colNationality:
		return true
	}
	return false
}

// hasData reports whether the row records any result or vaccination.
func (r *rowState) hasData() bool {
	for col, v := range r.f {
		if strings.TrimSpace(v) == "" {
			continue
		}
		for _, t := range tests {
			if col == t.resultCol {
				return true
			}
		}
		if col == colTBClass || strings.HasPrefix(col, "vaccine") {
			return true
		}
	}
	return false
}

func (r *rowState) patient() *mapping.Patient {
	p := &mapping.Patient{ResourceType: "Patient", Meta: &mapping.Meta{Profile: []string{mapping.ProfilePatient}}}
	caseNo := r.get(colCase)
	if caseNo != "" {
		id := mapping.Identifier{System: r.d.cfg.CaseSystem, Value: caseNo}
		if !keyPattern.MatchString(caseNo) {
			r.warn(colCase, "must be 1-64 letters, digits, '.' or '-': kept as a doubtful identifier")
			id = mapping.Doubtful(id, "not 1-64 letters, digits, '.' or '-'")
		}
		p.Identifier = append(p.Identifier, id)
	}
	passport, country := r.get(colPassport), r.get(colPassportCountry)
	if passport == "" && country != "" {
		r.warn(colPassportCountry, "a passport country without %s: left out", r.d.cfg.name(colPassport))
	}
	if passport != "" {
		id := mapping.Identifier{
			Type:   &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.IdentifierType, Code: "PPN"}}},
			System: mapping.Passport(strings.ToUpper(country)), Value: passport,
		}
		switch {
		case !keyPattern.MatchString(passport):
			r.warn(colPassport, "must be 1-64 letters, digits, '.' or '-': kept as a doubtful identifier")
			id = mapping.Doubtful(id, "not 1-64 letters, digits, '.' or '-'")
		case country == "":
			r.warn(colPassportCountry, "required with a passport number: the passport is kept as a doubtful identifier")
			id = mapping.Doubtful(id, "issuing country not given")
		case !iso3.MatchString(strings.ToUpper(country)):
			r.warn(colPassportCountry, "the issuing country must be an ISO 3166 alpha-3 code, got %q: the passport is kept as a doubtful identifier", country)
			id = mapping.Doubtful(id, "issuing country is not an ISO 3166 alpha-3 code")
		case !iso3.MatchString(country):
			r.warn(colPassportCountry, "%q read as %s (ISO 3166 codes are upper case)", country, strings.ToUpper(country))
		}
		p.Identifier = append(p.Identifier, id)
	}
	if len(p.Identifier) == 0 {
		r.bad(colCase, "required: the IOM case number (or a passport) identifies the person")
	} else if !p.HasTrustedIdentifier() {
		r.bad(colCase, "nothing identifies the person reliably: every identifier failed its check")
	}
	if n, ok := mapping.NewName(r.get(colFamily), r.get(colGiven)); ok {
		p.Name = append(p.Name, n)
	} else {
		r.warn(colFamily, "a Latin-script name (family or given) is expected")
	}
	if n, ok := mapping.NewName(r.get(colFamilyNative), r.get(colGivenNative)); ok {
		p.Name = append(p.Name, n)
	}
	if len(p.Name) == 0 {
		p.Name = []mapping.HumanName{mapping.UnknownName()}
	}
	switch sex := r.get(colSex); {
	case sex == "":
		r.warn(colSex, "required: sex left out")
	case sexes[sex] != "":
		p.Gender = sexes[sex]
	case sexes[strings.ToUpper(sex)] != "":
		r.warn(colSex, "%q read as %s (the codes are M, F, X, U)", sex, strings.ToUpper(sex))
		p.Gender = sexes[strings.ToUpper(sex)]
	default:
		r.warn(colSex, "%q is not one of M, F, X, U: sex left out", sex)
	}
	switch v := r.get(colBirthDate); {
	case v == "":
		r.warn(colBirthDate, "required: the birth date is left out")
	case mapping.CheckDate(v) != nil:
		kept := mapping.SalvageDate(v)
		r.warn(colBirthDate, "%s", mapping.Salvaged(kept, mapping.CheckDate(v)))
		p.BirthDate = kept
	default:
		p.BirthDate = v
	}
	if nat := r.get(colNationality); nat != "" {
		switch up := strings.ToUpper(nat); {
		case !iso3.MatchString(up):
			r.warn(colNationality, "must be an ISO 3166 alpha-3 code, got %q: nationality left out", nat)
		case up != nat:
			r.warn(colNationality, "%q read as %s (ISO 3166 codes are upper case)", nat, up)
			p.Extension = append(p.Extension, nationality(up))
		default:
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
			r.drop(t.dateCol, "a date without %s", r.d.cfg.name(t.resultCol))
		}
		if t.typeCol != "" && r.get(t.typeCol) != "" {
			r.drop(t.typeCol, "a test type without %s", r.d.cfg.name(t.resultCol))
		}
		return nil
	}
	if r.badDate(t.dateCol) {
		return nil // dropped with its date
	}
	if err := oneOf(value, t.values); err != nil {
		r.drop(t.resultCol, "%v", err)
		return nil
	}
	code := t.resultCode
	if t.typeCol != "" {
		typ := r.get(t.typeCol)
		if code = t.types[typ]; code == "" {
			r.drop(t.typeCol, "%q is not a known test type (%s)", typ, keys(t.types))
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
		r.drop(colTBClass, "%v", err)
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
				r.drop(cvxCol, "vaccination %d has a date, dose or lot but no vaccine", i)
			}
			continue
		}
		if !cvxPattern.MatchString(cvx) {
			r.drop(cvxCol, "a CVX code is 1-3 digits, got %q", cvx)
			continue
		}
		if r.get(dateCol) == "" {
			r.drop(dateCol, "required for vaccination %d", i)
			continue
		}
		if r.badDate(dateCol) {
			continue // dropped with its date
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
				r.drop(doseCol, "the dose number is a positive integer, got %q", dose)
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
