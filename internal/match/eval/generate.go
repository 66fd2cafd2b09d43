// Package eval is the labelled evaluation set of the identity matcher: a
// deterministic generator of fictional people (no real person) and their
// records in the three source formats Mekong ingests (DHIS2 tracker JSON,
// Thai 43-file PERSON, IOM CSV and JSON), a loader that reads those files
// back through the real decoders of mappings/, and the precision and recall
// report that `make bench-match` prints. testdata/eval/README.md describes
// the set; Generate documents every kind of noise it adds.
package eval

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Person is one fictional person.
type Person struct {
	ID             string
	Family, Given  int // indexes into the split's name tables
	Gender         string
	Year, Mon, Day int
	NationalID     string // Cambodian national ID, "" if none
	Passport       string // "" when undocumented
	Renewed        string // a later passport number, "" if never renewed
	CID            string // Thai 13-digit ID for non-Thais, "" if none
	Undocumented   bool   // entered Thailand without papers (THCC nationality 257)
	Group          string // hard-negative group: twins-n, siblings-n, common-n; "" for none
	ShareNone      bool   // its records were given no identifier in common
}

// Rec is one source record of a person, as written to its file.
type Rec struct {
	ID, Person, Source, File string
	Noise                    []string

	FamilyLatin, GivenLatin   string
	FamilyNative, GivenNative string // Khmer (DHIS2, IOM) or Thai (43 files) script
	Sex                       string // as the source codes it
	Birth                     string // YYYY-MM-DD as written
	NationalID, Passport, CID string
	Nation                    string // THCC nationality (43 files)
	Case, UID, HospCode, PID  string
	HN, Assessed              string
}

// Dataset is one split of the evaluation set.
type Dataset struct {
	Split   string
	Seed    uint64
	Persons []Person
	Records []Rec
}

// The Thai hospitals of the set (5-digit HOSPCODEs, invented).
var hospitals = []string{"10742", "11013", "10716"}

type gen struct {
	fam     []nameEntry
	giv     []nameEntry
	r       *rand.Rand
	d       *Dataset
	n       map[string]int // counters for sequential numbers
	used    map[string]bool
	noise   map[string]int // quotas of rare noise kinds per split
	persons []*Person
}

// Generate builds the split deterministically from seed: about 150 people
// (120 ordinary, plus twins, siblings and people sharing a common name as
// hard negatives), each with one to four records. The noise it adds, each
// named in the record's Noise and in labels.csv:
//   - spelling: another Latin spelling of the family or given name (Sok/Sokh,
//     Chan/Chann, Sophea/Sophia, Srey Pov/Sreypov, Chhun/Chun, Pich/Pech ...);
//   - typo: a letter dropped or doubled;
//   - swapped: IOM family and given columns in the other order (Khmer order);
//   - thai-script: the 43 files write the name in Thai letters, one of several
//     plausible spellings; latin-in-th43: a Thai clerk copied the passport's Latin name;
//   - no-khmer: DHIS2 without the Khmer-script name;
//   - birth dates: year-only (YYYY-01-01), year-month (YYYY-MM-01), transposed day
//     and month, one year off;
//   - passport renewed between records; undocumented (no passport, THCC 257);
//   - share-none: the person's records were given no identifier in common;
//   - bad-cid: a Thai CID with a wrong check digit (doubtful, CONTRACTS.md §7);
//   - sex-case: DHIS2 sex "Female" where the configuration lists "FEMALE";
//   - sex-unknown: IOM sex U.
func Generate(split string, seed uint64) *Dataset {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed*0x9E3779B97F4A7C15+1)), d: &Dataset{Split: split, Seed: seed},
		n: map[string]int{}, used: map[string]bool{}, noise: map[string]int{"bad-cid": 3, "sex-case": 2},
		fam: familyNames, giv: givenNames}
	if split == "holdout" {
		// Names the tuning never saw, drawn right after the five most common.
		g.fam = append(append(append([]nameEntry{}, familyNames[:5]...), holdoutFamilyNames...), familyNames[5:]...)
		g.giv = append(append(append([]nameEntry{}, givenNames[:5]...), holdoutGivenNames...), givenNames[5:]...)
	}
	for i := 0; i < 120; i++ {
		g.person(g.family(), -1, "", 0, 0, 0, "")
	}
	for t := 1; t <= 6; t++ {
		fam, grp := g.family(), fmt.Sprintf("twins-%d", t)
		a := g.person(fam, -1, "", 0, 0, 0, grp)
		gender := a.Gender
		if g.r.IntN(2) == 0 {
			gender = other(gender)
		}
		g.person(fam, a.Given, gender, a.Year, a.Mon, a.Day, grp)
	}
	for s := 1; s <= 5; s++ {
		fam, grp := g.family(), fmt.Sprintf("siblings-%d", s)
		a := g.person(fam, -1, "", 0, 0, 0, grp)
		for k := 0; k < 1+g.r.IntN(2); k++ {
			y, m := a.Year+1+g.r.IntN(4), 1+g.r.IntN(12)
			if s == 1 && k == 0 { // ten months apart
				y, m = a.Year, a.Mon
				if m <= 2 {
					m += 10
				} else {
					y++
					m -= 2
				}
			}
			g.person(fam, a.Given, "", y, m, 1+g.r.IntN(28), grp)
		}
	}
	common := g.commonNames() // Sok Dara, Chan Sophea, Keo Sokha
	for c, cn := range common {
		grp := fmt.Sprintf("common-%d", c+1)
		var first *Person
		for k := 0; k < 3; k++ {
			y := 0
			if k == 1 {
				y = first.Year // two of them born the same year
			}
			p := g.person(cn.fam, -1, g.givenGender(cn.giv), y, 0, 0, grp)
			p.Given = cn.giv
			if k == 0 {
				first = p
			}
		}
	}
	for _, p := range g.persons {
		g.records(p)
	}
	for _, p := range g.persons {
		g.d.Persons = append(g.d.Persons, *p)
	}
	return g.d
}

