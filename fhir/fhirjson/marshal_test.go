package fhirjson

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMarshalKeepsURLsAndMarkupReadable(t *testing.T) {
	got := string(MustMarshal(map[string]string{"url": "https://x.org/fhir/Patient?_count=1&_cursor=a", "msg": "a < b > c"}))
	want := `{"msg":"a < b > c","url":"https://x.org/fhir/Patient?_count=1&_cursor=a"}`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestNoHTMLEscapingAnywhere guards issue 14 item 6 across the module: a
// JSON writer added later with plain json.Marshal or an Encoder without
// SetEscapeHTML(false) would bring \u0026 back into links and messages.
func TestNoHTMLEscapingAnywhere(t *testing.T) {
	root := filepath.Join("..", "..")
	marshal := regexp.MustCompile(`\bjson\.(Marshal|MarshalIndent)\(`)
	encoder := regexp.MustCompile(`\bjson\.NewEncoder\(`)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, filepath.Join("fhirjson", "marshal.go")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "//") {
				continue
			}
			if marshal.MatchString(l) {
				t.Errorf("%s:%d: json.Marshal escapes &, < and >; use fhirjson.Marshal", path, i+1)
			}
			if encoder.MatchString(l) && !strings.Contains(strings.Join(lines[i:min(i+4, len(lines))], "\n"), "SetEscapeHTML(false)") {
				t.Errorf("%s:%d: a json.Encoder needs SetEscapeHTML(false)", path, i+1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d Go files seen under %s", n, root)
	}
}
