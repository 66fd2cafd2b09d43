package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mekong-fhir/mekong/internal/match"
)

// Pair is one compared candidate pair.
type Pair struct {
	A, B   int // indexes into Set.Records, A < B
	Result match.Result
	Same   bool // the same person
	Hard   bool // different people of one hard-negative group
}

// Report is the engine-level evaluation of one split: candidates come from
// the blocking keys (every record's ProbeKeys looked up among the others'
// Keys), then Compare grades them.
type Report struct {
	Records, Persons  int
	TruePairs         int // pairs of records of the same person
	Candidates        int // distinct candidate pairs from blocking
	TrueCandidates    int // true pairs found by blocking
	MaxCandidates     int // most candidates of one probe
	NoSharedID        float64
	Hard              int // hard-negative pairs among candidates
	HardFalseCertain  int
	HardFalseProbable int
	Lost              []string
	Labelled          int
	// By grade: pairs graded at least that grade, and how many of them are true.
	AtLeast map[match.Grade][2]int
	Exactly map[match.Grade][2]int
	Pairs   []Pair
}

var grades = []match.Grade{match.Certain, match.Probable, match.Possible}

func rank(g match.Grade) int {
	switch g {
	case match.Certain:
		return 3
	case match.Probable:
		return 2
	case match.Possible:
		return 1
	}
	return 0
}

// Evaluate runs the matcher over the set.
func Evaluate(m *match.Matcher, set *Set) *Report {
	recs := set.Records
	rep := &Report{Records: len(recs), Lost: set.Lost, Labelled: set.Labelled,
		AtLeast: map[match.Grade][2]int{}, Exactly: map[match.Grade][2]int{}}
	index := map[string][]int{}
	for i, r := range recs {
		for _, k := range m.Keys(r.Record) {
			index[k] = append(index[k], i)
		}
	}
	seen := map[[2]int]bool{}
	for i, r := range recs {
		mine := map[int]bool{}
		for _, k := range m.ProbeKeys(r.Record) {
			for _, j := range index[k] {
				if j != i {
					mine[j] = true
				}
			}
		}
		rep.MaxCandidates = max(rep.MaxCandidates, len(mine))
		for j := range mine {
			a, b := min(i, j), max(i, j)
			seen[[2]int{a, b}] = true
		}
	}
	keys := make([][2]int, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		a, b := recs[k[0]], recs[k[1]]
		p := Pair{A: k[0], B: k[1], Result: m.Compare(a.Record, b.Record), Same: a.Person == b.Person}
		p.Hard = !p.Same && a.Group != "" && a.Group == b.Group
		rep.Pairs = append(rep.Pairs, p)
		rep.Candidates++
		if p.Same {
			rep.TrueCandidates++
		}
		if p.Hard {
			rep.Hard++
			switch p.Result.Grade {
			case match.Certain:
				rep.HardFalseCertain++
			case match.Probable:
				rep.HardFalseProbable++
			}
		}
		g := p.Result.Grade
		if g != match.NoMatch {
			e := rep.Exactly[g]
			e[0]++
			if p.Same {
				e[1]++
			}
			rep.Exactly[g] = e
		}
		for _, at := range grades {
			if rank(g) >= rank(at) {
				e := rep.AtLeast[at]
				e[0]++
				if p.Same {
					e[1]++
				}
				rep.AtLeast[at] = e
			}
		}
	}
	// True pairs and persons sharing no identifier across their records.
	byPerson := map[string][]int{}
	for i, r := range recs {
		byPerson[r.Person] = append(byPerson[r.Person], i)
	}
	rep.Persons = len(byPerson)
	multi, none := 0, 0
	for _, idx := range byPerson {
		n := len(idx)
		rep.TruePairs += n * (n - 1) / 2
		if n < 2 {
			continue
		}
		multi++
		if !sharesIdentifier(recs, idx) {
			none++
		}
	}
	if multi > 0 {
		rep.NoSharedID = float64(none) / float64(multi)
	}
	return rep
}

