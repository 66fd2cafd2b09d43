package readmetest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/devserver"
)

// examples/th43.zip is the README's "ZIP of a hospital export"; it must hold
// exactly the files of examples/th43/, so the two examples cannot drift.
// Rebuild it with: (cd examples && rm th43.zip && zip -X -j th43.zip th43/*.txt)
func TestExamplesTH43ZipHoldsTheTextFiles(t *testing.T) {
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(root, "examples", "th43.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var inZip []string
	for _, f := range zr.File {
		inZip = append(inZip, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(root, "examples", "th43", f.Name))
		if err != nil {
			t.Errorf("th43.zip holds %s, which examples/th43/ does not: %v", f.Name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("th43.zip's %s differs from examples/th43/%s", f.Name, f.Name)
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "examples", "th43", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	sort.Strings(inZip)
	sort.Strings(onDisk)
	if len(inZip) != len(onDisk) {
		t.Errorf("th43.zip holds %v, examples/th43/ %v", inZip, onDisk)
	}
}

// TestREADMEStatesTheSearchLimits: issue 14 item 10 asks for documented
// limits; the README's figures are the ones the server enforces
// (fhir/search/limits.go), so changing one without the other fails here.
func TestREADMEStatesTheSearchLimits(t *testing.T) {
	readme := strings.Join(strings.Fields(readREADME(t)), " ") // line breaks are the editor's
	comma := func(n int) string {
		s := strconv.Itoa(n)
		if len(s) > 3 {
			s = s[:len(s)-3] + "," + s[len(s)-3:]
		}
		return s
	}
	for _, want := range []string{
		fmt.Sprintf("at most %d search parameters", search.MaxParameters),
		fmt.Sprintf("%s comma-separated values of one parameter", comma(search.MaxValuesPerParameter)),
		fmt.Sprintf("%s values in one query", comma(search.MaxValues)),
		fmt.Sprintf("%d `_sort` keys", search.MaxSortKeys),
		fmt.Sprintf("%d `_include`/`_revinclude` parameters", search.MaxIncludes),
		fmt.Sprintf("%d chained or `_has` steps", search.MaxChainDepth),
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not say %q (fhir/search/limits.go)", want)
		}
	}
}
