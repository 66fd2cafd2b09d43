package app

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// The page's view of one person: what clinic staff read, in their
// language, built from the FHIR resources the REST interactions returned.

// Name is a name as written, with its script's language ("km", "th", "en").
type Name struct {
	Text, Lang string
}

// Ident is an identifier with its issuing system in words.
type Ident struct {
	Label, Value string
	Doubtful     bool
}

// Person is the banner of a record and a search result.
type Person struct {
	ID          string
	Names       []Name // native scripts first, then Latin
	BirthDate   string // formatted
	Age         int    // -1 unknown
	Sex         string
	Nationality string
	Idents      []Ident
	Sources     []string
	Grade       string // match grade of a fuzzy search ("" otherwise)
	Managing    string // managing organization, in words
}

// DisplayName is the person's first name, for labels.
func (p Person) DisplayName() string {
	if len(p.Names) == 0 {
		return p.ID
	}
	return p.Names[0].Text
}

// Dose is one vaccination.
type Dose struct {
	Date, Vaccine, Lot, Place, Source string
	Dose                              int
	sortKey                           string
}

// VaccineGroup is the doses against one disease (or of one vaccine), with
// its status line.
type VaccineGroup struct {
	Name   string
	Status string
	Doses  []Dose
}

// Result is one test result.
type Result struct {
	Date, Test, Value, Place, Source, Status string
	Confidential                             bool
	sortKey                                  string
}

// Event is one line of the timeline.
type Event struct {
	Date, Text   string
	Confidential bool
	sortKey      string
}

// Record is everything the person page shows.
type Record struct {
	Person   Person
	Vaccines []VaccineGroup
	Results  []Result
	Timeline []Event
	// Hidden reports that the caller's access filter hid resources of this
	// person; used only to decide whether to offer break-the-glass, never
	// shown as a count.
}

// personOf builds the banner of a Patient.
func personOf(lang string, body []byte, now time.Time) (Person, error) {
	var p mapping.Patient
	if err := json.Unmarshal(body, &p); err != nil {
		return Person{}, err
	}
	out := Person{ID: p.ID, Age: -1}
	var latin []Name
	for _, n := range p.Name {
		text := strings.TrimSpace(n.Text)
		if text == "" {
			text = strings.TrimSpace(strings.Join(append(append([]string(nil), n.Given...), n.Family), " "))
		}
		if text == "" {
			continue
		}
		l := n.Language()
		if l == "" {
			l = mapping.ScriptLanguage(text)
		}
		nm := Name{Text: text, Lang: l}
		if n.Latin() {
			latin = append(latin, nm)
		} else {
			out.Names = append(out.Names, nm)
		}
	}
	out.Names = dedupNames(append(out.Names, latin...))
	if p.BirthDate != "" {
		out.BirthDate = FormatDate(lang, p.BirthDate)
		out.Age = age(p.BirthDate, now)
	}
	out.Sex = T(lang, "sex."+orDefault(p.Gender, "unknown"))
	for _, e := range p.Extension {
		if e.URL != mapping.ExtNationality {
			continue
		}
		for _, sub := range e.Extension {
			if sub.URL == "code" {
				if c := sub.ValueCodeableConcept.Code(mapping.ISO3166); c != "" {
					out.Nationality = countryName(lang, c)
				}
			}
		}
	}
	sources := map[string]bool{}
	for _, id := range p.Identifier {
		if id.Value == "" {
			continue
		}
		// A doubted identifier (CONTRACTS §7) is shown under the system
		// its source meant, marked doubtful; it never names a nationality.
		system := id.MeantSystem()
		out.Idents = append(out.Idents, Ident{Label: identLabel(lang, system), Value: id.Value, Doubtful: id.IsDoubtful()})
		if s := sourceOfSystem(system); s != "" {
			sources[s] = true
		}
		if out.Nationality == "" && !id.IsDoubtful() {
			if c := mapping.PassportCountry(system); c != "" {
				out.Nationality = countryName(lang, c)
			}
		}
	}
	out.Sources = sourceNames(lang, sources)
	if p.ManagingOrganization != nil {
		out.Managing = placeOf(lang, []mapping.Reference{*p.ManagingOrganization})
	}
	return out, nil
}