// sharesIdentifier reports whether any two of the records carry the same
// non-doubtful identifier (system and value).
func sharesIdentifier(recs []Labelled, idx []int) bool {
	seen := map[string]int{}
	for _, i := range idx {
		for _, id := range recs[i].Identifiers {
			if id.Doubtful {
				continue
			}
			k := id.System + "|" + id.Value
			if j, ok := seen[k]; ok && j != i {
				return true
			}
			seen[k] = i
		}
	}
	return false
}

// Precision of the pairs graded at least g; Recall over all true pairs.
func (r *Report) Precision(g match.Grade) float64 {
	e := r.AtLeast[g]
	if e[0] == 0 {
		return 1
	}
	return float64(e[1]) / float64(e[0])
}

// Recall is the share of all true pairs graded at least g.
func (r *Report) Recall(g match.Grade) float64 {
	if r.TruePairs == 0 {
		return 0
	}
	return float64(r.AtLeast[g][1]) / float64(r.TruePairs)
}

// Print writes the report as text tables.
func (r *Report) Print(w io.Writer, title string) {
	fmt.Fprintf(w, "== %s\n", title)
	fmt.Fprintf(w, "records %d of %d labelled (%d lost by the decoders), persons %d, persons with 2+ records sharing no identifier %.0f%%\n",
		r.Records, r.Labelled, len(r.Lost), r.Persons, 100*r.NoSharedID)
	fmt.Fprintf(w, "true pairs %d; blocking: %d candidate pairs, %d true (blocking recall %.3f), at most %d candidates per probe\n",
		r.TruePairs, r.Candidates, r.TrueCandidates, float64(r.TrueCandidates)/float64(max(r.TruePairs, 1)), r.MaxCandidates)
	fmt.Fprintf(w, "%-12s %7s %7s %10s %8s   %-9s %7s %10s\n", "grade >=", "pairs", "true", "precision", "recall", "exactly", "pairs", "precision")
	for _, g := range grades {
		a, e := r.AtLeast[g], r.Exactly[g]
		pe := 1.0
		if e[0] > 0 {
			pe = float64(e[1]) / float64(e[0])
		}
		fmt.Fprintf(w, "%-12s %7d %7d %10.4f %8.4f   %-9s %7d %10.4f\n", g, a[0], a[1], r.Precision(g), r.Recall(g), g, e[0], pe)
	}
	fmt.Fprintf(w, "hard negatives (twins, siblings, common names) among candidates: %d; graded certain: %d; graded probable: %d\n",
		r.Hard, r.HardFalseCertain, r.HardFalseProbable)
	for _, l := range r.Lost {
		fmt.Fprintf(w, "  lost: %s\n", l)
	}
}

// Mistakes lists the false certain pairs and the true pairs below probable,
// for tuning (names and identifiers are synthetic: printing them is fine).
func (r *Report) Mistakes(w io.Writer, set *Set, limit int) {
	n := 0
	for _, p := range r.Pairs {
		bad := !p.Same && p.Result.Grade == match.Certain || p.Same && rank(p.Result.Grade) < rank(match.Probable)
		if !bad || n >= limit {
			continue
		}
		n++
		a, b := set.Records[p.A], set.Records[p.B]
		fmt.Fprintf(w, "%s same=%v %s %.4f\n  %s [%s]\n  %s [%s]\n", strings.Repeat("-", 4), p.Same, p.Result.Grade, p.Result.Score,
			a.ID, strings.Join(a.Noise, ","), b.ID, strings.Join(b.Noise, ","))
		for _, e := range p.Result.Evidence {
			fmt.Fprintf(w, "    %-60s %-8s %6.2f %s\n", e.Field, e.Outcome, e.Weight, e.Detail)
		}
	}
	// True pairs that blocking never proposed.
	found := map[[2]int]bool{}
	for _, p := range r.Pairs {
		found[[2]int{p.A, p.B}] = true
	}
	for i := range set.Records {
		for j := i + 1; j < len(set.Records); j++ {
			if set.Records[i].Person == set.Records[j].Person && !found[[2]int{i, j}] {
				a, b := set.Records[i], set.Records[j]
				fmt.Fprintf(w, "---- not blocked together: %s %v %v [%s]\n     %s %v %v [%s]\n", a.ID, a.Names, a.BirthDate, strings.Join(a.Noise, ","),
					b.ID, b.Names, b.BirthDate, strings.Join(b.Noise, ","))
			}
		}
	}
}
