package iom

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// EncodeCSV writes records as IOM CSV, one row per assessment (case number
// and assessment date). Results Mekong decoded from IOM go back to the row
// and column they came from; results from other sources are placed by their
// LOINC code, one row per date. What has no IOM column is returned as an
// Omission, never dropped silently.
func EncodeCSV(w io.Writer, records []mapping.Record, cfg Config) ([]mapping.Omission, error) {
	cfg = cfg.withDefaults("iom.csv")
	rows, omissions, groups := encodeRows(records, cfg)
	cols := columns(max(cfg.Vaccinations, groups))
	cw := csv.NewWriter(w)
	cw.Comma = cfg.Comma
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = cfg.name(c)
	}
	if err := cw.Write(header); err != nil {
		return nil, fmt.Errorf("iom.EncodeCSV: %w", err)
	}
	for _, r := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = r[c]
		}
		if err := cw.Write(rec); err != nil {
			return nil, fmt.Errorf("iom.EncodeCSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, fmt.Errorf("iom.EncodeCSV: %w", err)
	}
	return omissions, nil
}

// EncodeJSON writes records as an IOM JSON export: an array of objects with
// the non-empty columns of each row.
func EncodeJSON(w io.Writer, records []mapping.Record, cfg Config) ([]mapping.Omission, error) {
	cfg = cfg.withDefaults("iom.json")
	rows, omissions, groups := encodeRows(records, cfg)
	cols := columns(groups)
	out := make([]json.RawMessage, 0, len(rows))
	for _, r := range rows {
		// Members in column order, so the output reads like the CSV.
		var b strings.Builder
		b.WriteByte('{')
		first := true
		for _, c := range cols {
			if r[c] == "" {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := fhirjson.Marshal(cfg.name(c))
			v, _ := fhirjson.Marshal(r[c])
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
		out = append(out, json.RawMessage(b.String()))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("iom.EncodeJSON: %w", err)
	}
	return omissions, nil
}

type rowKey struct{ caseNo, date string }

// encodeRows returns the rows by Mekong column name, the omissions and the
// number of vaccination groups the widest row needs.
func encodeRows(records []mapping.Record, cfg Config) ([]map[string]string, []mapping.Omission, int) {
	var all []map[string]string
	var omissions []mapping.Omission
	groups := 0
	for _, rec := range records {
		e := &encoder{cfg: cfg, rec: rec, rows: map[rowKey]map[string]string{}}
		e.run()
		keys := make([]rowKey, 0, len(e.rows))
		for k := range e.rows {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].caseNo != keys[j].caseNo {
				return keys[i].caseNo < keys[j].caseNo
			}
			return keys[i].date < keys[j].date
		})
		for _, k := range keys {
			all = append(all, e.rows[k])
		}
		omissions = append(omissions, e.omitted...)
		groups = max(groups, e.vaccineGroups)
	}
	return all, omissions, groups
}

type encoder struct {
	cfg           Config
	rec           mapping.Record
	rows          map[rowKey]map[string]string
	omitted       []mapping.Omission
	vaccineGroups int
	demo          map[string]string
	caseNo        string
}

func (e *encoder) omit(what, format string, args ...any) {
	e.omitted = append(e.omitted, mapping.Omission{Resource: what, Reason: fmt.Sprintf(format, args...)})
}

func (e *encoder) run() {
	e.demographics()
	for _, o := range e.rec.Observations {
		e.observation(o)
	}
	for _, im := range e.rec.Immunizations {
		e.immunization(im)
	}
	if len(e.rows) == 0 {
		e.omit("Patient", "no assessment result or vaccination to write: IOM rows are assessments")
	}
}

func (e *encoder) demographics() {
	p := &e.rec.Patient
	d := map[string]string{}
	e.caseNo = p.IdentifierValue(e.cfg.CaseSystem)
	for _, id := range p.Identifier {
		if c := mapping.PassportCountry(id.System); c != "" && d[colPassport] == "" {
			d[colPassport], d[colPassportCountry] = id.Value, c
		}
	}
	latin, native := p.Names()
	if latin != nil {
		d[colFamily], d[colGiven] = latin.Family, latin.GivenName()
	}
	if native != nil {
		d[colFamilyNative], d[colGivenNative] = native.Family, native.GivenName()
	}
	for k, v := range sexes {
		if v == p.Gender {
			d[colSex] = k
		}
	}
	d[colBirthDate] = mapping.Date(p.BirthDate)
	for _, ext := range p.Extension {
		if ext.URL != mapping.ExtNationality {
			continue
		}
		for _, sub := range ext.Extension {
			if c := mapping.CodeIn(sub.ValueCodeableConcept, mapping.ISO3166); sub.URL == "code" && c != "" {
				d[colNationality] = c
			}
		}
	}
	e.demo = d
}

// row returns the row of an assessment, creating it with the demographics.
func (e *encoder) row(caseNo, date string) map[string]string {
	k := rowKey{caseNo, date}
	if r, ok := e.rows[k]; ok {
		return r
	}
	r := map[string]string{colCase: caseNo, colAssessmentDate: date}
	for c, v := range e.demo {
		r[c] = v
	}
	e.rows[k] = r
	return r
}

