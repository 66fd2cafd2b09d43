package match

import "testing"

// BenchmarkCompare is the cost of grading one candidate (romanizing both
// records included): $match pays it once per candidate.
func BenchmarkCompare(b *testing.B) {
	m := matcher(b)
	a := Record{Names: []Name{{Family: "SOK", Given: []string{"SREY POV"}}, {Family: "សុខ", Given: []string{"ស្រីពៅ"}}}, BirthDate: "1990-04-17", Gender: "female", Nationality: "KHM",
		Identifiers: []Identifier{{System: passportKHM, Value: "N0123456"}, {System: natID, Value: "010203045"}}}
	c := Record{Names: []Name{{Family: "สุข", Given: []string{"ศรีเพา"}}}, BirthDate: "1990-01-01", Gender: "female", Nationality: "KHM",
		Identifiers: []Identifier{{System: "https://terms.sil-th.org/id/th-cid", Value: "0037651234561"}}}
	for b.Loop() {
		m.Compare(a, c)
	}
}

// BenchmarkKeys is the cost added to every Patient write.
func BenchmarkKeys(b *testing.B) {
	m := matcher(b)
	a := Record{Names: []Name{{Family: "SOK", Given: []string{"SREY POV"}}, {Family: "សុខ", Given: []string{"ស្រីពៅ"}}}, BirthDate: "1990-04-17",
		Identifiers: []Identifier{{System: passportKHM, Value: "N0123456"}, {System: natID, Value: "010203045"}}}
	for b.Loop() {
		m.Keys(a)
	}
}

// BenchmarkComparePrepared is the same comparison with both records
// prepared once (Matcher.Prepare), as $match and the linker compare.
func BenchmarkComparePrepared(b *testing.B) {
	m := matcher(b)
	a := m.Prepare(Record{Names: []Name{{Family: "SOK", Given: []string{"SREY POV"}}, {Family: "សុខ", Given: []string{"ស្រីពៅ"}}}, BirthDate: "1990-04-17", Gender: "female", Nationality: "KHM",
		Identifiers: []Identifier{{System: passportKHM, Value: "N0123456"}, {System: natID, Value: "010203045"}}})
	c := m.Prepare(Record{Names: []Name{{Family: "สุข", Given: []string{"ศรีเพา"}}}, BirthDate: "1990-01-01", Gender: "female", Nationality: "KHM",
		Identifiers: []Identifier{{System: "https://terms.sil-th.org/id/th-cid", Value: "0037651234561"}}})
	for b.Loop() {
		m.Compare(a, c)
	}
}
