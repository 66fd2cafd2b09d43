// Package iom maps IOM migration health assessment exports (CSV and JSON) to
// FHIR and back. No public IOM data dictionary exists, so Mekong defines the
// column set (mappings/README.md) from the TB worksheet elements used in
// migration health assessments (DS-3030: chest X-ray, sputum smears and
// culture, IGRA, TB classification) plus HIV, SARS-CoV-2 and vaccinations.
// One row is one assessment of one person.
package iom

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// Config adapts the mapping to one IOM export. The zero value is usable.
type Config struct {
	// Columns renames columns: Mekong's column name → the name in the file.
	Columns map[string]string
	// Comma is the CSV delimiter (default ',').
	Comma rune
	// CaseSystem is the identifier system of IOM case numbers (default mapping.IOMCaseNumber).
	CaseSystem string
	// Vaccinations is how many vaccination column groups the encoder writes
	// (default 4, more when a record needs them). The decoder reads all present.
	Vaccinations int
	// File names the input in rejects (default "iom.csv" / "iom.json").
	File string
	// Terminology translates codes (default terminology.Default()).
	Terminology *terminology.Terminology
}

func (c Config) withDefaults(file string) Config {
	if c.Comma == 0 {
		c.Comma = ','
	}
	if c.CaseSystem == "" {
		c.CaseSystem = mapping.IOMCaseNumber
	}
	if c.Vaccinations <= 0 {
		c.Vaccinations = 4
	}
	if c.File == "" {
		c.File = file
	}
	if c.Terminology == nil {
		c.Terminology = terminology.Default()
	}
	return c
}

// name returns the file's name for a Mekong column.
func (c Config) name(col string) string {
	if n, ok := c.Columns[col]; ok && n != "" {
		return n
	}
	return col
}

// Mekong's IOM column names, in the order the encoder writes them.
const (
	colCase            = "case_number"
	colPassport        = "passport_number"
	colPassportCountry = "passport_country"
	colFamily          = "family_name"
	colGiven           = "given_name"
	colFamilyNative    = "family_name_native"
	colGivenNative     = "given_name_native"
	colSex             = "sex"
	colBirthDate       = "birth_date"
	colNationality     = "nationality"
	colAssessmentDate  = "assessment_date"
	colSite            = "assessment_site"
	colTBClass         = "tb_class"
)

// test is one result column group: the columns it reads and how its value is coded.
type test struct {
	key        string // identifier suffix and iom-test code (or prefix, see codeCol)
	dateCol    string
	resultCol  string
	values     []string // allowed result values
	typeCol    string   // column choosing the test (HIV, SARS-CoV-2), "" if fixed
	types      map[string]string
	resultCode string // iom-test code when typeCol is empty
}

var tests = []test{
	{key: "cxr", dateCol: "cxr_date", resultCol: "cxr_result", resultCode: "cxr", values: []string{"normal", "abnormal-tb", "abnormal-not-tb"}},
	{key: "smear1", dateCol: "smear1_date", resultCol: "smear1_result", resultCode: "smear1", values: []string{"positive", "negative"}},
	{key: "smear2", dateCol: "smear2_date", resultCol: "smear2_result", resultCode: "smear2", values: []string{"positive", "negative"}},
	{key: "smear3", dateCol: "smear3_date", resultCol: "smear3_result", resultCode: "smear3", values: []string{"positive", "negative"}},
	{key: "culture", dateCol: "culture_date", resultCol: "culture_result", resultCode: "culture", values: []string{"mtb", "ntm", "contaminated", "negative"}},
	{key: "xpert-mtb", dateCol: "xpert_date", resultCol: "xpert_mtb", resultCode: "xpert-mtb", values: []string{"detected", "not-detected", "error"}},
	{key: "xpert-rif", dateCol: "xpert_date", resultCol: "xpert_rif", resultCode: "xpert-rif", values: []string{"detected", "not-detected", "indeterminate"}},
	{key: "igra", dateCol: "igra_date", resultCol: "igra_result", resultCode: "igra", values: []string{"positive", "negative", "indeterminate"}},
	{key: "hiv", dateCol: "hiv_date", resultCol: "hiv_result", typeCol: "hiv_test", types: map[string]string{"ab-ag": "hiv-ab-ag", "rdt": "hiv-rdt"}, values: []string{"positive", "negative", "indeterminate"}},
	{key: "covid", dateCol: "covid_date", resultCol: "covid_result", typeCol: "covid_test", types: map[string]string{"pcr": "covid-pcr", "antigen": "covid-antigen"}, values: []string{"detected", "not-detected"}},
}

// testByCode returns the column group of an iom-test code.
func testByCode(code string) (test, bool) {
	for _, t := range tests {
		if t.resultCode == code {
			return t, true
		}
		for _, c := range t.types {
			if c == code {
				return t, true
			}
		}
	}
	return test{}, false
}

var tbClasses = []string{"no-tb", "A", "B1", "B2", "B3"}

// Vaccination column group i (1-based).
func vaccineCols(i int) (cvx, date, dose, lot string) {
	p := "vaccine" + strconv.Itoa(i) + "_"
	return p + "cvx", p + "date", p + "dose", p + "lot"
}

// columns returns Mekong's column names in file order, with n vaccination groups.
func columns(n int) []string {
	cols := []string{colCase, colPassport, colPassportCountry, colFamily, colGiven, colFamilyNative, colGivenNative,
		colSex, colBirthDate, colNationality, colAssessmentDate, colSite}
	for _, t := range tests {
		if t.key == "xpert-rif" { // shares xpert_date with xpert-mtb
			cols = append(cols, t.resultCol)
			continue
		}
		if t.typeCol != "" {
			cols = append(cols, t.typeCol)
		}
		cols = append(cols, t.dateCol, t.resultCol)
	}
	cols = append(cols, colTBClass)
	for i := 1; i <= n; i++ {
		a, b, c, d := vaccineCols(i)
		cols = append(cols, a, b, c, d)
	}
	return cols
}

var sexes = map[string]string{"M": "male", "F": "female", "X": "other", "U": "unknown"}

var (
	keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$`)
	iso3       = regexp.MustCompile(`^[A-Z]{3}$`)
	cvxPattern = regexp.MustCompile(`^[0-9]{1,3}$`)
)

func oneOf(v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %v", v, allowed)
}
