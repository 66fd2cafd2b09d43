package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/resource"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/storetest"
)

// SyntheaDir is ../shared/data/synthea-r4 beside the repository (MEKONG_SYNTHEA_DIR overrides).
func SyntheaDir() string {
	if d := os.Getenv("MEKONG_SYNTHEA_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "shared", "data", "synthea-r4")
}

type syntheaResource struct {
	typ, id string
	body    []byte
	raw     map[string]any
}

// loadSynthea reads every Bundle and rewrites urn:uuid references to Type/id
// (each entry's id is its urn:uuid), so the resources load one by one.
func loadSynthea(t *testing.T) []syntheaResource {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(SyntheaDir(), "bundle-*.json"))
	if len(files) == 0 {
		msg := "Synthea bundles not found in " + SyntheaDir()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	var out []syntheaResource
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Entry []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		types := map[string]string{}
		for _, e := range b.Entry {
			var h struct{ ResourceType, ID string }
			json.Unmarshal(e.Resource, &h)
			types[e.FullURL] = h.ResourceType + "/" + h.ID
		}
		for _, e := range b.Entry {
			body := string(e.Resource)
			for urn, ref := range types {
				body = strings.ReplaceAll(body, `"reference":"`+urn+`"`, `"reference":"`+ref+`"`)
				body = strings.ReplaceAll(body, `"reference": "`+urn+`"`, `"reference": "`+ref+`"`)
			}
			m, err := search.Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, syntheaResource{typ: m["resourceType"].(string), id: m["id"].(string), body: []byte(body), raw: m})
		}
	}
	return out
}

// The 100 Synthea Bundles (100 Patients, 13,325 Observations, 1,217
// Immunizations) are loaded on each store and searched; counts by code, by
// patient and by date range equal counts computed from the JSON itself.
func TestSyntheaSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 14,642 resources")
	}
	all := loadSynthea(t)
	zone := time.FixedZone("UTC+07:00", 7*3600)
	p, _ := resource.NewParser()
	reg, err := search.NewRegistry([]string{"Patient", "Immunization", "Observation"}, zone)
	if err != nil {
		t.Fatal(err)
	}
	// Independent expectations.
	byCode := map[string]int{}
	bySubject := map[string]int{}
	obsIn2015, immByVaccine := 0, map[string]int{}
	start2015, end2015 := time.Date(2015, 1, 1, 0, 0, 0, 0, zone), time.Date(2016, 1, 1, 0, 0, 0, 0, zone)
	for _, r := range all {
		switch r.typ {
		case "Observation":
			for _, c := range r.raw["code"].(map[string]any)["coding"].([]any) {
				cm := c.(map[string]any)
				if cm["system"] == "http://loinc.org" {
					byCode[cm["code"].(string)]++
				}
			}
			bySubject[r.raw["subject"].(map[string]any)["reference"].(string)]++
			if s, ok := r.raw["effectiveDateTime"].(string); ok {
				ts, err := time.Parse(time.RFC3339, s)
				if err == nil && !ts.Before(start2015) && ts.Add(time.Second).Compare(end2015) <= 0 {
					obsIn2015++
				}
			}
		case "Immunization":
			for _, c := range r.raw["vaccineCode"].(map[string]any)["coding"].([]any) {
				immByVaccine[c.(map[string]any)["code"].(string)]++
			}
		}
	}
	codes := topKeys(byCode, 3)
	subjects := topKeys(bySubject, 2)
	vaccines := topKeys(immByVaccine, 2)

	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			svc := rest.New(st, p, reg)
			ctx := context.Background()
			// Patients first, then the rest, each by 4 writers: with
			// referential integrity an Observation may not come before
			// its subject.
			var mu sync.Mutex
			var firstErr error
			for _, patients := range []bool{true, false} {
				work := make(chan syntheaResource)
				var wg sync.WaitGroup
				for w := 0; w < 4; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for r := range work {
							if _, err := svc.Update(ctx, rest.Request{Base: "http://mekong.test/fhir", Type: r.typ, ID: r.id, Body: r.body}); err != nil {
								mu.Lock()
								if firstErr == nil {
									firstErr = fmt.Errorf("%s/%s: %w", r.typ, r.id, err)
								}
								mu.Unlock()
							}
						}
					}()
				}
				for _, r := range all {
					if (r.typ == "Patient") == patients {
						work <- r
					}
				}
				close(work)
				wg.Wait()
			}
			if firstErr != nil {
				t.Fatal(firstErr)
			}
			count := func(typ, query string) int {
				t.Helper()
				v, _ := url.ParseQuery(query + "&_summary=count")
				res, err := svc.Search(ctx, rest.Request{Base: "http://mekong.test/fhir", Type: typ, Query: v})
				if err != nil {
					t.Fatalf("%s?%s: %v", typ, query, err)
				}
				var bnd struct{ Total int }
				json.Unmarshal(res.Body, &bnd)
				return bnd.Total
			}
			check := func(typ, query string, want int) {
				t.Helper()
				if got := count(typ, query); got != want {
					t.Errorf("%s?%s: %d, want %d", typ, query, got, want)
				}
			}
			check("Patient", "_lastUpdated=gt2000", 100)
			check("Observation", "_lastUpdated=gt2000", 13325)
			check("Immunization", "_lastUpdated=gt2000", 1217)
			for _, c := range codes {
				check("Observation", "code=http://loinc.org|"+c, byCode[c])
			}
			for _, s := range subjects {
				check("Observation", "subject="+s, bySubject[s])
			}
			check("Observation", "date=2015", obsIn2015)
			for _, v := range vaccines {
				check("Immunization", "vaccine-code=http://hl7.org/fhir/sid/cvx|"+v, immByVaccine[v])
			}
			check("Observation", "code=http://loinc.org|"+codes[0]+"&subject="+subjects[0], countBoth(all, codes[0], subjects[0]))
		})
	}
}

func topKeys(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	return keys[:min(n, len(keys))]
}

func countBoth(all []syntheaResource, code, subject string) int {
	n := 0
	for _, r := range all {
		if r.typ != "Observation" || r.raw["subject"].(map[string]any)["reference"] != subject {
			continue
		}
		for _, c := range r.raw["code"].(map[string]any)["coding"].([]any) {
			if c.(map[string]any)["code"] == code {
				n++
				break
			}
		}
	}
	return n
}