func other(g string) string {
	if g == "male" {
		return "female"
	}
	return "male"
}

// commonNames are the indexes of Sok Dara, Chan Sophea and Keo Sokha.
func (g *gen) commonNames() []struct{ fam, giv int } {
	find := func(list []nameEntry, latin string) int {
		for i, e := range list {
			if e.Latin[0] == latin {
				return i
			}
		}
		panic("no " + latin)
	}
	return []struct{ fam, giv int }{
		{find(g.fam, "SOK"), find(g.giv, "DARA")}, {find(g.fam, "CHAN"), find(g.giv, "SOPHEA")}, {find(g.fam, "KEO"), find(g.giv, "SOKHA")},
	}
}

func (g *gen) givenGender(i int) string {
	switch g.giv[i].Gender {
	case "m":
		return "male"
	case "f":
		return "female"
	}
	return ""
}

// family draws a family name, the first entries far more often (u²).
func (g *gen) family() int {
	u := g.r.Float64()
	return int(u * u * float64(len(g.fam)))
}

// person adds a person; zero values are drawn. notGiven is a given name the
// new person must not have (a twin's or sibling's).
func (g *gen) person(fam, notGiven int, gender string, y, m, d int, group string) *Person {
	if gender == "" {
		gender = []string{"male", "female"}[g.r.IntN(2)]
	}
	p := &Person{ID: fmt.Sprintf("P%03d", len(g.persons)+1), Family: fam, Gender: gender, Group: group}
	for {
		u := g.r.Float64()
		p.Given = int(u * u * float64(len(g.giv)))
		gg := g.giv[p.Given].Gender
		if p.Given != notGiven && (gg == "" || gg == gender[:1]) {
			break
		}
	}
	if y == 0 {
		y = 1970 + g.r.IntN(35)
	}
	if m == 0 {
		m = 1 + g.r.IntN(12)
	}
	if d == 0 {
		d = 1 + g.r.IntN(daysIn(y, m))
	}
	p.Year, p.Mon, p.Day = y, m, d
	if g.r.Float64() < 0.85 {
		p.NationalID = g.unique(func() string { return fmt.Sprintf("%09d", 10000000+g.r.IntN(890000000)) })
	}
	p.Undocumented = g.r.Float64() < 0.3
	if !p.Undocumented {
		p.Passport = g.passport()
		if g.r.Float64() < 0.35 {
			p.Renewed = g.passport()
		}
	}
	g.persons = append(g.persons, p)
	return p
}

func (g *gen) passport() string {
	return g.unique(func() string { return fmt.Sprintf("N%07d", g.r.IntN(10000000)) })
}

func (g *gen) unique(f func() string) string {
	for {
		if v := f(); !g.used[v] {
			g.used[v] = true
			return v
		}
	}
}

// plans are the sets of sources a person's records come from, with weights.
var plans = []struct {
	w    int
	srcs []string
}{
	{8, []string{"dhis2"}}, {4, []string{"iom"}}, {4, []string{"th43"}},
	{14, []string{"dhis2", "th43"}}, {12, []string{"dhis2", "iom"}}, {12, []string{"iom", "th43"}},
	{14, []string{"dhis2", "iom", "th43"}}, {6, []string{"th43", "th43"}}, {6, []string{"dhis2", "th43", "th43"}},
	{4, []string{"iom", "iom"}}, {3, []string{"dhis2", "dhis2"}}, {5, []string{"dhis2", "iom", "th43", "th43"}},
}

