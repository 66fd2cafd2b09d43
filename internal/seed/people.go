package seed

import (
	"strconv"
	"strings"
	"time"
)

// nation holds what differs by nationality. Shares are per mille.
type nation struct {
	Country       code // ISO 3166 alpha-3
	ISO3          string
	Lang          code
	Names         *nameSet
	FamilyFirst   bool // Khmer puts the family name first
	Nat, NatLabor code // THCC nationality of non-workers and of migrant workers
	Homes, Work   []weighted[place]
	Female        int // share of women
	Migrant       int // share working in Thailand (Work must be set)
	Passport      int // share holding a passport
	IOM           int // share with an IOM migration health assessment
	passportNo    func(g *generator, r *rng, n int) string
	phone         func(r *rng) string
}

// Mostly Cambodians, as the gateway links Cambodian migrant workers' records;
// Thais (the host population at the border clinics), Lao and Myanmar workers
// share the same Thai facilities.
var nations = []weighted[*nation]{
	{700, &nation{Country: isoKHM, ISO3: "KHM", Lang: langKhm, Names: &khmerNames, FamilyFirst: true, Nat: natCambodian, NatLabor: natCambodianLabor,
		Homes: cambodianHomes, Work: cambodianWork, Female: 450, Migrant: 850, Passport: 800, IOM: 350,
		passportNo: func(g *generator, r *rng, n int) string { return "N" + pad(g.passport8.of(n), 8) }, phone: khmPhone}},
	{120, &nation{Country: isoTHA, ISO3: "THA", Lang: langTha, Names: &thaiNames, Nat: natThai,
		Homes: thaiHomes, Female: 500, Passport: 350, IOM: 50,
		passportNo: func(g *generator, r *rng, n int) string {
			return "A" + string(rune('A'+r.intn(26))) + pad(g.passport7.of(n), 7)
		}, phone: thaPhone}},
	{80, &nation{Country: isoLAO, ISO3: "LAO", Lang: langLao, Names: &laoNames, NatLabor: natLaoLabor,
		Homes: laoHomes, Work: laoWork, Female: 500, Migrant: 1000, Passport: 700, IOM: 200,
		passportNo: func(g *generator, r *rng, n int) string { return "P" + pad(g.passport7.of(n), 7) }, phone: laoPhone}},
	{100, &nation{Country: isoMMR, ISO3: "MMR", Lang: langMya, Names: &myanmarNames, NatLabor: natMyanmarLabor,
		Homes: myanmarHomes, Work: myanmarWork, Female: 420, Migrant: 1000, Passport: 650, IOM: 200,
		passportNo: func(g *generator, r *rng, n int) string {
			p := g.passport7.of(n)
			return "M" + string(rune('A'+p/1e6)) + pad(p%1e6, 6)
		}, phone: mmrPhone}},
}

// Passport formats above are plausible look-alikes (letter prefix and digit
// count); the issuing countries publish no format, so none is checked.

// Working-age skew: ages on 1 January 2025, in years.
var ageBands = []weighted[[2]int]{{22, [2]int{18, 24}}, {38, [2]int{25, 34}}, {25, [2]int{35, 44}}, {15, [2]int{45, 55}}}

// person is what the Observations and Immunizations of a patient depend on.
type person struct {
	ID, Ref    string
	Nation     *nation
	Birth      time.Time
	AdultFrom  time.Time // records start at 16: the Thai work-permit age
	Home       place
	Work       *place    // Thai workplace of a migrant, nil for none
	IOMDate    time.Time // IOM assessment date, zero for none
	TBPositive bool
}

func (g *generator) newPerson(r *rng, n int) (*person, *patient) {
	nat := choose(r, nations)
	p := &person{ID: g.patientID(n), Nation: nat}
	p.Ref = "Patient/" + p.ID
	female := r.permille(nat.Female)
	band := choose(r, ageBands)
	p.Birth = day(2025, 1, 1).AddDate(-r.between(band[0], band[1]), 0, -1-r.intn(365))
	p.AdultFrom = p.Birth.AddDate(16, 0, 0)
	p.Home = choose(r, nat.Homes)
	if nat.Work != nil && r.permille(nat.Migrant) {
		w := choose(r, nat.Work)
		p.Work = &w
	}

	res := &patient{ResourceType: "Patient", ID: p.ID, Gender: "male", BirthDate: date(p.Birth)}
	if female {
		res.Gender = "female"
	}
	natCode := nat.Nat
	if p.Work != nil {
		natCode = nat.NatLabor
	}
	res.Extension = []extension{{URL: extNationality, Extension: []extension{{URL: "code",
		ValueCodeableConcept: &concept{Coding: []coding{nat.Country.coding(), natCode.coding()}}}}}}
	res.Identifier = g.identifiers(r, p, n)
	res.Name = nat.names(r, female)
	if r.permille(450) {
		phone := nat.phone
		if p.Work != nil && r.permille(700) {
			phone = thaPhone // a Thai SIM bought at the workplace
		}
		res.Telecom = []contactPoint{{System: "phone", Value: phone(r), Use: "mobile"}}
	}
	res.Address = []address{addr("home", p.Home)}
	res.Communication = []communication{{Language: *nat.Lang.concept(), Preferred: true}}
	if p.Work != nil {
		res.Address = append(res.Address, addr("temp", *p.Work))
		if r.permille(500) {
			res.Communication = append(res.Communication, communication{Language: *langTha.concept()})
		}
	}
	return p, res
}

