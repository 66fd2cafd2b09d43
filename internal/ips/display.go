package ips

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/mekong-fhir/mekong/fhir/fhirjson"
	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/terminology"
)

// systemLabels name the code systems a clinician recognises; a code of any
// other system is shown without a label.
var systemLabels = map[string]string{
	mapping.LOINC:                    "LOINC",
	mapping.SNOMED:                   "SNOMED CT",
	mapping.CVX:                      "CVX",
	mapping.ICD11:                    "ICD-11",
	mapping.THCCVaccine:              "THCC",
	mapping.THCCSpecialPP:            "THCC",
	mapping.ICD10TMLab:               "ICD-10-TM",
	mapping.THCC2DigitLab:            "THCC",
	"http://www.whocc.no/atc":        "ATC",
	"http://hl7.org/fhir/sid/icd-10": "ICD-10",
}

// knownDisplays are the displays Mekong's crosswalks and result kinds give
// codes, for resources whose source sent a bare code (a 43-file EPI row
// carries "C1", not "CoronaVac"): the narrative should name the vaccine.
var knownDisplays = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, raw := range terminology.Default().ConceptMaps() {
		var cm struct {
			Group []struct {
				Source, Target string
				Element        []struct {
					Code, Display string
					Target        []struct{ Code, Display string }
				}
			}
		}
		if json.Unmarshal(raw, &cm) != nil {
			continue
		}
		for _, g := range cm.Group {
			for _, e := range g.Element {
				if e.Display != "" {
					out[g.Source+"|"+e.Code] = e.Display
				}
				for _, t := range e.Target {
					if t.Display != "" && out[g.Target+"|"+t.Code] == "" {
						out[g.Target+"|"+t.Code] = t.Display
					}
				}
			}
		}
	}
	return out
})

func knownDisplay(system, code string) string {
	system = mapping.NormalizeSystem(system)
	if k, ok := mapping.KindOf(system, code); ok && k.Code.Display != "" {
		return k.Code.Display
	}
	return knownDisplays()[system+"|"+code]
}

// conceptText is what a reader calls a CodeableConcept: its text, else the
// display of its first coding that has one (or that Mekong knows), else
// its first code with the system's label.
func conceptText(cc *fhirjson.Object) string {
	if cc == nil {
		return ""
	}
	if t := strings.TrimSpace(cc.Str("text")); t != "" {
		return t
	}
	codings := cc.Objs("coding")
	for _, c := range codings {
		if d := strings.TrimSpace(c.Str("display")); d != "" {
			return d
		}
	}
	for _, c := range codings {
		if d := knownDisplay(c.Str("system"), c.Str("code")); d != "" {
			return d
		}
	}
	for _, c := range codings {
		if c.Str("code") != "" {
			return codeLabel(c)
		}
	}
	return ""
}

// codeList lists a concept's codes ("CVX 511, ICD-11 XM7HT3, THCC C1"), so a
// reader on the other side of the border can match the source's own code
// and the international one.
func codeList(cc *fhirjson.Object) string {
	if cc == nil {
		return ""
	}
	var parts []string
	for _, c := range cc.Objs("coding") {
		if c.Str("code") != "" {
			parts = append(parts, codeLabel(c))
		}
	}
	return strings.Join(parts, ", ")
}

func codeLabel(c *fhirjson.Object) string {
	if l := systemLabels[mapping.NormalizeSystem(c.Str("system"))]; l != "" {
		return l + " " + c.Str("code")
	}
	return c.Str("code")
}

// conceptWithCodes is conceptText followed by the codes, when they add something.
func conceptWithCodes(cc *fhirjson.Object) string {
	t, codes := conceptText(cc), codeList(cc)
	switch {
	case codes == "" || codes == t:
		return t
	case t == "":
		return codes
	}
	return t + " (" + codes + ")"
}

