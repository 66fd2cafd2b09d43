// Package match is Mekong's identity matching engine: it decides how likely
// two Patient records (from DHIS2, IOM and Thai hospitals, in Khmer, Thai or
// Latin script) are the same person. It romanizes names (package romanize),
// compares identifiers, names, birth date, gender and nationality, scores the
// pair with Fellegi–Sunter weights from a JSON configuration, grades it
// certain, probable or possible, and gives the blocking keys a store indexes
// so that candidates are found without scanning every Patient. It knows
// nothing of HTTP or SQL. README.md in this directory explains how it works
// and how to tune it.
package match

import (
	"fmt"
	"math"
)

// Matcher compares records under one configuration. It is safe for
// concurrent use.
type Matcher struct {
	cfg   Config
	prior float64 // log2(λ/(1-λ))
}

// New builds a Matcher from a validated configuration.
func New(cfg Config) (*Matcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("match.New: %w", err)
	}
	return &Matcher{cfg: cfg, prior: math.Log2(cfg.Prior / (1 - cfg.Prior))}, nil
}

// Config returns the matcher's configuration.
func (m *Matcher) Config() Config { return m.cfg }

// Grade is a FHIR match-grade code, or "" below possible.
type Grade string

// The grades of http://terminology.hl7.org/CodeSystem/match-grade that $match returns.
const (
	Certain  Grade = "certain"
	Probable Grade = "probable"
	Possible Grade = "possible"
	NoMatch  Grade = ""
)

// Evidence is what one field contributed to a score. Detail may contain
// names and identifiers: it is for authorised API callers only and must
// never be logged.
type Evidence struct {
	Field   string  // "identifier:<system>", "name", "birthDate", "gender", "nationality"
	Outcome string  // "agree", "disagree", "partial", "missing", "conflict"
	Detail  string  // e.g. "passport N0123456 vs N7654321"
	Weight  float64 // log2 Bayes factor contributed
}

// Result is the comparison of two records.
type Result struct {
	Score    float64 // posterior probability of a match, 0..1
	Grade    Grade
	Evidence []Evidence
}

// prepared is a record with its derived comparison forms.
type prepared struct {
	rec   Record
	names []nameForm
	ids   []ident
}

func (m *Matcher) prepare(r Record) prepared {
	if r.prep != nil && r.prepBy == m {
		return *r.prep
	}
	r.prep, r.prepBy = nil, nil
	return prepared{rec: r, names: forms(r.Names), ids: m.idents(r.Identifiers)}
}

// Prepare returns r with its comparison form computed: names romanized and
// keyed, identifiers classified. Compare does this for every record it is
// given; a record compared many times (a probe against its candidates, a
// cached candidate against many probes) is prepared once instead, which is
// most of a comparison's cost. The form belongs to this Matcher: another
// one prepares the record again.
func (m *Matcher) Prepare(r Record) Record {
	p := m.prepare(r)
	r.prep, r.prepBy = &p, m
	return r
}

// Compare scores two records.
func (m *Matcher) Compare(a, b Record) Result {
	return m.compare(m.prepare(a), m.prepare(b))
}

