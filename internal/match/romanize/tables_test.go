package romanize

import (
	"io/fs"
	"strings"
	"testing"
)

// TestTablesCiteSources: issue 11 keeps "the romanization tables as
// reviewed data files with their sources". Each table opens with a comment
// header that cites its sources (a URL) and says when it was reviewed or
// what it follows.
func TestTablesCiteSources(t *testing.T) {
	names, err := fs.Glob(dataFS, "data/*.tsv")
	if err != nil || len(names) < 3 {
		t.Fatalf("tables %v (%v), want khmer, thai and phonetic", names, err)
	}
	for _, n := range names {
		b, err := dataFS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var header []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "#") {
				break
			}
			header = append(header, l)
		}
		h := strings.Join(header, "\n")
		if !strings.Contains(h, "http") {
			t.Errorf("%s: its header cites no source URL:\n%s", n, h)
		}
	}
}
