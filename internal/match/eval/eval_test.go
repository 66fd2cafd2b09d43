package eval

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/mekong-fhir/mekong/internal/match"
)

var update = flag.Bool("update", false, "regenerate internal/match/testdata/eval")

// The two splits: tune on the first, check on the second, which the
// configuration was never tuned against (a different seed of the same generator).
var splits = []struct {
	name string
	seed uint64
}{{"tune", 1}, {"holdout", 2}}

const dataDir = "../testdata/eval"

// TestFilesUpToDate checks that the committed evaluation files are exactly
// what the generator writes (go test ./internal/match/eval -run TestFilesUpToDate -update
// rewrites them), so the set is reproducible and reviewed as a diff.
func TestFilesUpToDate(t *testing.T) {
	for _, s := range splits {
		dir := filepath.Join(dataDir, s.name)
		files := Generate(s.name, s.seed).Files()
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			d := Generate(s.name, s.seed)
			if err := d.Write(dir); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var onDisk []string
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				onDisk = append(onDisk, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for name := range files {
			want = append(want, name)
		}
		sort.Strings(want)
		sort.Strings(onDisk)
		if len(want) != len(onDisk) {
			t.Fatalf("%s: files %v, generator writes %v (run with -update)", s.name, onDisk, want)
		}
		for name, b := range files {
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("%s/%s differs from the generator's output (run with -update): %v", s.name, name, err)
			}
		}
	}
}

func load(t testing.TB, split string) *Set {
	t.Helper()
	set, err := Load(os.DirFS(filepath.Join(dataDir, split)))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestEvaluationSet checks the set is what issue 11 asks for: at least 300
// records of at least 120 persons per split, decoded by the real mappings,
// at least 40% of persons with several records sharing no identifier, hard
// negatives present.
func TestEvaluationSet(t *testing.T) {
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range splits {
		set := load(t, s.name)
		rep := Evaluate(m, set)
		if rep.Labelled < 300 || rep.Persons < 120 {
			t.Errorf("%s: %d records of %d persons, want >= 300 of >= 120", s.name, rep.Labelled, rep.Persons)
		}
		if rep.NoSharedID < 0.40 {
			t.Errorf("%s: %.2f of persons with several records share no identifier, want >= 0.40", s.name, rep.NoSharedID)
		}
		if rep.Hard < 10 {
			t.Errorf("%s: only %d hard-negative candidate pairs", s.name, rep.Hard)
		}
		if lost := rep.Labelled - rep.Records; lost != 0 {
			t.Errorf("%s: the decoders lost %d records: %v", s.name, lost, rep.Lost)
		}
		// A CID with a bad check digit arrives as a doubtful identifier of its
		// real system (the ingest policy's form, CONTRACTS.md §7).
		bad := 0
		for _, r := range set.Records {
			if !slices.Contains(r.Noise, "bad-cid") {
				continue
			}
			bad++
			if !slices.ContainsFunc(r.Identifiers, func(id match.Identifier) bool {
				return id.Doubtful && id.System == "https://terms.sil-th.org/id/th-cid"
			}) {
				t.Errorf("%s: %s has no doubtful CID: %+v", s.name, r.ID, r.Identifiers)
			}
		}
		if bad == 0 {
			t.Errorf("%s: no record with a bad CID", s.name)
		}
	}
}

// TestTargets holds the matcher to issue 11's targets on both splits:
// certain precision >= 0.995 with no hard negative graded certain, recall of
// true pairs graded probable or better >= 0.90, graded certain >= 0.60.
// make bench-match prints the full tables.
func TestTargets(t *testing.T) {
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range splits {
		rep := Evaluate(m, load(t, s.name))
		if p := rep.Precision(match.Certain); p < 0.995 {
			t.Errorf("%s: certain precision %.4f < 0.995", s.name, p)
		}
		if rep.HardFalseCertain != 0 {
			t.Errorf("%s: %d hard negatives graded certain", s.name, rep.HardFalseCertain)
		}
		if r := rep.Recall(match.Probable); r < 0.90 {
			t.Errorf("%s: recall at probable or better %.4f < 0.90", s.name, r)
		}
		if r := rep.Recall(match.Certain); r < 0.60 {
			t.Errorf("%s: recall at certain %.4f < 0.60", s.name, r)
		}
	}
}

// TestBenchMatch prints the precision/recall tables (make bench-match).
func TestBenchMatch(t *testing.T) {
	if os.Getenv("MEKONG_BENCH_MATCH") == "" {
		t.Skip("set MEKONG_BENCH_MATCH=1 (make bench-match)")
	}
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, s := range splits {
		set := load(t, s.name)
		rep := Evaluate(m, set)
		rep.Print(&out, s.name+" split (seed "+string(rune('0'+s.seed))+")")
		if os.Getenv("MEKONG_BENCH_MATCH_MISTAKES") != "" {
			rep.Mistakes(&out, set, 60)
		}
	}
	os.Stdout.Write(out.Bytes())
}

// TestSymmetric: Compare(a, b) and Compare(b, a) agree on every candidate
// pair of the set (a probe and a stored Patient play either role).
func TestSymmetric(t *testing.T) {
	m, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	set := load(t, "tune")
	for _, p := range Evaluate(m, set).Pairs {
		a, b := set.Records[p.A].Record, set.Records[p.B].Record
		if r := m.Compare(b, a); r.Score != p.Result.Score || r.Grade != p.Result.Grade {
			t.Errorf("%s vs %s: %v %q one way, %v %q the other", a.ID, b.ID, p.Result.Score, p.Result.Grade, r.Score, r.Grade)
		}
	}
}

// TestEveryNoiseType: issue 11 asks for "every noise type above" in the
// evaluation set. The set (both splits) holds records with each of them:
// names in Thai script or swapped into Khmer order, respelled (Sok/Sokh,
// Srey Pov joined as Sreypov) or mistyped, passports renewed or absent
// (undocumented), a CID with a bad check digit, a DHIS2 sex option in
// another case, and each birth-date fault the comparator tolerates. (The
// tune split alone has no transposed day and month; the holdout has 3.)
func TestEveryNoiseType(t *testing.T) {
	kinds := []string{"thai-script", "swapped", "spelling", "typo", "passport-renewed", "undocumented", "bad-cid", "sex-case",
		"birth-year-only", "birth-year-month", "birth-transposed", "birth-year-off"}
	n := map[string]int{}
	for _, s := range splits {
		for _, r := range load(t, s.name).Records {
			for _, k := range r.Noise {
				n[k]++
			}
		}
	}
	for _, k := range kinds {
		if n[k] < 3 {
			t.Errorf("%d records with noise %q, want at least 3 (all: %v)", n[k], k, n)
		}
	}
}