func (m *Matcher) compare(a, b prepared) Result {
	total, certainTotal := m.prior, m.prior
	var ev []Evidence
	add := func(e Evidence, countsForCertain bool) {
		e.Weight = round2(e.Weight)
		ev = append(ev, e)
		total += e.Weight
		if countsForCertain {
			certainTotal += e.Weight
		}
	}
	strongID, conflict := false, false
	for _, o := range m.compareIdentifiers(a.ids, b.ids) {
		strongID = strongID || o.strong && o.outcome == "agree"
		conflict = conflict || o.outcome == "conflict"
		add(Evidence{Field: "identifier:" + o.system, Outcome: o.outcome, Detail: o.detail, Weight: o.weight}, !o.doubtful)
	}

	nm, hasNames := m.compareNames(a.names, b.names)
	if hasNames {
		outcome := "partial"
		switch {
		case nm.famLevel == levelDisagree && nm.givLevel == levelDisagree:
			outcome = "disagree"
		case isAgree(nm.famLevel) && isAgree(nm.givLevel):
			outcome = "agree"
		}
		add(Evidence{Field: "name", Outcome: outcome, Detail: nameDetail(nm), Weight: nm.weight}, true)
	} else {
		add(Evidence{Field: "name", Outcome: "missing"}, true)
	}

	dl := m.dateLevel(a.rec.BirthDate, b.rec.BirthDate)
	switch dl {
	case "":
		add(Evidence{Field: "birthDate", Outcome: "missing"}, true)
	default:
		outcome := "partial"
		switch dl {
		case dateExact:
			outcome = "agree"
		case dateDisagree:
			outcome = "disagree"
		}
		add(Evidence{Field: "birthDate", Outcome: outcome, Detail: fmt.Sprintf("%s vs %s (%s)", a.rec.BirthDate, b.rec.BirthDate, dl), Weight: m.cfg.BirthDate[dl].Weight()}, true)
	}

	genderAgree := false
	if ga, gb := knownGender(a.rec.Gender), knownGender(b.rec.Gender); ga != "" && gb != "" {
		if ga == gb {
			genderAgree = true
			add(Evidence{Field: "gender", Outcome: "agree", Detail: ga, Weight: m.cfg.Gender["agree"].Weight()}, true)
		} else {
			add(Evidence{Field: "gender", Outcome: "disagree", Detail: ga + " vs " + gb, Weight: m.cfg.Gender["disagree"].Weight()}, true)
		}
	}
	if na, nb := a.rec.Nationality, b.rec.Nationality; na != "" && nb != "" {
		if na == nb {
			add(Evidence{Field: "nationality", Outcome: "agree", Detail: na, Weight: m.cfg.Nationality["agree"].Weight()}, true)
		} else {
			add(Evidence{Field: "nationality", Outcome: "disagree", Detail: na + " vs " + nb, Weight: m.cfg.Nationality["disagree"].Weight()}, true)
		}
	}

	res := Result{Score: posterior(total), Evidence: ev}
	t := m.cfg.Thresholds
	certainScore := posterior(certainTotal)
	switch {
	case certainScore >= t.Certain && !conflict && (strongID || m.demographicsCertain(nm, hasNames, dl, genderAgree)):
		res.Grade = Certain
	case res.Score >= t.Probable:
		res.Grade = Probable
	case res.Score >= t.Possible:
		res.Grade = Possible
	}
	// A pair kept from certain by a guard reports a score below the certain
	// threshold, so that score order and grade never disagree.
	if res.Grade != Certain && res.Score >= t.Certain {
		res.Score = math.Nextafter(t.Certain, 0)
	}
	res.Score = math.Round(res.Score*1e6) / 1e6
	if res.Grade == Certain && res.Score < t.Certain {
		res.Score = t.Certain
	}
	return res
}

// demographicsCertain applies the guards of Config.Certain to a pair that
// shares no strong identifier: twins (same family name and birth date,
// another given name), siblings and people with common names stay below certain.
func (m *Matcher) demographicsCertain(nm nameMatch, hasNames bool, dateLevel string, genderAgree bool) bool {
	c := m.cfg.Certain
	if !hasNames || !contains(c.BirthDate, dateLevel) || !contains(c.FamilyName, nm.famLevel) || !contains(c.GivenName, nm.givLevel) {
		return false
	}
	if c.RequireGender && !genderAgree {
		return false
	}
	fam := max(m.frequency(nm.a.family.key), m.frequency(nm.b.family.key))
	giv := max(m.frequency(nm.a.given.key), m.frequency(nm.b.given.key))
	if f := fam * giv; c.MaxNameFrequency > 0 && f > c.MaxNameFrequency {
		return false
	}
	return true
}

func isAgree(level string) bool { return level == levelExact || level == levelPhonetic }

func knownGender(g string) string {
	if g == "male" || g == "female" {
		return g
	}
	return ""
}

// posterior turns a match weight (log2 odds) into a probability.
func posterior(w float64) float64 {
	if w > 60 {
		return 1
	}
	p := math.Exp2(w)
	return p / (1 + p)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
