package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/mapping"
)

// Every SNOMED CT result value a source mapping can produce (the targets
// of mappings/terminology/conceptmaps) is shown as words in every
// language, never as a bare code: a clinic worker cannot read
// "707308007" (issue 13, "Test results … values").
func TestEveryMappedResultValueHasWords(t *testing.T) {
	files, err := filepath.Glob("../../mappings/terminology/conceptmaps/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no concept maps: %v", err)
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cm struct {
			Group []struct {
				Target  string `json:"target"`
				Element []struct {
					Code   string `json:"code"`
					Target []struct {
						Code string `json:"code"`
					} `json:"target"`
				} `json:"element"`
			} `json:"group"`
		}
		if err := json.Unmarshal(b, &cm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range cm.Group {
			if g.Target != mapping.SNOMED {
				continue
			}
			for _, e := range g.Element {
				for _, tg := range e.Target {
					if tg.Code == "" {
						continue
					}
					seen++
					for _, l := range Languages {
						o := mapping.Observation{ValueCodeableConcept: &mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.SNOMED, Code: tg.Code}}}}
						if got := valueOf(l.Tag, o); got == tg.Code || got == T(l.Tag, "value.none") {
							t.Errorf("%s: SNOMED %s (for %s) is shown as %q in %s", filepath.Base(f), tg.Code, e.Code, got, l.Tag)
						}
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no SNOMED CT targets found in the concept maps")
	}
}

// A vaccine sent as a bare CVX code (IOM's columns) is named, not shown
// as its number.
func TestBareCVXCodesAreNamed(t *testing.T) {
	for code, want := range map[string]string{"03": "MMR", "19": "BCG", "139": "Td(adult) unspecified formulation"} {
		if got := display(mapping.CodeableConcept{Coding: []mapping.Coding{{System: mapping.CVX, Code: code}}}); got != want {
			t.Errorf("CVX %s is shown as %q, want %q", code, got, want)
		}
	}
}
