// Package mappingtest holds the checks every mapping test applies: resources
// are valid FHIR R4 and meet the Mekong profiles they declare, and golden
// files are compared with cmp.Diff and refreshed with -update.
package mappingtest

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/profile"
	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Update rewrites golden files instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite golden files under testdata")

var (
	setup   sync.Once
	parser  *resource.Parser
	prof    *profile.Set
	initErr error
)

func load() {
	parser, initErr = resource.NewParser()
	if initErr != nil {
		return
	}
	// The profiles live in conformance/profiles; they are read from disk so
	// that mappings/ imports nothing outside fhir/.
	_, file, _, _ := runtime.Caller(0)
	files, err := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "conformance", "profiles", "*.json"))
	if err != nil {
		initErr = err
		return
	}
	var sds [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			initErr = err
			return
		}
		sds = append(sds, b)
	}
	prof, initErr = profile.NewSet(sds...)
}

// CheckBundle fails t unless the Bundle and each of its resources are valid
// R4 and every resource meets the profiles it declares. It returns the
// number of resources that declared a profile, so a test can insist that the
// profiles were actually exercised.
func CheckBundle(t testing.TB, bundle []byte) int {
	t.Helper()
	setup.Do(load)
	if initErr != nil {
		t.Fatal(initErr)
	}
	if _, err := parser.Parse(bundle); err != nil {
		t.Fatalf("Bundle is not valid R4: %v", err)
	}
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	profiled := 0
	for _, e := range b.Entry {
		if _, err := parser.Parse(e.Resource); err != nil {
			t.Errorf("%s: not valid R4: %v", e.FullURL, err)
		}
		var head struct {
			Meta struct {
				Profile []string `json:"profile"`
			} `json:"meta"`
		}
		_ = json.Unmarshal(e.Resource, &head)
		if len(head.Meta.Profile) > 0 {
			profiled++
		}
		for _, is := range prof.CheckDeclared(e.Resource) {
			t.Errorf("%s: profile: %s (at %v)", e.FullURL, is.Diagnostics, is.Expression)
		}
	}
	return profiled
}

// Golden compares got with the golden file at path ("(-want +got)"), or
// writes it when the test runs with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// CheckRows compares a decoder's rejects or warnings with want: the same
// count and, in order, the same file, row and field, and a reason that
// contains want's (an empty want reason matches any).
func CheckRows(t testing.TB, what string, got, want []mapping.Reject) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.File != w.File || g.Row != w.Row || g.Field != w.Field || !strings.Contains(g.Reason, w.Reason) {
			t.Errorf("%s %d = %+v, want %+v", what, i, g, w)
		}
	}
}