// place finds the row and test of an Observation: from its IOM key when
// Mekong decoded it from IOM, otherwise from its date and LOINC code.
func (e *encoder) place(o mapping.Observation) (map[string]string, string, bool) {
	what := mapping.Describe("Observation", o.Identifier)
	if key := mapping.IdentifierIn(o.Identifier, mapping.IOMObservationID); key != "" {
		parts := strings.Split(key, "/")
		if len(parts) == 3 {
			return e.row(parts[0], parts[1]), parts[2], true
		}
	}
	code := mapping.CodeIn(&o.Code, mapping.IOMTest)
	if code == "" {
		for _, c := range o.Code.Coding {
			if mapping.NormalizeSystem(c.System) != mapping.LOINC {
				continue
			}
			if tc, ok := terminology.First(e.cfg.Terminology.Map(mapping.LOINC, c.Code, mapping.IOMTest)); ok {
				code = tc.Code
			}
		}
	}
	if code == "" {
		e.omit(what, "no IOM column for this test")
		return nil, "", false
	}
	date := mapping.Date(o.EffectiveDateTime)
	if date == "" {
		e.omit(what, "no date")
		return nil, "", false
	}
	if e.caseNo == "" {
		e.omit(what, "the patient has no IOM case number (%s): written with an empty case number", e.cfg.CaseSystem)
	}
	if t, ok := testByCode(code); ok {
		return e.row(e.caseNo, date), t.key, true
	}
	if code == "tb-class" {
		return e.row(e.caseNo, date), code, true
	}
	e.omit(what, "no IOM column for test %q", code)
	return nil, "", false
}

func (e *encoder) observation(o mapping.Observation) {
	what := mapping.Describe("Observation", o.Identifier)
	row, key, ok := e.place(o)
	if !ok {
		return
	}
	if len(o.Performer) > 0 && o.Performer[0].Display != "" && row[colSite] == "" {
		row[colSite] = o.Performer[0].Display
	}
	if key == "tb-class" {
		row[colTBClass] = mapping.CodeIn(o.ValueCodeableConcept, mapping.IOMTBClass)
		return
	}
	var t test
	for _, x := range tests {
		if x.key == key {
			t = x
		}
	}
	value := mapping.CodeIn(o.ValueCodeableConcept, mapping.IOMResult)
	if value == "" && o.ValueCodeableConcept != nil {
		for _, c := range o.ValueCodeableConcept.Coding {
			if mapping.NormalizeSystem(c.System) == mapping.SNOMED {
				if tc, ok := terminology.First(e.cfg.Terminology.Map(mapping.SNOMED, c.Code, mapping.IOMResult)); ok {
					value = tc.Code
				}
			}
		}
	}
	if oneOf(value, t.values) != nil {
		e.omit(what, "the result has no IOM value for %s", t.resultCol)
		return
	}
	if row[t.resultCol] != "" {
		e.omit(what, "another result already fills %s on %s", t.resultCol, row[colAssessmentDate])
		return
	}
	row[t.resultCol] = value
	row[t.dateCol] = mapping.Date(o.EffectiveDateTime)
	if t.typeCol != "" {
		code := mapping.CodeIn(&o.Code, mapping.IOMTest)
		if code == "" {
			code, _ = loincToIOM(e.cfg.Terminology, o.Code)
		}
		for typ, c := range t.types {
			if c == code {
				row[t.typeCol] = typ
			}
		}
	}
}

func loincToIOM(t *terminology.Terminology, cc mapping.CodeableConcept) (string, bool) {
	for _, c := range cc.Coding {
		if mapping.NormalizeSystem(c.System) == mapping.LOINC {
			if tc, ok := terminology.First(t.Map(mapping.LOINC, c.Code, mapping.IOMTest)); ok {
				return tc.Code, true
			}
		}
	}
	return "", false
}

func (e *encoder) immunization(im mapping.Immunization) {
	what := mapping.Describe("Immunization", im.Identifier)
	cvx := mapping.CodeIn(&im.VaccineCode, mapping.CVX)
	date := mapping.Date(im.OccurrenceDateTime)
	if cvx == "" {
		e.omit(what, "no CVX code: IOM records vaccines by CVX")
		return
	}
	if date == "" {
		e.omit(what, "no date")
		return
	}
	var row map[string]string
	if key := mapping.IdentifierIn(im.Identifier, mapping.IOMImmunization); key != "" {
		if parts := strings.Split(key, "/"); len(parts) == 5 {
			row = e.row(parts[0], parts[1])
		}
	}
	if row == nil {
		if e.caseNo == "" {
			e.omit(what, "the patient has no IOM case number (%s): written with an empty case number", e.cfg.CaseSystem)
		}
		row = e.latestRow(date)
	}
	i := 1
	for ; ; i++ {
		c, _, _, _ := vaccineCols(i)
		if row[c] == "" {
			break
		}
	}
	a, b, c, d := vaccineCols(i)
	row[a], row[b], row[d] = cvx, date, im.LotNumber
	if n := im.Dose(); n > 0 {
		row[c] = strconv.Itoa(n)
	}
	e.vaccineGroups = max(e.vaccineGroups, i)
}

// latestRow is the patient's most recent assessment row, or a new row dated
// with the vaccination when there is none.
func (e *encoder) latestRow(date string) map[string]string {
	var best *rowKey
	for k := range e.rows {
		if k.caseNo == e.caseNo && (best == nil || k.date > best.date) {
			k := k
			best = &k
		}
	}
	if best != nil {
		return e.rows[*best]
	}
	return e.row(e.caseNo, date)
}