func dedupNames(ns []Name) []Name {
	seen := map[string]bool{}
	out := ns[:0]
	for _, n := range ns {
		k := strings.ToLower(n.Text)
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// age in whole years at now of a FHIR date; -1 when only a year or month is known.
func age(birth string, now time.Time) int {
	b, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return -1
	}
	y := now.Year() - b.Year()
	if now.YearDay() < b.YearDay() {
		y--
	}
	return y
}

func countryName(lang, iso3 string) string {
	if _, ok := messages["country."+iso3]; ok {
		return T(lang, "country."+iso3)
	}
	return iso3
}

// identLabel names an identifier's issuing system in words.
func identLabel(lang, system string) string {
	system = mapping.NormalizeSystem(system)
	if c := mapping.PassportCountry(system); c != "" {
		if _, ok := messages["id.passport."+c]; ok {
			return T(lang, "id.passport."+c)
		}
		return T(lang, "id.passport", c)
	}
	switch {
	case system == mapping.ThaiCID:
		return T(lang, "id.thcid")
	case system == mapping.IOMCaseNumber:
		return T(lang, "id.iom")
	case system == mapping.KHMNationalID:
		return T(lang, "id.khmnid")
	case strings.HasPrefix(system, mapping.Base+"/sid/dhis2-khm/"):
		return T(lang, "id.dhis2")
	case strings.HasPrefix(system, "https://terms.sil-th.org/hcode/5/"):
		parts := strings.Split(strings.TrimPrefix(system, "https://terms.sil-th.org/hcode/5/"), "/")
		if len(parts) == 2 && parts[1] == "HN" {
			return T(lang, "id.hn", parts[0])
		}
		if len(parts) == 2 && parts[1] == "PID" {
			return T(lang, "id.pid", parts[0])
		}
	}
	return T(lang, "id.other")
}

// sourceOfSystem names the source system an identifier system comes from.
func sourceOfSystem(system string) string {
	switch {
	case strings.HasPrefix(system, mapping.Base+"/sid/dhis2-khm/"), system == mapping.KHMNationalID:
		return "dhis2"
	case strings.HasPrefix(system, mapping.Base+"/sid/iom-"):
		return "iom"
	case strings.HasPrefix(system, mapping.Base+"/sid/th43-"), strings.HasPrefix(system, "https://terms.sil-th.org/hcode/"):
		return "th43"
	}
	return ""
}

func sourceNames(lang string, set map[string]bool) []string {
	var out []string
	for _, s := range []string{"th43", "dhis2", "iom"} {
		if set[s] {
			out = append(out, T(lang, "source."+s))
		}
	}
	return out
}

func sourceOf(lang string, ids []mapping.Identifier) string {
	for _, id := range ids {
		if s := sourceOfSystem(id.System); s != "" {
			return T(lang, "source."+s)
		}
	}
	return T(lang, "source.other")
}

// placeOf names where something was done: a Thai hospital code, a DHIS2
// facility, or the performer's display.
func placeOf(lang string, refs []mapping.Reference) string {
	for _, r := range refs {
		if r.Type != "" && r.Type != "Organization" {
			continue
		}
		if r.Display != "" {
			return r.Display
		}
		if r.Identifier == nil || r.Identifier.Value == "" {
			continue
		}
		if r.Identifier.System == mapping.HCode {
			return T(lang, "place.hospital", r.Identifier.Value)
		}
		return T(lang, "place.facility", r.Identifier.Value)
	}
	return ""
}

// covidVaccine reports whether a vaccine coding is a COVID-19 vaccine:
// CVX codes (https://www2.cdc.gov/vaccines/iis/iisstandards/vaccines.asp)
// or a display naming it.
func covidVaccine(cc mapping.CodeableConcept) bool {
	switch cc.Code(mapping.CVX) {
	case "207", "208", "210", "211", "212", "213", "217", "218", "219", "221", "225", "226", "227", "228", "229", "230", "300", "301", "302", "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "510", "511", "512", "513", "514", "515", "516", "517", "518", "519", "520", "521":
		return true
	}
	for _, c := range cc.Coding {
		if strings.Contains(strings.ToUpper(c.Display), "COVID") {
			return true
		}
	}
	return strings.Contains(strings.ToUpper(cc.Text), "COVID")
}

func display(cc mapping.CodeableConcept) string {
	if cc.Text != "" {
		return cc.Text
	}
	// The most specific name first: ICD-11's product names ("CoronaVac")
	// read better than CVX's descriptions.
	for _, sys := range []string{mapping.ICD11, mapping.CVX, mapping.LOINC, mapping.SNOMED} {
		for _, c := range cc.Coding {
			if c.System == sys && c.Display != "" {
				return c.Display
			}
		}
	}
	for _, c := range cc.Coding {
		if c.Display != "" {
			return c.Display
		}
	}
	for _, c := range cc.Coding {
		if n, ok := cvxNames[c.Code]; ok && c.System == mapping.CVX {
			return n
		}
	}
	for _, c := range cc.Coding {
		if c.Code != "" {
			return c.Code
		}
	}
	return ""
}

// cvxNames are the CDC's short descriptions of the routine vaccines a
// source may send as a bare CVX code (the IOM columns do); a clinic worker
// cannot read "03". COVID-19 vaccines get their names from the concept maps.
var cvxNames = map[string]string{
	"02": "OPV", "03": "MMR", "05": "measles", "08": "Hep B, adolescent or pediatric", "09": "Td (adult), adsorbed",
	"10": "IPV", "18": "rabies, intramuscular injection", "19": "BCG", "20": "DTaP", "21": "varicella", "25": "typhoid, oral",
	"39": "Japanese encephalitis SC", "43": "Hep B, adult", "45": "Hep B, unspecified formulation", "62": "HPV, quadrivalent",
	"88": "influenza, unspecified formulation", "94": "MMRV", "101": "typhoid, ViCPs", "113": "Td (adult) preservative free",
	"115": "Tdap", "134": "Japanese Encephalitis IM", "139": "Td(adult) unspecified formulation",
}

// vaccinations groups Immunizations by disease (COVID-19) or vaccine,
// doses oldest first within a group, groups by their latest dose, newest first.
func vaccinations(lang string, bodies [][]byte) ([]VaccineGroup, []Event) {
	groups := map[string]*VaccineGroup{}
	var order []string
	var events []Event
	for _, b := range bodies {
		var im mapping.Immunization
		if json.Unmarshal(b, &im) != nil || im.Status == "entered-in-error" {
			continue
		}
		name := display(im.VaccineCode)
		key := "v:" + name
		group := name
		if covidVaccine(im.VaccineCode) {
			key, group = "covid", T(lang, "disease.covid")
		}
		g, ok := groups[key]
		if !ok {
			g = &VaccineGroup{Name: group}
			groups[key] = g
			order = append(order, key)
		}
		d := Dose{Date: FormatDate(lang, im.OccurrenceDateTime), Vaccine: name, Lot: im.LotNumber, Dose: im.Dose(),
			Place: placeOf(lang, performers(im.Performer)), Source: sourceOf(lang, im.Identifier), sortKey: im.OccurrenceDateTime}
		g.Doses = append(g.Doses, d)
		events = append(events, Event{Date: d.Date, Text: T(lang, "timeline.vacc", name), sortKey: im.OccurrenceDateTime})
	}
	out := make([]VaccineGroup, 0, len(order))
	for _, k := range order {
		g := groups[k]
		sort.SliceStable(g.Doses, func(i, j int) bool { return g.Doses[i].sortKey < g.Doses[j].sortKey })
		last := g.Doses[len(g.Doses)-1]
		if len(g.Doses) == 1 {
			g.Status = T(lang, "vacc.status1", g.Name, last.Date)
		} else {
			g.Status = T(lang, "vacc.status", g.Name, len(g.Doses), last.Date)
		}
		out = append(out, *g)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Doses[len(out[i].Doses)-1].sortKey > out[j].Doses[len(out[j].Doses)-1].sortKey
	})
	return out, events
}

