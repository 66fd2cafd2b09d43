package readmetest

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

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
