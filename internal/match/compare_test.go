package match

import (
	"strings"
	"testing"
)

func matcher(t testing.TB) *Matcher {
	t.Helper()
	m, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func evidence(r Result, field string) (Evidence, bool) {
	for _, e := range r.Evidence {
		if e.Field == field || strings.HasPrefix(e.Field, field+":") && field == "identifier" {
			return e, true
		}
	}
	return Evidence{}, false
}

const (
	passportKHM = "http://hl7.org/fhir/sid/passport-KHM"
	natID       = "https://mekong-fhir.github.io/fhir/sid/khm-national-id"
)

func person(family, given, birth, gender string, ids ...Identifier) Record {
	return Record{Names: []Name{{Family: family, Given: []string{given}}}, BirthDate: birth, Gender: gender, Nationality: "KHM", Identifiers: ids}
}

// TestCompareIdentifiers: issue 11's identifier rules.
func TestCompareIdentifiers(t *testing.T) {
	m := matcher(t)
	base := person("Sok", "Dara", "1990-01-02", "male")
	other := person("Keo", "Vannak", "1971-07-30", "female") // nothing else in common
	cases := []struct {
		name     string
		a, b     []Identifier
		outcome  string
		strongly bool // the identifier alone moves the pair a long way
		grade    Grade
	}{
		{"same passport: strong evidence for", []Identifier{{System: passportKHM, Value: "N0123456"}}, []Identifier{{System: passportKHM, Value: "n 0123-456"}}, "agree", true, Possible},
		{"passport number across systems (43 files without country)", []Identifier{{System: passportKHM, Value: "N0123456"}}, []Identifier{{System: "https://terms.sil-th.org/id/passport", Value: "N0123456"}}, "agree", true, Possible},
		{"TH Core https alias", []Identifier{{System: passportKHM, Value: "N0123456"}}, []Identifier{{System: "https://hl7.org/fhir/sid/passport-KHM", Value: "N0123456"}}, "agree", true, Possible},
		{"different passport: weak evidence against (renewed)", []Identifier{{System: passportKHM, Value: "N0123456"}}, []Identifier{{System: passportKHM, Value: "N7654321"}}, "disagree", false, NoMatch},
		{"different national ID: strong evidence against", []Identifier{{System: natID, Value: "010203045"}}, []Identifier{{System: natID, Value: "010203046"}}, "conflict", false, NoMatch},
		{"doubtful CID shared: weak, never certain", []Identifier{{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457", Doubtful: true}}, []Identifier{{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457"}}, "partial", false, NoMatch},
		{"a CID with a bad check digit is doubtful even unmarked", []Identifier{{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457"}}, []Identifier{{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457"}}, "partial", false, NoMatch},
	}
	for _, c := range cases {
		a, b := base, other
		a.Identifiers, b.Identifiers = c.a, c.b
		r := m.Compare(a, b)
		e, ok := evidence(r, "identifier")
		if !ok || e.Outcome != c.outcome {
			t.Errorf("%s: evidence %+v, want outcome %s", c.name, e, c.outcome)
			continue
		}
		if c.strongly != (e.Weight > 15) {
			t.Errorf("%s: weight %.2f", c.name, e.Weight)
		}
		if r.Grade == Certain {
			t.Errorf("%s: two people who share only an identifier graded certain", c.name)
		}
	}
	// The same passport and the same demographics are certain; a shared
	// doubtful identifier with the same demographics is not made certain by it.
	same := person("Sok", "Dara", "1990-01-02", "male", Identifier{System: passportKHM, Value: "N0123456"})
	if g := m.Compare(same, same).Grade; g != Certain {
		t.Errorf("same passport and demographics: %q", g)
	}
	a := person("Sok", "Dara", "1990-01-01", "male", Identifier{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457", Doubtful: true})
	b := person("Sokh", "Dara", "1990-01-01", "male", Identifier{System: "https://terms.sil-th.org/id/th-cid", Value: "1101700123457"})
	if r := m.Compare(a, b); r.Grade == Certain {
		t.Errorf("a doubtful CID made a common name with a placeholder birth date certain: %+v", r)
	}
	// A national-ID conflict is never certain, whatever else agrees.
	c := same
	c.Identifiers = append(c.Identifiers, Identifier{System: natID, Value: "1"})
	d := same
	d.Identifiers = append(d.Identifiers, Identifier{System: natID, Value: "2"})
	if g := m.Compare(c, d).Grade; g == Certain {
		t.Errorf("national ID conflict graded certain")
	}
}

// TestCompareBirthDates: issue 11's birth-date levels.
func TestCompareBirthDates(t *testing.T) {
	m := matcher(t)
	for _, c := range []struct{ a, b, want string }{
		{"1990-04-17", "1990-04-17", dateExact},
		{"1990-04", "1990-04-17", dateYearMonth},
		{"1990", "1990-04-17", dateYear},
		{"1990-04-05", "1990-05-04", dateTransposed},
		{"1990-04-17", "1991-04-17", dateYearOff},
		{"1990-04-17", "1992-04-17", dateDisagree},
		{"1990-04-17", "1990-05-17", dateDisagree},
		{"1990-01-01", "1990-04-17", dateYear},      // 1 January: a year-only placeholder
		{"1990-04-01", "1990-04-17", dateYearMonth}, // the 1st: a year-month placeholder
		{"1990-01-01", "1990-01-01", dateYear},      // equal placeholders are no exact agreement
		{"1990-02-30", "1990-02-30", ""},            // not a date
		{"", "1990", ""},
	} {
		if got := m.dateLevel(c.a, c.b); got != c.want {
			t.Errorf("%s vs %s: %q, want %q", c.a, c.b, got, c.want)
		}
	}
	// The levels' weights are ordered as their evidence is.
	w := func(l string) float64 { return m.cfg.BirthDate[l].Weight() }
	if !(w(dateExact) > w(dateYearMonth) && w(dateYearMonth) > w(dateYear) && w(dateYear) > 0 && w(dateDisagree) < 0) {
		t.Errorf("birth-date weights out of order")
	}
}

func TestCompareGenderNationality(t *testing.T) {
	m := matcher(t)
	a, b := person("Sok", "Dara", "1990-04-17", "male"), person("Sok", "Dara", "1990-04-17", "female")
	if e, _ := evidence(m.Compare(a, b), "gender"); e.Outcome != "disagree" || e.Weight >= 0 {
		t.Errorf("gender: %+v", e)
	}
	b.Gender = "unknown"
	if _, ok := evidence(m.Compare(a, b), "gender"); ok {
		t.Errorf("unknown gender compared")
	}
	b.Nationality = "THA"
	if e, _ := evidence(m.Compare(a, b), "nationality"); e.Outcome != "disagree" || e.Weight >= 0 {
		t.Errorf("nationality: %+v", e)
	}
}

// TestCompareNames: across scripts, with order swapped and compounds
// joined or apart, the name agrees; a different given name does not.
func TestCompareNames(t *testing.T) {
	m := matcher(t)
	for _, c := range []struct {
		a, b    Name
		outcome string
	}{
		{Name{Family: "SOK", Given: []string{"DARA"}}, Name{Family: "Sokh", Given: []string{"Dara"}}, "agree"},
		{Name{Family: "SOK", Given: []string{"DARA"}}, Name{Family: "សុខ", Given: []string{"ដារ៉ា"}}, "agree"},
		{Name{Family: "SOK", Given: []string{"DARA"}}, Name{Family: "สุข", Given: []string{"ดารา"}}, "agree"},
		{Name{Family: "CHAN", Given: []string{"SREY POV"}}, Name{Family: "DARA", Given: []string{"x"}}, "disagree"},
		{Name{Family: "CHAN", Given: []string{"SREY POV"}}, Name{Family: "Chann", Given: []string{"Sreypov"}}, "agree"},
		{Name{Family: "CHAN", Given: []string{"SREYPOV"}}, Name{Family: "SREY POV", Given: []string{"CHAN"}}, "agree"}, // IOM in Khmer order
		{Name{Text: "Chhun Sophea"}, Name{Family: "Chun", Given: []string{"Sophia"}}, "agree"},
		{Name{Family: "CHHUN SOPHEA"}, Name{Family: "ชุน", Given: []string{"โสภา"}}, "agree"}, // the whole name in one field
		{Name{Family: "PICH", Given: []string{"SOPHEA"}}, Name{Family: "Pech", Given: []string{"Sophal"}}, "partial"},
	} {
		r := m.Compare(Record{Names: []Name{c.a}}, Record{Names: []Name{c.b}})
		if e, _ := evidence(r, "name"); e.Outcome != c.outcome {
			t.Errorf("%+v ~ %+v: %+v, want %s", c.a, c.b, e, c.outcome)
		}
	}
}

// TestHardCases: twins, siblings and the many people called Sok Dara are
// never certain (issue 11); the same person on demographics alone is.
func TestHardCases(t *testing.T) {
	m := matcher(t)
	for _, c := range []struct {
		name string
		a, b Record
		max  Grade
	}{
		{"twins: same family and birth date, another given name", person("Keo", "Vannak", "1994-03-12", "male"), person("Keo", "Visal", "1994-03-12", "male"), Possible},
		{"twins of both sexes", person("Keo", "Vannak", "1994-03-12", "male"), person("Keo", "Bopha", "1994-03-12", "female"), NoMatch},
		{"siblings ten months apart", person("Meas", "Sophal", "1990-03-12", "male"), person("Meas", "Sovann", "1991-01-20", "male"), NoMatch},
		{"siblings", person("Meas", "Sophal", "1990-03-12", "male"), person("Meas", "Piseth", "1993-07-02", "male"), NoMatch},
		{"two Sok Daras born the same day", person("Sok", "Dara", "1990-03-12", "male"), person("Sokh", "Dara", "1990-03-12", "male"), Probable},
		{"two Sok Daras born the same year", person("Sok", "Dara", "1990-03-12", "male"), person("Sok", "Dara", "1990-08-30", "male"), Possible},
		{"twins whose names are a letter apart go to review, never certain", person("Chan", "Sophea", "1994-03-12", "female"), person("Chan", "Sophal", "1994-03-12", "female"), Probable},
	} {
		if g := m.Compare(c.a, c.b).Grade; rank(g) > rank(c.max) {
			t.Errorf("%s: graded %q, at most %q expected", c.name, g, c.max)
		}
	}
	if g := m.Compare(person("Keo", "Vannak", "1994-03-12", "male"), person("កែវ", "វណ្ណៈ", "1994-03-12", "male")).Grade; g != Certain {
		t.Errorf("the same rare name in two scripts and birth date: %q, want certain", g)
	}
	if g := m.Compare(person("Keo", "Vannak", "1994-03-12", "male"), person("Keo", "Vannak", "1994-01-01", "male")).Grade; g != Probable {
		t.Errorf("the same name with a placeholder birth date: %q, want probable", g)
	}
}

// TestTermFrequency: agreeing on a common name is worth less than on a rare one.
func TestTermFrequency(t *testing.T) {
	m := matcher(t)
	common := m.Compare(Record{Names: []Name{{Family: "Sok", Given: []string{"Dara"}}}}, Record{Names: []Name{{Family: "Sok", Given: []string{"Dara"}}}})
	rare := m.Compare(Record{Names: []Name{{Family: "Nhem", Given: []string{"Leakhena"}}}}, Record{Names: []Name{{Family: "Nhem", Given: []string{"Leakhena"}}}})
	ec, _ := evidence(common, "name")
	er, _ := evidence(rare, "name")
	if ec.Weight >= er.Weight-3 {
		t.Errorf("Sok Dara weighs %.2f, Nhem Leakhena %.2f", ec.Weight, er.Weight)
	}
}

// TestScoreOrder: scores are probabilities and agree with the grades.
func TestScoreOrder(t *testing.T) {
	m := matcher(t)
	a := person("Keo", "Vannak", "1994-03-12", "male", Identifier{System: passportKHM, Value: "N1"})
	pairs := []Record{a, person("Keo", "Vannak", "1994-03-12", "male"), person("Keo", "Vannak", "1994-01-01", "male"), person("Keo", "Visal", "1994-03-12", "male"), person("Sam", "Bopha", "1970-01-02", "female")}
	prev := 2.0
	for _, b := range pairs {
		r := m.Compare(a, b)
		if r.Score > prev || r.Score < 0 || r.Score > 1 {
			t.Errorf("score %.6f after %.6f", r.Score, prev)
		}
		if (r.Grade == Certain) != (r.Score >= m.cfg.Thresholds.Certain) {
			t.Errorf("grade %q with score %.6f", r.Grade, r.Score)
		}
		prev = r.Score
	}
}

func rank(g Grade) int {
	return map[Grade]int{Certain: 3, Probable: 2, Possible: 1}[g]
}
