package match

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A prepared record compares exactly as the record itself, with the
// matcher that prepared it and with another one (which prepares it again,
// since identifier rules are configuration: a form computed under one
// configuration is never used by another).
func TestPreparedComparesAsTheRecord(t *testing.T) {
	m := matcher(t)
	cfg := DefaultConfig()
	cfg.Thresholds.Certain = 0.999999
	other, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]Record{
		{person("Sok", "Dara", "1990-04-17", "male", Identifier{System: passportKHM, Value: "N0123456"}),
			person("SOKH", "DARA", "1990-04-17", "male", Identifier{System: passportKHM, Value: "N0123456"})},
		{{Names: []Name{{Text: "សុខ ស្រីពៅ"}}, BirthDate: "1990-04"}, {Names: []Name{{Family: "สุข", Given: []string{"ศรีเพา"}}}, BirthDate: "1990-04-17"}},
		{person("Chan", "Sophea", "1988-01-01", "female", Identifier{System: natID, Value: "010203045"}),
			person("Chan", "Sophea", "1988-01-01", "female", Identifier{System: natID, Value: "010203046"})},
	}
	for _, p := range pairs {
		a, b := p[0], p[1]
		pa, pb := m.Prepare(a), m.Prepare(b)
		for _, mm := range []*Matcher{m, other} {
			want := mm.Compare(a, b)
			if d := cmp.Diff(want, mm.Compare(pa, pb)); d != "" {
				t.Errorf("prepared %v / %v (-record +prepared):\n%s", a.Names, b.Names, d)
			}
			if d := cmp.Diff(want, mm.Compare(pa, b)); d != "" {
				t.Errorf("half prepared %v / %v:\n%s", a.Names, b.Names, d)
			}
		}
	}
}
