package seed

import (
	"slices"
	"strings"
	"time"
)

// site is where a patient is seen on an ordinary occasion: a Cambodian
// migrant sometimes at home, mostly at the Thai workplace.
func (p *person) site(r *rng) facility {
	switch {
	case p.Work != nil && p.Home.Country == "KHM" && r.permille(350):
		return p.Home.Facility
	case p.Work != nil:
		return p.Work.Facility
	}
	return p.Home.Facility
}

func (p *person) iomFacility() facility {
	if p.Nation.ISO3 == "KHM" {
		return facIOMPNH
	}
	return facIOMBKK
}

func thai(f facility) bool { return strings.HasPrefix(f.ID, "org-tha-") || f == facIOMBKK }

// observe records a final Observation; issued after the given delay, and
// naming the performing facility seven times in ten.
func (g *generator) observe(r *rng, p *person, rec *record, at time.Time, cat, c code, fac facility, delay time.Duration) *observation {
	o := &observation{ResourceType: "Observation", Status: "final",
		Category: []concept{*cat.concept()}, Code: conceptOf(c.Text, c),
		Subject: reference{Reference: p.Ref}, EffectiveDateTime: dateTime(at)}
	if delay > 0 {
		o.Issued = dateTime(at.Add(delay))
	}
	if r.permille(700) {
		o.Performer = []reference{{Reference: "Organization/" + fac.ID, Display: fac.Name}}
	}
	rec.obs = append(rec.obs, dated[observation]{at, o})
	return o
}

func hours(r *rng, lo, hi int) time.Duration {
	return time.Duration(r.between(lo*60, hi*60)) * time.Minute
}

// withText is c's CodeableConcept showing text instead of c's own.
func withText(c code, text string) *concept {
	cc := c.concept()
	cc.Text = text
	return cc
}

var (
	pcrCodes = []weighted[code]{{70, loincCovPCRResp}, {20, loincCovPCRSpec}, {10, loincCovPCRNP}}
	agCodes  = []weighted[code]{{70, loincCovAg}, {30, loincCovAgURT}}
	// Antigen test kits (ATK) became the usual screening test in Thailand
	// from mid-2021; before that, screening meant RT-PCR.
	atkEra = day(2021, 7, 1)
)

func (g *generator) covidTest(r *rng, p *person, rec *record, at time.Time, pcr, positive bool, fac facility) {
	c, delay := choose(r, agCodes), time.Duration(r.between(15, 60))*time.Minute // read after 15 minutes
	if pcr {
		c, delay = choose(r, pcrCodes), hours(r, 6, 36)
	}
	o := g.observe(r, p, rec, at, catLaboratory, c, fac, delay)
	o.ValueCodeableConcept = snoNotDetected.concept()
	if positive {
		o.ValueCodeableConcept = snoDetected.concept()
	}
}

type episode int

const (
	quarantine  episode = iota // returning Cambodian migrants, 2020-2021: PCR on arrival and before release
	workplace                  // weekly screening at Thai factories and sites, 2021-2022
	travel                     // a pre-departure or border-entry test
	symptomatic                // a sick person or contact, any time
)

// covidTests: most people were tested, many repeatedly, in episodes.
func (g *generator) covidTests(r *rng, p *person, rec *record) {
	if !r.permille(880) {
		return
	}
	kinds := []weighted[episode]{{20, travel}, {25, symptomatic}}
	if p.Work != nil || p.Nation.ISO3 == "THA" {
		kinds = append(kinds, weighted[episode]{40, workplace})
	}
	if p.Work != nil && p.Nation.ISO3 == "KHM" {
		kinds = append(kinds, weighted[episode]{25, quarantine})
	}
	from := maxTime(start, p.AdultFrom)
	for range choose(r, []weighted[int]{{10, 1}, {15, 2}, {18, 3}, {18, 4}, {15, 5}, {10, 6}, {7, 7}, {4, 8}, {3, 10}}) {
		switch choose(r, kinds) {
		case quarantine:
			d, ok := r.dayIn(maxTime(from, day(2020, 4, 1)), day(2021, 12, 31))
			if !ok {
				continue
			}
			fac := p.Home.Facility
			if r.permille(500) {
				fac = facIPC
			}
			positive := r.permille(20)
			g.covidTest(r, p, rec, r.clinicTime(d), true, positive, fac)
			if r.permille(300) {
				g.covidTest(r, p, rec, r.clinicTime(d.AddDate(0, 0, 7)), true, positive && r.permille(700), fac)
			}
			g.covidTest(r, p, rec, r.clinicTime(d.AddDate(0, 0, 13)), true, positive && r.permille(400), fac)
		case workplace:
			d, ok := r.dayIn(maxTime(from, day(2021, 1, 15)), day(2022, 9, 30))
			if !ok {
				continue
			}
			fac := p.Home.Facility
			if p.Work != nil {
				fac = p.Work.Facility
			}
			for k := r.between(2, 8); k > 0; k-- {
				pcr := d.Before(atkEra) || r.permille(200)
				positive := r.permille(25)
				g.covidTest(r, p, rec, r.clinicTime(d), pcr, positive, fac)
				if positive {
					if !pcr {
						g.covidTest(r, p, rec, r.clinicTime(d.AddDate(0, 0, 1)), true, r.permille(900), fac)
					}
					break
				}
				d = d.AddDate(0, 0, 7)
			}
		case travel:
			d, ok := r.dayIn(maxTime(from, day(2020, 6, 1)), day(2022, 10, 31))
			if !ok {
				continue
			}
			pcr := d.Before(day(2021, 11, 1)) || r.permille(500)
			g.covidTest(r, p, rec, r.clinicTime(d), pcr, r.permille(10), p.site(r))
		case symptomatic:
			year := choose(r, []weighted[int]{{5, 2020}, {30, 2021}, {45, 2022}, {12, 2023}, {4, 2024}, {2, 2025}, {2, 2026}})
			d, ok := r.dayIn(maxTime(from, day(year, 1, 1)), minTime(end, day(year, 12, 31)))
			if !ok {
				continue
			}
			fac := p.site(r)
			pcr := d.Before(atkEra) || r.permille(300)
			positive := r.permille(250)
			g.covidTest(r, p, rec, r.clinicTime(d), pcr, positive, fac)
			if positive && !pcr && r.permille(500) {
				g.covidTest(r, p, rec, r.clinicTime(d.AddDate(0, 0, 1)), true, r.permille(900), fac)
			}
		}
	}
}

