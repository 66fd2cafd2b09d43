package search

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Derived parameters are served from other parameters' rows at query time
// (issue 15: stop storing them twice). For every Observation of the R4
// examples and of the Synthea data, plus references written every way R4
// allows (absolute, versioned, contained, identifier-only, to a Group),
// the rows a derived parameter would have had are exactly what its
// derivation finds in the rows now stored: no search answer changes.
// https://hl7.org/fhir/R4/observation.html#search (combo-*, patient),
// https://hl7.org/fhir/R4/provenance.html#search (patient).
func TestDerivedParametersMatchExtraction(t *testing.T) {
	derivedReg, err := NewRegistry([]string{"Observation", "Provenance", "Patient"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	fullReg, err := NewRegistry([]string{"Observation", "Provenance", "Patient"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range fullReg.params {
		for code, p := range ps {
			if p.Derived != nil {
				c := *p
				c.Derived = nil
				ps[code] = &c
			}
		}
	}
	bodies := map[string][]byte{}
	files, _ := filepath.Glob("../../.cache/r4-examples/package/Observation-*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = b
	}
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("FHIR R4 examples missing under CI (make conformance-data)")
		}
		t.Log("SKIPPING the R4 examples: run make conformance-data")
	}
	synthea, _ := filepath.Glob("../../../shared/data/synthea-r4/bundle-*.json")
	for _, f := range synthea[:min(20, len(synthea))] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Entry []struct{ Resource json.RawMessage } `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		for i, e := range bundle.Entry {
			if strings.Contains(string(e.Resource[:min(40, len(e.Resource))]), `"Observation"`) {
				bodies[fmt.Sprintf("%s#%d", filepath.Base(f), i)] = e.Resource
			}
		}
	}
	obs := func(subject string) []byte {
		return []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}],"subject":` + subject + `}`)
	}
	for name, subject := range map[string]string{
		"relative":         `{"reference":"Patient/123"}`,
		"versioned":        `{"reference":"Patient/123/_history/4"}`,
		"absolute":         `{"reference":"http://other.example/fhir/Patient/9"}`,
		"absolute group":   `{"reference":"http://other.example/fhir/Group/9"}`,
		"group":            `{"reference":"Group/g1"}`,
		"contained":        `{"reference":"#p"}`,
		"identifier only":  `{"type":"Patient","identifier":{"system":"urn:oid:1.2","value":"N1"}}`,
		"group identifier": `{"type":"Group","identifier":{"system":"urn:oid:1.2","value":"N2"}}`,
		"urn":              `{"reference":"urn:uuid:8a7e1c9e-0000-4000-8000-000000000001"}`,
	} {
		bodies["subject "+name] = obs(subject)
	}
	bodies["provenance"] = []byte(`{"resourceType":"Provenance","recorded":"2026-01-01T00:00:00Z","target":[{"reference":"Patient/1/_history/2"},{"reference":"Observation/2/_history/1"},{"reference":"http://x.example/Patient/3"}],"agent":[{"who":{"display":"x"}}]}`)
	if len(bodies) < 30 {
		t.Fatalf("only %d resources to check", len(bodies))
	}
	for name, body := range bodies {
		m, err := Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		typ := m["resourceType"].(string)
		full, err := fullReg.Extract(typ, m)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := derivedReg.Extract(typ, m)
		if err != nil {
			t.Fatal(err)
		}
		for code, d := range derivations[typ] {
			want, got := rowsOf(full, code), derivedRows(stored, code, d)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: %s.%s (-extracted +derived):\n%s", name, typ, code, diff)
			}
			if len(d.Union) > 0 && len(rowsOf(stored, code)) > 0 {
				t.Errorf("%s: %s still stores rows", name, code)
			}
		}
	}
}

// rowsOf is every row of param (and param:identifier), as comparable text.
func rowsOf(ix *Index, param string) []string {
	var out []string
	add := func(p string, v any) {
		if p == param || p == param+":identifier" {
			out = append(out, strings.TrimPrefix(p, param)+fmt.Sprintf("%+v", v))
		}
	}
	for _, r := range ix.Tokens {
		if r.Code == "" {
			add(r.Param, "text "+r.Text) // text-only rows: compared as texts
			continue
		}
		add(r.Param, TokenRow{System: r.System, Code: r.Code})
		if r.Text != "" {
			add(r.Param, "text "+r.Text)
		}
	}
	for _, r := range ix.Quantities {
		p := r.Param
		r.Param = ""
		add(p, r)
	}
	for _, r := range ix.Composites {
		p := r.Param
		r.Param = ""
		add(p, r)
	}
	for _, r := range ix.Refs {
		p := r.Param
		r.Param = ""
		add(p, r)
	}
	sort.Strings(out)
	return dedupeStrings(out)
}

// derivedRows are the rows the query side finds for a derived parameter.
func derivedRows(ix *Index, param string, d Derivation) []string {
	var out []string
	if len(d.Union) > 0 {
		for _, from := range d.Union {
			for _, r := range rowsOf(ix, from) {
				if !strings.HasPrefix(r, ":identifier") {
					out = append(out, r)
				}
			}
		}
	} else {
		for _, r := range ix.Refs {
			if r.Param == d.From && (r.TargetType == d.Target || (r.URL != "" && ReferenceType(r.URL) == d.Target)) {
				r.Param = ""
				out = append(out, fmt.Sprintf("%+v", r))
			}
		}
		for _, r := range rowsOf(ix, param) {
			if strings.HasPrefix(r, ":identifier") {
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return dedupeStrings(out)
}

func dedupeStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