func conceptsText(ccs []*fhirjson.Object) string {
	var parts []string
	for _, cc := range ccs {
		if t := conceptText(cc); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, ", ")
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// formatDate renders a FHIR date, dateTime or instant with the month in
// letters, at the precision the source gave and in the zone it wrote:
// "2021-07-02" is "2 Jul 2021", never 07/02/2021, which a Thai and an
// American reader would take for different days. A value that does not
// parse is shown as written.
func formatDate(s string) string {
	if s == "" {
		return ""
	}
	date, clock, hasTime := strings.Cut(s, "T")
	parts := strings.Split(date, "-")
	var out string
	switch len(parts) {
	case 1:
		out = parts[0]
	case 2:
		m := monthName(parts[1])
		if m == "" {
			return s
		}
		out = m + " " + parts[0]
	case 3:
		m := monthName(parts[1])
		if m == "" || len(parts[2]) != 2 {
			return s
		}
		out = strings.TrimPrefix(parts[2], "0") + " " + m + " " + parts[0]
	default:
		return s
	}
	if !hasTime {
		return out
	}
	t, err := time.Parse("15:04:05.999999999Z07:00", clock)
	if err != nil {
		return s
	}
	zone := "UTC"
	if _, off := t.Zone(); off != 0 {
		zone = "UTC" + t.Format("-07:00")
	}
	return out + " " + t.Format("15:04") + " " + zone
}

func monthName(mm string) string {
	if len(mm) != 2 || mm[0] < '0' || mm[0] > '1' || mm[1] < '0' || mm[1] > '9' {
		return ""
	}
	n := int(mm[0]-'0')*10 + int(mm[1]-'0')
	if n < 1 || n > 12 {
		return ""
	}
	return months[n-1]
}

// sortKey is the instant a FHIR date starts at, for ordering entries newest
// first; dates without a zone are read as UTC, which is close enough to
// order one person's records.
func sortKey(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// quantityText renders a Quantity: "1200 copies/mL", "< 40 {copies}/mL".
func quantityText(q *fhirjson.Object) string {
	if q == nil {
		return ""
	}
	v := scalar(q, "value")
	if v == "" {
		return ""
	}
	if c := q.Str("comparator"); c != "" {
		v = c + " " + v
	}
	unit := q.Str("unit")
	if unit == "" {
		unit = q.Str("code")
	}
	if unit != "" {
		v += " " + unit
	}
	return v
}

func rangeText(r *fhirjson.Object) string {
	if r == nil {
		return ""
	}
	lo, hi := quantityText(r.Obj("low")), quantityText(r.Obj("high"))
	switch {
	case lo != "" && hi != "":
		return lo + " – " + hi
	case lo != "":
		return "≥ " + lo
	case hi != "":
		return "≤ " + hi
	}
	return ""
}

func periodText(p *fhirjson.Object) string {
	if p == nil {
		return ""
	}
	s, e := formatDate(p.Str("start")), formatDate(p.Str("end"))
	switch {
	case s != "" && e != "":
		return s + " – " + e
	case s != "":
		return "from " + s
	case e != "":
		return "until " + e
	}
	return ""
}

// humanName renders a HumanName: its text, else given names and family.
func humanName(n *fhirjson.Object) string {
	if t := strings.TrimSpace(n.Str("text")); t != "" {
		return t
	}
	parts := append(n.Strs("given"), n.Str("family"))
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// identifierLabel names an identifier's system for a reader.
func identifierLabel(system string) string {
	system = mapping.NormalizeSystem(system)
	switch {
	case strings.HasPrefix(system, mapping.PassportPrefix):
		return "Passport (" + strings.TrimPrefix(system, mapping.PassportPrefix) + ")"
	case system == mapping.ThaiPassport:
		return "Passport"
	case system == mapping.ThaiCID:
		return "Thai citizen ID"
	case system == mapping.IOMCaseNumber:
		return "IOM case number"
	case system == mapping.KHMNationalID:
		return "Cambodian national ID"
	case strings.HasPrefix(system, "https://terms.sil-th.org/hcode/5/"):
		// TH Core facility-local identifiers: .../hcode/5/{HCODE}/{kind}
		if hcode, kind, ok := strings.Cut(strings.TrimPrefix(system, "https://terms.sil-th.org/hcode/5/"), "/"); ok {
			return kind + " at Thai facility " + hcode
		}
	case system == mapping.HCode:
		return "Thai health facility code (HCODE)"
	}
	return system
}
