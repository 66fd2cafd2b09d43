package romanize

import (
	"bufio"
	"embed"
	"fmt"
	"strings"
)

// The tables are reviewed data, not code: each file's header cites its sources.
//
//go:embed data/*.tsv
var dataFS embed.FS

type khmerConsonant struct {
	initial, final string
	series         int
}

type thaiConsonant struct{ initial, final, letter string }

type tables struct {
	kmCons   map[rune]khmerConsonant
	kmVowels map[string][2]string // dependent vowel sequence -> (series 1, series 2)
	kmMaxV   int                  // longest vowel sequence, in runes
	kmIndep  map[rune]string
	kmSigns  map[rune]string

	thCons   map[rune]thaiConsonant
	thVowels map[string]string // lead + "|" + follow -> latin
	thIndep  map[string]string
	thSigns  map[rune]string

	phon map[string]string // "latin:x" / "thai:x" / "khmer:x" -> class (for tests and documentation)
}

var tab = mustLoad()

func mustLoad() *tables {
	t := &tables{
		kmCons: map[rune]khmerConsonant{}, kmVowels: map[string][2]string{}, kmIndep: map[rune]string{}, kmSigns: map[rune]string{},
		thCons: map[rune]thaiConsonant{}, thVowels: map[string]string{}, thIndep: map[string]string{}, thSigns: map[rune]string{},
		phon: map[string]string{},
	}
	must(readTSV("data/khmer.tsv", func(f []string) error {
		switch {
		case f[0] == "C" && len(f) == 5:
			s := 1
			if f[4] == "2" {
				s = 2
			}
			t.kmCons[one(f[1])] = khmerConsonant{dash(f[2]), dash(f[3]), s}
		case f[0] == "V" && len(f) == 4:
			t.kmVowels[f[1]] = [2]string{dash(f[2]), dash(f[3])}
			t.kmMaxV = max(t.kmMaxV, len([]rune(f[1])))
		case f[0] == "I" && len(f) == 3:
			t.kmIndep[one(f[1])] = f[2]
		case f[0] == "S" && len(f) == 3:
			t.kmSigns[one(f[1])] = f[2]
		default:
			return fmt.Errorf("bad row %q", f)
		}
		return nil
	}))
	must(readTSV("data/thai.tsv", func(f []string) error {
		switch {
		case f[0] == "C" && len(f) == 5:
			t.thCons[one(f[1])] = thaiConsonant{dash(f[2]), dash(f[3]), dash(f[4])}
		case f[0] == "V" && len(f) == 4:
			t.thVowels[f[1]+"|"+f[2]] = f[3]
		case f[0] == "I" && len(f) == 3:
			t.thIndep[f[1]] = f[2]
		case f[0] == "S" && len(f) == 3:
			t.thSigns[one(f[1])] = f[2]
		default:
			return fmt.Errorf("bad row %q", f)
		}
		return nil
	}))
	must(readTSV("data/phonetic.tsv", func(f []string) error {
		if len(f) != 4 {
			return fmt.Errorf("bad row %q", f)
		}
		for i, script := range []string{"latin", "thai", "khmer"} {
			for _, r := range dash(f[i+1]) {
				t.phon[script+":"+string(r)] = f[0]
			}
		}
		return nil
	}))
	return t
}

func readTSV(name string, row func([]string) error) error {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := row(strings.Split(line, "\t")); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return sc.Err()
}

func one(s string) rune {
	r := []rune(s)
	if len(r) != 1 {
		panic(fmt.Sprintf("romanize: %q is not one character", s))
	}
	return r[0]
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func must(err error) {
	if err != nil {
		panic("romanize: " + err.Error())
	}
}