// tbScreening follows the IOM assessment and Thai work-permit check: a chest
// X-ray for everyone screened, and sputum tests when it is abnormal (§6).
func (g *generator) tbScreening(r *rng, p *person, rec *record) {
	type round struct {
		at  time.Time
		fac facility
		iom bool
	}
	var rounds []round
	extra := 0
	switch {
	case !p.IOMDate.IsZero() && r.permille(700):
		rounds = append(rounds, round{p.IOMDate, p.iomFacility(), true})
		extra = choose(r, []weighted[int]{{50, 0}, {30, 1}, {20, 2}})
	case r.permille(130):
		extra = choose(r, []weighted[int]{{55, 1}, {30, 2}, {15, 3}})
	}
	for range extra {
		if d, ok := r.dayIn(maxTime(start, p.AdultFrom), end); ok {
			rounds = append(rounds, round{r.clinicTime(d), p.site(r), false})
		}
	}
	for _, rd := range rounds {
		abnormal := r.permille(100)
		o := g.observe(r, p, rec, rd.at, catImaging, choose(r, []weighted[code]{{60, loincCXR}, {40, loincCXRViews}}), rd.fac, hours(r, 1, 48))
		o.ValueCodeableConcept = snoCXRNormal.concept()
		if abnormal {
			o.ValueCodeableConcept = snoCXRAbnormal.concept()
		}
		if rd.iom && r.permille(150) {
			// US-bound applicants also get an IGRA (DS-3030 worksheet, §6).
			igra := g.observe(r, p, rec, rd.at, catLaboratory, loincIGRA, rd.fac, hours(r, 24, 72))
			igra.ValueCodeableConcept = snoNegative.concept()
			if r.permille(200) {
				igra.ValueCodeableConcept = snoPositive.concept()
			}
		}
		if abnormal {
			g.sputum(r, p, rec, rd.at, rd.fac, r.permille(120), rd.iom) // most abnormal films are not TB
		}
	}
}

// sputum is the work-up of an abnormal X-ray: Xpert MTB/RIF, smear
// microscopy and culture, with values from the WHO TB DAK (§2.2).
func (g *generator) sputum(r *rng, p *person, rec *record, xray time.Time, fac facility, tb, iom bool) {
	at := r.clinicTime(xray.AddDate(0, 0, r.between(1, 7)))
	if at.After(end) {
		return
	}
	if tb {
		p.TBPositive = true
	}
	if r.permille(900) {
		xat := at
		if r.permille(20) {
			o := g.observe(r, p, rec, xat, catLaboratory, loincXpert, fac, hours(r, 2, 24))
			o.ValueCodeableConcept = snoInvalid.concept()
			xat = r.clinicTime(at.AddDate(0, 0, 1)) // the cartridge is run again
		}
		o := g.observe(r, p, rec, xat, catLaboratory, loincXpert, fac, hours(r, 2, 24))
		o.ValueCodeableConcept = withText(snoNegative, "MTB not detected")
		if tb && r.permille(950) {
			o.ValueCodeableConcept = snoTB.concept()
			rif := g.observe(r, p, rec, xat, catLaboratory, loincXpertRIF, fac, hours(r, 2, 24))
			res := choose(r, []weighted[code]{{50, snoDetected}, {20, snoIndeterminate}, {930, snoNotDetected}})
			rif.ValueCodeableConcept = withText(res, "Rifampicin resistance "+strings.ToLower(res.Display))
		}
	}
	if iom || r.permille(600) {
		o := g.observe(r, p, rec, at, catLaboratory, choose(r, []weighted[code]{{50, loincAFB}, {50, loincAFBSputum}}), fac, hours(r, 4, 48))
		o.ValueCodeableConcept = snoNegative.concept()
		if tb && r.permille(600) {
			o.ValueCodeableConcept = snoPositive.concept()
		}
	}
	if iom || r.permille(400) {
		lab := fac
		if strings.HasPrefix(fac.ID, "org-khm-") {
			lab = facCENAT // Cambodian cultures go to the national reference laboratory
		}
		// Cultures take six to eight weeks: issued long after collection.
		o := g.observe(r, p, rec, at, catLaboratory, loincCulture, lab, time.Duration(r.between(42, 56))*24*time.Hour)
		result := []weighted[code]{{30, snoNTM}, {40, snoContam}, {930, snoNegative}}
		if tb {
			result = []weighted[code]{{900, snoTB}, {50, snoContam}, {50, snoNegative}}
		}
		o.ValueCodeableConcept = choose(r, result).concept()
	}
}