func performers(ps []mapping.ImmunizationPerformer) []mapping.Reference {
	out := make([]mapping.Reference, len(ps))
	for i, p := range ps {
		out[i] = p.Actor
	}
	return out
}

// testNames names the results the sources send (mapping's kinds), by LOINC
// code or Mekong's IOM code.
var testNames = map[string]string{
	"94500-6": "test.covid.pcr", "94558-4": "test.covid.ag", "97097-0": "test.covid.ag",
	"30745-4": "test.tb.cxr", "11545-1": "test.tb.smear", "539-7": "test.tb.culture", "85362-2": "test.tb.xpert",
	"89372-7": "test.tb.rif", "45323-3": "test.tb.igra", "tb-class": "test.tb.class",
	"56888-1": "test.hiv", "75622-1": "test.hiv", "49905-3": "test.hiv.rapid", "55277-8": "test.hiv.status", "20447-9": "test.hiv.vl",
}

// valueNames are SNOMED CT qualifier values the sources use.
var valueNames = map[string]string{
	"260385009": "value.negative", "10828004": "value.positive", "260373001": "value.detected", "260415000": "value.notdetected",
	"17621005": "value.normal", "263654008": "value.abnormal", "165816005": "value.positive", "165815009": "value.negative",
	"707308007": "value.normal", "707307002": "value.abnormaltb", "56717001": "value.mtbisolated", "110379001": "value.ntm",
	"123840003": "value.contaminated", "455371000124106": "value.invalid", "82334004": "value.indeterminate",
}