func (g *gen) plan(multi bool) []string {
	total := 0
	for _, p := range plans {
		if !multi || len(p.srcs) > 1 {
			total += p.w
		}
	}
	x := g.r.IntN(total)
	for _, p := range plans {
		if multi && len(p.srcs) == 1 {
			continue
		}
		if x < p.w {
			return p.srcs
		}
		x -= p.w
	}
	panic("unreachable")
}

func (g *gen) records(p *Person) {
	srcs := g.plan(p.Group != "")
	p.ShareNone = len(srcs) > 1 && g.r.Float64() < 0.4
	hasThai := false
	for _, s := range srcs {
		hasThai = hasThai || s == "th43"
	}
	if hasThai && g.r.Float64() < 0.7 {
		p.CID = g.unique(g.thaiCID)
	}
	seen := map[string]int{}
	usedPass := map[string]bool{}
	nidUsed, cidUsed, firstCase := false, false, ""
	hosp := g.r.IntN(len(hospitals))
	for i, src := range srcs {
		nth := seen[src]
		seen[src]++
		rec := Rec{Person: p.ID, Source: src}
		// Identifiers: when the person shares none, each identifier goes on one record only.
		pass := p.Passport
		if p.Renewed != "" && i > 0 && g.r.Float64() < 0.7 {
			pass = p.Renewed
			rec.Noise = append(rec.Noise, "passport-renewed")
		}
		if p.ShareNone && usedPass[pass] {
			pass = ""
			if p.Renewed != "" {
				pass = g.passport() // renewed once more: never the same number twice
			}
		}
		if pass != "" {
			usedPass[pass] = true
		}
		if p.Undocumented {
			rec.Noise = append(rec.Noise, "undocumented")
		}
		switch src {
		case "dhis2":
			rec.UID = g.unique(g.uid)
			rec.ID = "dhis2:" + rec.UID
			rec.File = "dhis2/tracker.json"
			if nth > 0 {
				rec.File = "dhis2/tracker-2.json"
			}
			if p.NationalID != "" && !(p.ShareNone && nidUsed) {
				rec.NationalID, nidUsed = p.NationalID, true
			}
			if pass != "" && g.r.Float64() < 0.7 {
				rec.Passport = pass
			}
			rec.FamilyLatin = g.spelling(g.fam[p.Family], 0.8, &rec)
			rec.GivenLatin = g.spelling(g.giv[p.Given], 0.8, &rec)
			if g.r.Float64() < 0.9 {
				rec.FamilyNative, rec.GivenNative = g.fam[p.Family].Khmer, g.giv[p.Given].Khmer
			} else {
				rec.Noise = append(rec.Noise, "no-khmer")
			}
			rec.Sex = strings.ToUpper(p.Gender)
			if g.quota("sex-case") {
				rec.Sex = strings.ToUpper(p.Gender[:1]) + p.Gender[1:]
				rec.Noise = append(rec.Noise, "sex-case")
			}
		case "th43":
			h := hospitals[(hosp+nth)%len(hospitals)]
			g.n["pid"+h]++
			rec.HospCode, rec.PID = h, fmt.Sprintf("%06d", 100+g.n["pid"+h]*7)
			rec.HN = fmt.Sprintf("67%05d", 100+g.n["pid"+h]*13)
			rec.ID = "th43:" + h + "/" + rec.PID
			rec.File = "th43/" + h + "/PERSON.txt"
			if p.CID != "" && !(p.ShareNone && cidUsed) {
				rec.CID, cidUsed = p.CID, true
				if g.quota("bad-cid") {
					rec.CID = badCheckDigit(rec.CID)
					rec.Noise = append(rec.Noise, "bad-cid")
				}
			}
			if pass != "" && g.r.Float64() < 0.7 {
				rec.Passport = pass
			}
			rec.Nation = "264"
			switch {
			case p.Undocumented:
				rec.Nation = "257"
			case g.r.Float64() < 0.3:
				rec.Nation = "057"
			}
			if g.r.Float64() < 0.12 {
				rec.FamilyNative = g.spelling(g.fam[p.Family], 0.3, &rec)
				rec.GivenNative = g.spelling(g.giv[p.Given], 0.3, &rec)
				rec.Noise = append(rec.Noise, "latin-in-th43")
			} else {
				rec.FamilyNative = g.pick(g.fam[p.Family].Thai)
				rec.GivenNative = g.pick(g.giv[p.Given].Thai)
				rec.Noise = append(rec.Noise, "thai-script")
			}
			rec.Sex = map[string]string{"male": "1", "female": "2"}[p.Gender]
		case "iom":
			rec.Assessed = fmt.Sprintf("%d-%02d-%02d", 2023+g.r.IntN(3), 1+g.r.IntN(12), 1+g.r.IntN(28))
			rec.Case = g.unique(func() string { return fmt.Sprintf("KHM-MHA-%s-%04d", rec.Assessed[:4], 1+g.r.IntN(9999)) })
			if firstCase != "" && !p.ShareNone && g.r.IntN(2) == 0 {
				rec.Case = firstCase // reassessed under the same case
			}
			if firstCase == "" {
				firstCase = rec.Case
			}
			rec.File = "iom/assessments.csv"
			if nth > 0 {
				rec.File = "iom/reassessments.json"
			}
			rec.ID = "iom:" + rec.File + ":" + rec.Case
			rec.Passport = pass
			rec.FamilyLatin = g.spelling(g.fam[p.Family], 0.45, &rec)
			rec.GivenLatin = g.spelling(g.giv[p.Given], 0.45, &rec)
			if g.r.Float64() < 0.3 {
				rec.FamilyLatin, rec.GivenLatin = rec.GivenLatin, rec.FamilyLatin
				rec.Noise = append(rec.Noise, "swapped")
			}
			if g.r.Float64() < 0.5 {
				rec.FamilyNative, rec.GivenNative = g.fam[p.Family].Khmer, g.giv[p.Given].Khmer
			}
			rec.Sex = map[string]string{"male": "M", "female": "F"}[p.Gender]
			if g.r.Float64() < 0.04 {
				rec.Sex = "U"
				rec.Noise = append(rec.Noise, "sex-unknown")
			}
		}
		rec.Birth = g.birth(p, i, &rec)
		g.d.Records = append(g.d.Records, rec)
	}
}

