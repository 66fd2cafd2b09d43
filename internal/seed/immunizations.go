package seed

import "time"

// Which COVID-19 vaccines a dose was likely to be: Cambodia ran on Sinopharm
// and Sinovac with AstraZeneca from COVAX and donated Janssen; Thailand on
// Sinovac and AstraZeneca, later Pfizer and Moderna; boosters were mostly
// viral-vector or mRNA.
var (
	khmPrimary = []weighted[*covidVaccine]{{55, vacBBIBP}, {25, vacCoronaVac}, {12, vacVaxzevria}, {8, vacJanssen}}
	thaPrimary = []weighted[*covidVaccine]{{35, vacCoronaVac}, {35, vacVaxzevria}, {12, vacBBIBP}, {12, vacComirnaty}, {6, vacSpikevax}}
	khmBooster = []weighted[*covidVaccine]{{40, vacVaxzevria}, {35, vacComirnaty}, {15, vacCoronaVac}, {10, vacBBIBP}}
	thaBooster = []weighted[*covidVaccine]{{45, vacComirnaty}, {35, vacVaxzevria}, {20, vacSpikevax}}
)

// covidVaccination: about seven in ten are vaccinated, with one to three
// doses in order at the product's interval, then boosters months later.
func (g *generator) covidVaccination(r *rng, p *person, rec *record) {
	if !r.permille(700) {
		return
	}
	inCambodia := p.Nation.ISO3 == "KHM" && (p.Work == nil || r.permille(450))
	fac, from, to, primary, boosters := p.Home.Facility, day(2021, 2, 10), day(2021, 12, 31), khmPrimary, khmBooster
	if !inCambodia {
		from, to, primary, boosters = day(2021, 3, 1), day(2022, 6, 30), thaPrimary, thaBooster
		if p.Work != nil {
			fac = p.Work.Facility
		}
	}
	d, ok := r.dayIn(maxTime(from, p.Birth.AddDate(12, 0, 0)), to)
	if !ok {
		return
	}
	v := choose(r, primary)
	primaryDoses := v.Series
	at := r.clinicTime(d)
	n := choose(r, []weighted[int]{{15, 1}, {45, 2}, {40, 3}})
	for dose := 1; dose <= n && !at.After(end); dose++ {
		g.covidDose(r, p, rec, at, v, dose, primaryDoses, fac)
		gap := r.between(90, 210)
		if dose < primaryDoses {
			gap = r.between(v.MinGap, v.MaxGap)
			if v == vacCoronaVac && !inCambodia && r.permille(400) {
				// Thailand's mid-2021 schedule: CoronaVac, then AstraZeneca.
				v, gap = vacVaxzevria, r.between(21, 28)
			}
		} else {
			v = choose(r, boosters)
		}
		at = r.clinicTime(at.AddDate(0, 0, gap))
	}
}

func (g *generator) covidDose(r *rng, p *person, rec *record, at time.Time, v *covidVaccine, dose, primaryDoses int, fac facility) {
	codes := []code{v.CVX, v.ICD11}
	if thai(fac) {
		codes = append(codes, v.thccByDose[dose-1]) // Thai records code brand and dose (§4.2)
	}
	pa := protocolApplied{Series: "Primary series", TargetDisease: []concept{*icdCOVID19.concept()},
		DoseNumberPositiveInt: dose, SeriesDosesPositiveInt: primaryDoses}
	if dose > primaryDoses {
		pa.Series, pa.SeriesDosesPositiveInt = "Booster", 0
	}
	im := g.immunize(r, p, rec, at, conceptOf(v.Name, codes...), fac, pa)
	im.Manufacturer = &reference{Display: v.Manufacturer}
	im.LotNumber = g.lot(v.lotPrefix, v.lotDigits, v.Name, fac.ID, at)
}