// restrictedLabels are the label codes that mark a result confidential.
var restrictedLabels = map[string]bool{"R": true, "V": true, "HIV": true, "TB": true}

// results lists Observations newest first.
func results(lang string, bodies [][]byte) ([]Result, []Event) {
	var out []Result
	var events []Event
	for _, b := range bodies {
		var o mapping.Observation
		if json.Unmarshal(b, &o) != nil || o.Status == "entered-in-error" || o.Status == "cancelled" {
			continue
		}
		r := Result{Date: FormatDate(lang, o.EffectiveDateTime), Place: placeOf(lang, o.Performer), Source: sourceOf(lang, o.Identifier),
			sortKey: o.EffectiveDateTime}
		r.Test = display(o.Code)
		for _, c := range o.Code.Coding {
			if k, ok := testNames[c.Code]; ok && (c.System == mapping.LOINC || c.System == mapping.IOMTest) {
				r.Test = T(lang, k)
				break
			}
		}
		r.Value = valueOf(lang, o)
		if o.Status == "preliminary" {
			r.Status = T(lang, "status.preliminary")
		}
		if o.Meta != nil {
			for _, s := range o.Meta.Security {
				r.Confidential = r.Confidential || restrictedLabels[s.Code]
			}
		}
		out = append(out, r)
		events = append(events, Event{Date: r.Date, Text: T(lang, "timeline.result", r.Test, r.Value), Confidential: r.Confidential, sortKey: r.sortKey})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].sortKey > out[j].sortKey })
	return out, events
}

func valueOf(lang string, o mapping.Observation) string {
	if q := o.ValueQuantity; q != nil {
		v := string(q.Value)
		if f, err := strconv.ParseFloat(v, 64); err == nil && f == float64(int64(f)) {
			v = strconv.FormatInt(int64(f), 10)
		}
		unit := q.Unit
		if unit == "" {
			unit = q.Code
		}
		return strings.TrimSpace(v + " " + unit)
	}
	if cc := o.ValueCodeableConcept; cc != nil {
		for _, c := range cc.Coding {
			if k, ok := valueNames[c.Code]; ok && c.System == mapping.SNOMED {
				return T(lang, k)
			}
		}
		// Source values with no SNOMED CT equivalent.
		for _, c := range cc.Coding {
			switch {
			case c.System == mapping.IOMResult && c.Code == "abnormal-not-tb":
				return T(lang, "value.abnormalnottb")
			case c.System == mapping.IOMTBClass && c.Code == "no-tb":
				return T(lang, "value.notb")
			case c.System == mapping.IOMTBClass && c.Code != "":
				return T(lang, "value.tbclass", c.Code)
			}
		}
		if d := display(*cc); d != "" {
			return d
		}
	}
	return T(lang, "value.none")
}

// timeline merges the events newest first.
func timeline(groups ...[]Event) []Event {
	var all []Event
	for _, g := range groups {
		all = append(all, g...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].sortKey > all[j].sortKey })
	return all
}
