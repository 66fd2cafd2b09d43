package eval

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
)

// DHIS2 attribute UIDs of mappings/dhis2/example-config.json, the
// configuration the loader decodes with.
const (
	attrNationalID   = "ZmU3A6IIRgm"
	attrPassport     = "KJSZUqQZNRf"
	attrFamilyKhmer  = "BvfxZAZqCSg"
	attrGivenKhmer   = "WmSOYsg8cL5"
	attrFamilyLatin  = "m0P6xF716mG"
	attrGivenLatin   = "KPS5ZG6bOxp"
	attrSex          = "MBtwLhfG4RH"
	attrBirthDate    = "mhMQrtUmyEo"
	attrNationality  = "iMn134SHamX"
	trackedEntityTyp = "YK0fFWqcajQ"
	orgUnit          = "LE9WVxuXbrF"
)

// Files renders the split in the three source formats plus labels.csv:
// path (slash-separated, relative to the split's directory) -> content.
func (d *Dataset) Files() map[string][]byte {
	files := map[string][]byte{}
	byFile := map[string][]Rec{}
	var names []string
	for _, r := range d.Records {
		if byFile[r.File] == nil {
			names = append(names, r.File)
		}
		byFile[r.File] = append(byFile[r.File], r)
	}
	sort.Strings(names)
	for _, name := range names {
		recs := byFile[name]
		switch {
		case strings.HasPrefix(name, "dhis2/"):
			files[name] = dhis2Payload(recs)
		case strings.HasPrefix(name, "th43/"):
			files[name] = th43Person(recs)
		case strings.HasSuffix(name, ".csv"):
			files[name] = iomCSV(recs)
		default:
			files[name] = iomJSON(recs)
		}
	}
	files["labels.csv"] = d.labels()
	return files
}

// Write writes Files under dir.
func (d *Dataset) Write(dir string) error {
	for name, b := range d.Files() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func dhis2Payload(recs []Rec) []byte {
	type attr struct {
		Attribute string `json:"attribute"`
		Value     string `json:"value"`
	}
	type te struct {
		TrackedEntity     string `json:"trackedEntity"`
		TrackedEntityType string `json:"trackedEntityType"`
		OrgUnit           string `json:"orgUnit"`
		Attributes        []attr `json:"attributes"`
	}
	var out struct {
		TrackedEntities []te `json:"trackedEntities"`
	}
	for _, r := range recs {
		t := te{TrackedEntity: r.UID, TrackedEntityType: trackedEntityTyp, OrgUnit: orgUnit}
		add := func(a, v string) {
			if v != "" {
				t.Attributes = append(t.Attributes, attr{a, v})
			}
		}
		add(attrNationalID, r.NationalID)
		add(attrPassport, r.Passport)
		add(attrFamilyKhmer, r.FamilyNative)
		add(attrGivenKhmer, r.GivenNative)
		add(attrFamilyLatin, r.FamilyLatin)
		add(attrGivenLatin, r.GivenLatin)
		add(attrSex, r.Sex)
		add(attrBirthDate, r.Birth)
		add(attrNationality, "KHM")
		out.TrackedEntities = append(out.TrackedEntities, t)
	}
	var ind bytes.Buffer
	_ = json.Indent(&ind, fhirjson.MustMarshal(out), "", "  ")
	b := ind.Bytes()
	return append(b, '\n')
}

// th43Header is PERSON's column list (domain.md §4.1), as in the mapping's samples.
const th43Header = "HOSPCODE|CID|PID|HID|PRENAME|NAME|LNAME|HN|SEX|BIRTH|MSTATUS|OCCUPATION_OLD|OCCUPATION_NEW|RACE|NATION|RELIGION|EDUCATION|FSTATUS|FATHER|MOTHER|COUPLE|VSTATUS|MOVEIN|DISCHARGE|DDISCHARGE|ABOGROUP|RHGROUP|LABOR|PASSPORT|TYPEAREA|D_UPDATE|TELEPHONE|MOBILE"

func th43Person(recs []Rec) []byte {
	var b bytes.Buffer
	b.WriteString(th43Header + "\n")
	cols := strings.Split(th43Header, "|")
	for _, r := range recs {
		prename := "003" // นาย
		if r.Sex == "2" {
			prename = "004" // นางสาว
		}
		v := map[string]string{
			"HOSPCODE": r.HospCode, "CID": r.CID, "PID": r.PID, "PRENAME": prename,
			"NAME": r.GivenNative, "LNAME": r.FamilyNative, "HN": r.HN, "SEX": r.Sex,
			"BIRTH": strings.ReplaceAll(r.Birth, "-", ""), "RACE": r.Nation, "NATION": r.Nation,
			"FSTATUS": "2", "VSTATUS": "5", "DISCHARGE": "9", "LABOR": "01", "PASSPORT": r.Passport,
			"TYPEAREA": "4", "D_UPDATE": "20240601090000",
		}
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = v[c]
		}
		b.WriteString(strings.Join(row, "|") + "\n")
	}
	return b.Bytes()
}

var iomColumns = []string{"case_number", "passport_number", "passport_country", "family_name", "given_name",
	"family_name_native", "given_name_native", "sex", "birth_date", "nationality", "assessment_date", "assessment_site"}

func iomRow(r Rec) []string {
	country := ""
	if r.Passport != "" {
		country = "KHM"
	}
	return []string{r.Case, r.Passport, country, r.FamilyLatin, r.GivenLatin, r.FamilyNative, r.GivenNative,
		r.Sex, r.Birth, "KHM", r.Assessed, "IOM Migration Health Assessment Centre, Phnom Penh"}
}

func iomCSV(recs []Rec) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(iomColumns)
	for _, r := range recs {
		_ = w.Write(iomRow(r))
	}
	w.Flush()
	return b.Bytes()
}

func iomJSON(recs []Rec) []byte {
	var rows []json.RawMessage
	for _, r := range recs {
		var b bytes.Buffer
		b.WriteString("{")
		first := true
		for i, v := range iomRow(r) {
			if v == "" {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			k, _ := fhirjson.Marshal(iomColumns[i])
			val, _ := fhirjson.Marshal(v)
			b.Write(k)
			b.WriteString(": ")
			b.Write(val)
		}
		b.WriteString("}")
		rows = append(rows, b.Bytes())
	}
	var ind bytes.Buffer
	_ = json.Indent(&ind, fhirjson.MustMarshal(rows), "", "  ")
	return append(ind.Bytes(), '\n')
}

// labels is labels.csv: record, person, source, file, hard-negative group,
// noise (semicolon-separated).
func (d *Dataset) labels() []byte {
	groups := map[string]string{}
	for _, p := range d.Persons {
		groups[p.ID] = p.Group
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"record", "person", "source", "file", "group", "noise"})
	for _, r := range d.Records {
		_ = w.Write([]string{r.ID, r.Person, r.Source, r.File, groups[r.Person], strings.Join(r.Noise, ";")})
	}
	w.Flush()
	return b.Bytes()
}

// String summarises the split (for the README and the bench output).
func (d *Dataset) String() string {
	multi, none := 0, 0
	for _, p := range d.Persons {
		n := 0
		for _, r := range d.Records {
			if r.Person == p.ID {
				n++
			}
		}
		if n > 1 {
			multi++
			if p.ShareNone {
				none++
			}
		}
	}
	return fmt.Sprintf("%s (seed %d): %d persons, %d records, %d persons with 2+ records", d.Split, d.Seed, len(d.Persons), len(d.Records), multi)
}
