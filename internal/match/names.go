package match

import (
	"fmt"
	"strings"

	"github.com/hbollon/go-edlib"

	"github.com/mekong-fhir/mekong/internal/match/romanize"
)

// Name comparison levels (config "names.family" and "names.given").
const (
	levelExact    = "exact"    // equal keys
	levelPhonetic = "phonetic" // equal phonetic codes and keys at least names.phoneticMin alike
	levelSimilar  = "similar"  // keys at least names.similar alike (Jaro-Winkler)
	levelDisagree = "disagree"
)

// part is one reading of a family or given name: the joined romanization
// (compound names written apart or joined give the same part), its key and
// its phonetic code.
type part struct {
	plain string // romanized, words joined by spaces
	key   string
	code  string
}

// nameForm is one reading of one name: family and given parts ("" when the
// name lacks one).
type nameForm struct {
	family, given part
}

// Bound on the readings kept per record (names × readings).
const maxForms = 12

// forms computes the name readings of a record.
func forms(names []Name) []nameForm {
	var out []nameForm
	for _, n := range names {
		fam := strings.TrimSpace(n.Family)
		giv := strings.TrimSpace(strings.Join(n.Given, " "))
		if fam == "" && giv == "" {
			// Only text: Khmer order, family first.
			words := strings.Fields(n.Text)
			if len(words) == 0 {
				continue
			}
			fam, giv = words[0], strings.Join(words[1:], " ")
		}
		famR, givR := romanize.Readings(fam), romanize.Readings(giv)
		// The whole name in one field: split it, family first (Khmer order).
		if len(famR) > 0 && len(givR) == 0 && strings.Contains(famR[0], " ") {
			w := strings.Fields(fam)
			fam, giv = w[0], strings.Join(w[1:], " ")
			famR, givR = romanize.Readings(fam), romanize.Readings(giv)
		} else if len(givR) > 0 && len(famR) == 0 && strings.Contains(givR[0], " ") {
			w := strings.Fields(giv)
			fam, giv = w[0], strings.Join(w[1:], " ")
			famR, givR = romanize.Readings(fam), romanize.Readings(giv)
		}
		if len(famR) == 0 {
			famR = []string{""}
		}
		if len(givR) == 0 {
			givR = []string{""}
		}
		// Readings of one name pair up by position (a Thai name's RTGS family with
		// its RTGS given, letter reading with letter reading), plus the first of each.
		for i := 0; i < max(len(famR), len(givR)); i++ {
			f := makePart(famR[min(i, len(famR)-1)])
			g := makePart(givR[min(i, len(givR)-1)])
			if f.key == "" && g.key == "" {
				continue
			}
			nf := nameForm{family: f, given: g}
			dup := false
			for _, o := range out {
				dup = dup || o == nf
			}
			if !dup && len(out) < maxForms {
				out = append(out, nf)
			}
		}
	}
	return out
}

func makePart(plain string) part {
	if plain == "" {
		return part{}
	}
	joined := strings.ReplaceAll(plain, " ", "")
	return part{plain: plain, key: romanize.Key(joined), code: romanize.Code(joined)}
}

// partLevel compares two parts; it returns the level and the Jaro-Winkler
// similarity of their keys, or "" when either part is missing.
func (m *Matcher) partLevel(a, b part) (string, float64) {
	if a.key == "" || b.key == "" {
		return "", 0
	}
	if a.key == b.key {
		return levelExact, 1
	}
	jw := float64(edlib.JaroWinklerSimilarity(a.key, b.key))
	switch {
	case a.code == b.code && jw >= m.cfg.Names.PhoneticMin:
		return levelPhonetic, jw
	case jw >= m.cfg.Names.Similar:
		return levelSimilar, jw
	}
	return levelDisagree, jw
}

// nameLevel returns the level's config entry, with the term-frequency
// adjustment for exact agreement on a known name.
func (m *Matcher) nameWeight(levels Levels, level, key string) float64 {
	l := levels[level]
	if level == levelExact {
		if f, ok := m.cfg.Names.Frequencies[key]; ok && f > l.U {
			l.U = f
		}
	}
	return l.Weight()
}

// nameMatch is the best alignment of two records' names.
type nameMatch struct {
	famLevel, givLevel string
	famJW, givJW       float64
	weight             float64
	swapped            bool
	a, b               nameForm
}

// compareNames tries every pair of name readings, family against family and
// given against given, and crosswise (order swapped: IOM lists write Khmer
// names family-first in the given-name column), and keeps the alignment with
// the highest total weight.
func (m *Matcher) compareNames(fa, fb []nameForm) (nameMatch, bool) {
	best := nameMatch{weight: -1e9}
	found := false
	for _, a := range fa {
		for _, b := range fb {
			for _, swap := range []bool{false, true} {
				bf, bg := b.family, b.given
				if swap {
					bf, bg = bg, bf
				}
				fl, fjw := m.partLevel(a.family, bf)
				gl, gjw := m.partLevel(a.given, bg)
				if fl == "" && gl == "" {
					continue
				}
				// Crosswise, each part is a family name on one side and a given
				// name on the other: it weighs the mean of the two, so that the
				// comparison is the same whichever record is the probe.
				w := 0.0
				if fl != "" {
					w += m.nameWeight(m.cfg.Names.Family, fl, a.family.key)
					if swap {
						w = (w + m.nameWeight(m.cfg.Names.Given, fl, a.family.key)) / 2
					}
				}
				if gl != "" {
					wg := m.nameWeight(m.cfg.Names.Given, gl, a.given.key)
					if swap {
						wg = (wg + m.nameWeight(m.cfg.Names.Family, gl, a.given.key)) / 2
					}
					w += wg
				}
				if w > best.weight {
					best = nameMatch{famLevel: fl, givLevel: gl, famJW: fjw, givJW: gjw, weight: w, swapped: swap, a: a, b: nameForm{family: bf, given: bg}}
					found = true
				}
			}
		}
	}
	return best, found
}

// frequency is the relative frequency of a name key (1 when unknown is not
// assumed: unknown names count as rare).
func (m *Matcher) frequency(key string) float64 {
	if f, ok := m.cfg.Names.Frequencies[key]; ok {
		return f
	}
	return 0
}

func nameDetail(nm nameMatch) string {
	show := func(p part) string {
		if p.plain == "" {
			return "-"
		}
		return p.plain
	}
	s := fmt.Sprintf("%s %s ~ %s %s (family %s", show(nm.a.family), show(nm.a.given), show(nm.b.family), show(nm.b.given), levelOrMissing(nm.famLevel))
	if nm.famLevel != "" && nm.famLevel != levelExact {
		s += fmt.Sprintf(" %.2f", nm.famJW)
	}
	s += ", given " + levelOrMissing(nm.givLevel)
	if nm.givLevel != "" && nm.givLevel != levelExact {
		s += fmt.Sprintf(" %.2f", nm.givJW)
	}
	if nm.swapped {
		s += ", order swapped"
	}
	return s + "; romanized, jaro-winkler on keys)"
}

func levelOrMissing(l string) string {
	if l == "" {
		return "missing"
	}
	return l
}