// spelling draws a Latin spelling: the first (register) one with probability
// first, another variant otherwise, and now and then a typo.
func (g *gen) spelling(e nameEntry, first float64, rec *Rec) string {
	s := e.Latin[0]
	if len(e.Latin) > 1 && g.r.Float64() >= first {
		s = e.Latin[1+g.r.IntN(len(e.Latin)-1)]
		rec.Noise = appendOnce(rec.Noise, "spelling")
	}
	if g.r.Float64() < 0.06 && len(s) > 3 {
		i := 1 + g.r.IntN(len(s)-1)
		if s[i] == ' ' {
			return s
		}
		if g.r.IntN(2) == 0 {
			s = s[:i] + s[i+1:]
		} else {
			s = s[:i] + s[i:i+1] + s[i:]
		}
		rec.Noise = appendOnce(rec.Noise, "typo")
	}
	return s
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) quota(kind string) bool {
	if g.noise[kind] > 0 && g.r.Float64() < 0.05 {
		g.noise[kind]--
		return true
	}
	return false
}

// birth writes the person's birth date with the noise of the record. Dates
// copied from an ID card or passport (DHIS2, IOM) are seldom wrong; a Thai
// hospital's is often told by the patient: 12% of DHIS2 and IOM records and
// 35% of 43-file records carry one of the noises (placeholders, transposed
// day and month, a year off).
func (g *gen) birth(p *Person, i int, rec *Rec) string {
	y, m, d := p.Year, p.Mon, p.Day
	x := g.r.Float64()
	noisy := 0.12
	if rec.Source == "th43" {
		noisy = 0.35
	}
	if x >= noisy {
		return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	}
	switch x /= noisy; {
	case x < 0.4:
		m, d = 1, 1
		rec.Noise = append(rec.Noise, "birth-year-only")
	case x < 0.55:
		d = 1
		rec.Noise = append(rec.Noise, "birth-year-month")
	case x < 0.75:
		if d <= 12 && d != m {
			m, d = d, m
			rec.Noise = append(rec.Noise, "birth-transposed")
		}
	default:
		y += []int{-1, 1}[g.r.IntN(2)]
		if d > daysIn(y, m) {
			d = daysIn(y, m)
		}
		rec.Noise = append(rec.Noise, "birth-year-off")
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func daysIn(y, m int) int { return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() }

const uidChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// uid is a DHIS2 UID: a letter and ten letters or digits.
func (g *gen) uid() string {
	b := []byte{uidChars[g.r.IntN(52)]}
	for i := 0; i < 10; i++ {
		b = append(b, uidChars[g.r.IntN(len(uidChars))])
	}
	return string(b)
}

// thaiCID is a Thai 13-digit identification number for a non-Thai (first
// digit 0, 6 or 7) with a valid check digit.
func (g *gen) thaiCID() string {
	b := []byte{"067"[g.r.IntN(3)]}
	for i := 0; i < 11; i++ {
		b = append(b, byte('0'+g.r.IntN(10)))
	}
	return string(b) + string(rune('0'+cidCheck(string(b))))
}

func cidCheck(first12 string) int {
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(first12[i]-'0') * (13 - i)
	}
	return (11 - sum%11) % 10
}

func badCheckDigit(cid string) string {
	d := (int(cid[12]-'0') + 3) % 10
	return cid[:12] + string(rune('0'+d))
}