func addr(use string, pl place) address {
	return address{Use: use, City: pl.City, District: pl.District, State: pl.State, Country: pl.Country}
}

// identifiers gives each patient a passport, a Thai 13-digit id and an IOM
// case number as they would hold them; several per patient is the linking
// case. Numbers come from per-system permutations, so they never collide.
func (g *generator) identifiers(r *rng, p *person, n int) []identifier {
	nat := p.Nation
	var ids []identifier
	passport := r.permille(nat.Passport)
	var cid string
	switch {
	case nat.ISO3 == "THA":
		cid = thaiCID(p, g.cid.of(n))
	case p.Work != nil && r.permille(350):
		// Registered migrant workers get a 13-digit id starting with 0
		// (THCC foreigner type 12, domain.md §4.2): the "pink card".
		cid = checkDigit("00" + p.Work.Province + "0" + pad(g.pink.of(n), 7))
	}
	if r.permille(nat.IOM) {
		if d, ok := r.dayIn(maxTime(start, p.AdultFrom), end); ok {
			p.IOMDate = r.clinicTime(d)
		}
	}
	if !passport && cid == "" && p.IOMDate.IsZero() {
		passport = true // every record can be linked by something
	}
	if passport {
		ids = append(ids, identifier{Use: "official", Type: typePPN.concept(), System: sysPassportPrefix + nat.ISO3, Value: nat.passportNo(g, r, n)})
	}
	if cid != "" {
		ids = append(ids, identifier{Use: "official", Type: typeNI.concept(), System: sysThaiCID, Value: cid})
	}
	if !p.IOMDate.IsZero() {
		office := "PNH"
		if nat.ISO3 != "KHM" {
			office = "BKK"
		}
		ids = append(ids, identifier{Use: "secondary", System: g.iomSystem,
			Value: office + "-" + strconv.Itoa(p.IOMDate.Year()) + "-" + pad(g.iom.of(n), 7)})
	}
	return ids
}

// thaiCID builds a Thai personal id: 1 for people registered at birth since
// 1984 and 3 for those registered earlier, the registering province and
// district, a running number, and the check digit.
func thaiCID(p *person, running uint64) string {
	kind := "1"
	if p.Birth.Year() < 1984 {
		kind = "3"
	}
	district := strconv.Itoa(1 + int(running%9))
	return checkDigit(kind + p.Home.Province + "0" + district + pad(running, 7))
}

// checkDigit appends the check digit of a Thai 13-digit id to its first 12:
// (11 - sum(d[i] * (13-i)) mod 11) mod 10.
func checkDigit(first12 string) string {
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(first12[i]-'0') * (13 - i)
	}
	return first12 + strconv.Itoa((11-sum%11)%10)
}

// names returns the Latin transliteration (official, as in the passport) and
// the native-script name, marked with its language.
func (nat *nation) names(r *rng, female bool) []humanName {
	given := nat.Names.Male
	if female {
		given = nat.Names.Female
	}
	var latin, native humanName
	if len(nat.Names.Family) == 0 {
		// Burmese: two to four syllables, no family name.
		k := choose(r, []weighted[int]{{45, 2}, {50, 3}, {5, 4}})
		for i := 0; i < k; i++ {
			s := pick(r, given)
			latin.Given = append(latin.Given, s.Latin)
			native.Given = append(native.Given, s.Native)
		}
		latin.Text = strings.Join(latin.Given, " ")
		native.Text = strings.Join(native.Given, "")
	} else {
		fam, giv := pick(r, nat.Names.Family), pick(r, given)
		latin.Family, latin.Given = fam.Latin, []string{giv.Latin}
		native.Family, native.Given = fam.Native, []string{giv.Native}
		if nat.FamilyFirst {
			latin.Text, native.Text = fam.Latin+" "+giv.Latin, fam.Native+" "+giv.Native
		} else {
			latin.Text, native.Text = giv.Latin+" "+fam.Latin, giv.Native+" "+fam.Native
		}
	}
	latin.Use = "official"
	native.Use = "usual"
	native.Extension = []extension{{URL: extLanguage, ValueCode: nat.Lang.Code}}
	return []humanName{latin, native}
}

// Mobile numbers in each country's format; the digits are random.
func khmPhone(r *rng) string {
	return "+855 " + pick(r, []string{"10", "11", "12", "15", "17", "70", "77", "78", "88", "93", "96", "97"}) + " " + r.digits(3) + " " + r.digits(3)
}

func thaPhone(r *rng) string {
	return "+66 " + pick(r, []string{"61", "62", "63", "64", "65", "81", "82", "83", "84", "85", "86", "87", "89", "91", "92", "93", "94", "95", "96", "97", "98"}) +
		" " + r.digits(3) + " " + r.digits(4)
}

func laoPhone(r *rng) string { return "+856 20 " + r.digits(4) + " " + r.digits(4) }
func mmrPhone(r *rng) string { return "+95 9 " + r.digits(3) + " " + r.digits(3) + " " + r.digits(3) }

// pad formats v with leading zeros to width digits.
func pad(v uint64, width int) string {
	s := strconv.FormatUint(v, 10)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
