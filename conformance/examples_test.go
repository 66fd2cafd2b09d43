package conformance

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/pgtest"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/server"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// invalidExamples are official examples that break R4 rules, with the element
// the OperationOutcome must name.
var invalidExamples = map[string]string{
	// performer may not reference an Encounter (Observation.performer's target profiles).
	"Observation-clinical-gender.json": "Observation.performer[0]",
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	dir := ExamplesDir()
	var files []string
	for _, prefix := range []string{"Patient-", "Immunization-", "Observation-"} {
		m, _ := filepath.Glob(filepath.Join(dir, prefix+"*.json"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		msg := "official FHIR R4 examples not found in " + dir + "; run `make conformance-data`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	sort.Strings(files)
	return files
}

// Every official Patient, Immunization and Observation example (91 files)
// is PUT on each store and read back equal to the input apart from
// meta.versionId and meta.lastUpdated; the one invalid example is rejected
// with an OperationOutcome naming the element.
// https://hl7.org/fhir/R4/http.html#update, https://hl7.org/fhir/R4/validation.html
func TestOfficialExamplesRoundTrip(t *testing.T) {
	files := exampleFiles(t)
	if len(files) != 91 {
		t.Fatalf("found %d example files, want 91 (Patient 22, Observation 64, Immunization 5)", len(files))
	}
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, time.FixedZone("UTC+07:00", 7*3600))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			st := b.Open(t)
			srv := httptest.NewServer(server.New(server.Config{}, rest.New(st, p, reg), st, slog.New(slog.NewTextHandler(io.Discard, nil))))
			defer srv.Close()
			stored := 0
			for _, f := range files {
				name := filepath.Base(f)
				in, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var head struct{ ResourceType, ID string }
				if err := json.Unmarshal(in, &head); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				url := srv.URL + "/fhir/" + head.ResourceType + "/" + head.ID
				status, body := call(t, "PUT", url, in)
				if expr, bad := invalidExamples[name]; bad {
					if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"expression":["`+expr+`"]`) {
						t.Errorf("%s: status %d, body %s; want 422 naming %s", name, status, body, expr)
					}
					if s, _ := call(t, "GET", url, nil); s != http.StatusNotFound {
						t.Errorf("%s: rejected example was stored (GET %d)", name, s)
					}
					continue
				}
				if status != http.StatusCreated {
					t.Errorf("%s: PUT status %d: %s", name, status, body)
					continue
				}
				status, got := call(t, "GET", url, nil)
				if status != http.StatusOK {
					t.Errorf("%s: GET status %d", name, status)
					continue
				}
				if d := cmp.Diff(withoutServerMeta(t, in), withoutServerMeta(t, got)); d != "" {
					t.Errorf("%s: read back differs (-put +got)\n%s", name, d)
				}
				stored++
			}
			if stored != 90 {
				t.Errorf("stored %d examples, want 90", stored)
			}
		})
	}
}

func call(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(string(body)))
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func withoutServerMeta(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	return m
}