// hivTests: screening by immunoassay or rapid test; a reactive result is
// confirmed by a second assay, the status recorded, and viral loads follow
// on treatment. TB patients are always offered a test.
func (g *generator) hivTests(r *rng, p *person, rec *record) {
	atIOM := !p.IOMDate.IsZero() && r.permille(300)
	if !atIOM && !p.TBPositive && !r.permille(130) {
		return
	}
	var dates []time.Time
	for range choose(r, []weighted[int]{{70, 1}, {22, 2}, {8, 3}}) {
		if d, ok := r.dayIn(maxTime(start, p.AdultFrom), end); ok {
			dates = append(dates, r.clinicTime(d))
		}
	}
	if atIOM {
		dates = append(dates[:0], p.IOMDate)
	}
	slices.SortFunc(dates, time.Time.Compare)
	positive := r.permille(15)
	for i, at := range dates {
		fac := p.site(r)
		if atIOM {
			fac = p.iomFacility()
		}
		if positive && i == len(dates)-1 {
			g.hivDiagnosis(r, p, rec, at, fac)
			break
		}
		c, delay := choose(r, []weighted[code]{{50, loincHIVScreen}, {50, loincHIVRapid}}), hours(r, 2, 24)
		if thai(fac) && r.permille(300) {
			c = loincHIVStatus // Thai 43-file labs report HIV as LOINC 55277-8 (§4.3)
		}
		o := g.observe(r, p, rec, at, catLaboratory, c, fac, delay)
		o.ValueCodeableConcept = snoHIVNegative.concept()
	}
}

func (g *generator) hivDiagnosis(r *rng, p *person, rec *record, at time.Time, fac facility) {
	screen := g.observe(r, p, rec, at, catLaboratory, choose(r, []weighted[code]{{50, loincHIVScreen}, {50, loincHIVRapid}}), fac, hours(r, 1, 24))
	screen.ValueCodeableConcept = snoHIVAbDetected.concept()
	confirmed := r.clinicTime(at.AddDate(0, 0, r.between(0, 7)))
	conf := g.observe(r, p, rec, confirmed, catLaboratory, loincHIVRapid, fac, hours(r, 1, 4))
	conf.ValueCodeableConcept = snoHIVAbDetected.concept()
	conf.Method = &concept{Text: "Confirmatory test with a second assay (serial testing algorithm)"}
	status := g.observe(r, p, rec, confirmed, catLaboratory, loincHIVStatus, fac, hours(r, 1, 4))
	status.ValueCodeableConcept = snoHIVPositive.concept()

	// Viral loads on antiretroviral treatment: the first after three to six
	// months, then once or twice a year; most are soon suppressed.
	vlAt := confirmed.AddDate(0, 0, r.between(90, 180))
	for k := 0; k < 6 && !vlAt.After(end); k++ {
		o := g.observe(r, p, rec, r.clinicTime(vlAt), catLaboratory, choose(r, []weighted[code]{{70, loincHIVVL}, {30, loincHIVVLDAK}}), fac,
			time.Duration(r.between(3, 14))*24*time.Hour)
		level := []weighted[int]{{5, 2}, {10, 1}, {85, 0}}
		if k == 0 {
			level = []weighted[int]{{40, 2}, {25, 1}, {35, 0}}
		}
		q := &quantity{Unit: ucumCopiesPerML.Display, System: ucumCopiesPerML.System, Code: ucumCopiesPerML.Code}
		switch choose(r, level) {
		case 2: // not suppressed (≥ 1000 copies/mL, §2.1)
			q.Value = r.between(10, 99) * pick(r, []int{100, 1000, 10000})
		case 1:
			q.Value = r.between(50, 999)
		default: // below the assay's limit of detection
			q.Value, q.Comparator = pick(r, []int{20, 40, 50}), "<"
		}
		o.ValueQuantity = q
		vlAt = vlAt.AddDate(0, 0, r.between(150, 365))
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