// immunize records a completed Immunization given at fac, naming the
// facility as performer four times in five.
func (g *generator) immunize(r *rng, p *person, rec *record, at time.Time, vaccine concept, fac facility, pa protocolApplied) *immunization {
	im := &immunization{ResourceType: "Immunization", Status: "completed", VaccineCode: vaccine,
		Patient: reference{Reference: p.Ref}, OccurrenceDateTime: dateTime(at), PrimarySource: true,
		ProtocolApplied: []protocolApplied{pa}}
	if r.permille(800) {
		im.Performer = []immunizationPerformer{{Actor: reference{Reference: "Organization/" + fac.ID, Display: fac.Name}}}
	}
	rec.imms = append(rec.imms, dated[immunization]{at, im})
	return im
}

// routine is an adult vaccine series offered to migrant workers.
type routine struct {
	name      string
	cvx       code
	thcc      []code // per dose; one entry when the Thai code does not count doses
	share     int    // per mille of patients vaccinated
	doses     []weighted[int]
	gaps      [][2]int // days between dose k and k+1
	series    int
	lotPrefix string
	lotDigits int
}

// Td for workers and pregnant women, hepatitis B (0, 1 and 6 months) and
// the measles campaigns for migrants; codes §4.2 and the CVX table.
var routines = []routine{
	{"Td (tetanus-diphtheria)", cvxTd, []code{thccDT}, 420, []weighted[int]{{35, 1}, {35, 2}, {30, 3}}, [][2]int{{28, 60}, {180, 365}}, 3, "TD", 5},
	{"Hepatitis B, adult", cvxHepB, thccHBV, 150, []weighted[int]{{20, 1}, {30, 2}, {50, 3}}, [][2]int{{28, 35}, {150, 180}}, 3, "HB", 5},
	{"MMR", cvxMMR, thccMMR, 120, []weighted[int]{{70, 1}, {30, 2}}, [][2]int{{28, 90}}, 2, "MR", 6},
}

func (g *generator) routineVaccination(r *rng, p *person, rec *record) {
	for _, rv := range routines {
		if !r.permille(rv.share) {
			continue
		}
		d, ok := r.dayIn(maxTime(start, p.AdultFrom), end)
		if !ok {
			continue
		}
		fac, at := p.site(r), r.clinicTime(d)
		n := choose(r, rv.doses)
		for dose := 1; dose <= n && !at.After(end); dose++ {
			codes := []code{rv.cvx}
			if thai(fac) {
				codes = append(codes, rv.thcc[min(dose, len(rv.thcc))-1])
			}
			im := g.immunize(r, p, rec, at, conceptOf(rv.name, codes...), fac,
				protocolApplied{DoseNumberPositiveInt: dose, SeriesDosesPositiveInt: rv.series})
			im.LotNumber = g.lot(rv.lotPrefix, rv.lotDigits, rv.name, fac.ID, at)
			if dose < n {
				gap := rv.gaps[dose-1]
				at = r.clinicTime(at.AddDate(0, 0, r.between(gap[0], gap[1])))
			}
		}
	}
	// BCG at birth, known only from a vaccination card: a date without a
	// time, not recorded by the source (primarySource false). Cambodia's
	// programme covered births from the mid-1980s.
	if p.Birth.Year() >= 1985 && r.permille(100) {
		at := p.Birth.AddDate(0, 0, r.intn(30))
		codes := []code{cvxBCG}
		if p.Nation.ISO3 == "THA" {
			codes = append(codes, thccBCG)
		}
		im := &immunization{ResourceType: "Immunization", Status: "completed", VaccineCode: conceptOf("BCG", codes...),
			Patient: reference{Reference: p.Ref}, OccurrenceDateTime: date(at), ReportOrigin: origRec.concept(),
			ProtocolApplied: []protocolApplied{{DoseNumberPositiveInt: 1, SeriesDosesPositiveInt: 1}}}
		rec.imms = append(rec.imms, dated[immunization]{at, im})
	}
}
