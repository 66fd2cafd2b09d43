package terminology

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/resource"
)

const (
	thcc  = "https://terms.sil-th.org/core/CodeSystem/cs-thcc-vaccine-code"
	cvx   = "http://hl7.org/fhir/sid/cvx"
	icd11 = "http://id.who.int/icd11/mms"
	lab   = "https://terms.sil-th.org/core/CodeSystem/cs-th-icd10tm-lab"
	loinc = "http://loinc.org"
)

// Every crosswalk is a valid R4 ConceptMap, so the server can serve it as is
// (https://hl7.org/fhir/R4/conceptmap.html).
func TestConceptMapsAreValidR4(t *testing.T) {
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	maps := Default().ConceptMaps()
	if len(maps) < 8 {
		t.Fatalf("only %d ConceptMaps embedded", len(maps))
	}
	for _, b := range maps {
		var cm conceptMap
		if err := json.Unmarshal(b, &cm); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(b); err != nil {
			t.Errorf("%s: %v", cm.ID, err)
		}
		// cmd-1: narrower and inexact mappings need a comment.
		for _, g := range cm.Group {
			for _, e := range g.Element {
				for _, tg := range e.Target {
					if (tg.Equivalence == "narrower" || tg.Equivalence == "inexact") && tg.Comment == "" {
						t.Errorf("%s: %s → %s is %s without a comment", cm.ID, e.Code, tg.Code, tg.Equivalence)
					}
				}
			}
		}
	}
}

// THCC ⇄ CVX ⇄ ICD-11 for COVID-19 (domain.md §4.2 table, §1.5).
func TestVaccineCrosswalk(t *testing.T) {
	tm := Default()
	tests := []struct {
		system, code, target string
		want                 string
		dose                 string
	}{
		{thcc, "CS2", cvx, "511", "2"},
		{thcc, "CI1", cvx, "510", "1"},
		{thcc, "CA3", cvx, "210", "3"},
		{thcc, "CP6", cvx, "208", "6"},
		{thcc, "CM1", cvx, "207", "1"},
		{thcc, "CJ1", cvx, "212", "1"},
		{thcc, "CX2", cvx, "502", "2"},
		{thcc, "CV1", cvx, "505", "1"},
		{thcc, "CN4", cvx, "211", "4"},
		{thcc, "010", cvx, "19", ""},
		{thcc, "D22", cvx, "102", "2"},
		{thcc, "073", cvx, "03", "2"},
		{cvx, "511", icd11, "XM7HT3", ""},
		{cvx, "510", icd11, "XM8866", ""},
		{cvx, "208", icd11, "XM8NQ0", ""},
	}
	for _, tc := range tests {
		ms := tm.Map(tc.system, tc.code, tc.target)
		got, ok := First(ms)
		if !ok || got.Code != tc.want {
			t.Errorf("Map(%s) = %v, want %s", tc.code, ms, tc.want)
		}
		if d := ProductValue(ms, Dose); d != tc.dose {
			t.Errorf("Map(%s) dose = %q, want %q", tc.code, d, tc.dose)
		}
	}
}

// The reverse direction needs the dose to pick CS2 among CS1..CS6, and never
// picks when it cannot tell.
func TestReverseWithDose(t *testing.T) {
	tm := Default()
	got, ok := First(tm.Map(cvx, "511", thcc, Property{Dose, "2"}))
	if !ok || got.Code != "CS2" {
		t.Fatalf("CVX 511 dose 2 → %v, want CS2", got)
	}
	if _, ok := First(tm.Map(cvx, "511", thcc)); ok {
		t.Fatalf("CVX 511 without a dose must be ambiguous")
	}
	// 0743299 → 55277-8 is "wider": reading it backwards would invent precision.
	if ms := tm.Map(loinc, "55277-8", lab); len(ms) != 0 {
		t.Fatalf("reverse through a wider map: %v", ms)
	}
	// 0749300 → 20447-9 is "narrower": backwards it is wider, which is safe.
	got, ok = First(tm.Map(loinc, "20447-9", lab))
	if !ok || got.Code != "0749300" {
		t.Fatalf("20447-9 → %v, want 0749300", got)
	}
	// An explicit export mapping wins over reverse reading.
	got, ok = First(tm.Map(loinc, "56888-1", lab))
	if !ok || got.Code != "0743299" {
		t.Fatalf("56888-1 → %v, want 0743299", got)
	}
}

func TestUnmappedAndUnmatched(t *testing.T) {
	tm := Default()
	if ms := tm.Map(lab, "0800300", loinc); len(ms) != 0 {
		t.Fatalf("0800300 has no mapping, got %v", ms)
	}
	ms := tm.Map(thcc, "LB1", cvx)
	if !Unmatched(ms) {
		t.Fatalf("LB1 (Evusheld) is explicitly unmatched, got %v", ms)
	}
	if _, ok := First(ms); ok {
		t.Fatal("an unmatched code must not translate")
	}
}

// Translate accepts a ConceptMap URL or a source system.
func TestTranslateBySourceOrURL(t *testing.T) {
	tm := Default()
	bySystem := tm.Translate(thcc, "CS1")
	byURL := tm.Translate("https://mekong-fhir.github.io/fhir/ConceptMap/thcc-vaccine-to-cvx", "CS1")
	if diff := cmp.Diff(bySystem, byURL); diff != "" {
		t.Errorf("(-system +url):\n%s", diff)
	}
	if len(bySystem) != 1 || bySystem[0].Concept.Code != "511" {
		t.Fatalf("got %v", bySystem)
	}
}

// https://hl7.org/fhir/R4/conceptmap-operation-translate.html
func TestTranslateParameters(t *testing.T) {
	tm := Default()
	p, err := resource.NewParser()
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []TranslateRequest{
		{System: thcc, Code: "CS2"},
		{System: cvx, Code: "511", Reverse: true},
		{System: lab, Code: "0800300"},
		{System: thcc, Code: "LB1"},
	} {
		ms, err := tm.Lookup(req)
		if err != nil {
			t.Fatal(err)
		}
		body := Parameters(ms)
		if _, err := p.Parse(body); err != nil {
			t.Errorf("%+v: %v\n%s", req, err, body)
		}
	}
	ms, _ := tm.Lookup(TranslateRequest{System: cvx, Code: "511", Reverse: true, TargetSystem: thcc})
	if len(ms) != 6 {
		t.Errorf("reverse CVX 511 → %d THCC codes, want CS1..CS6", len(ms))
	}
	if _, err := tm.Lookup(TranslateRequest{System: thcc}); err == nil {
		t.Error("a request without code must fail")
	}
	if _, err := tm.Lookup(TranslateRequest{URL: "http://example.org/nope", Code: "x"}); err == nil {
		t.Error("an unknown ConceptMap url must fail")
	}
}

func TestExtraConceptMapReplacesEmbedded(t *testing.T) {
	extra := []byte(`{"resourceType":"ConceptMap","id":"cvx-to-icd11","url":"https://example.org/cm","status":"draft",
		"group":[{"source":"http://hl7.org/fhir/sid/cvx","target":"http://id.who.int/icd11/mms","element":[{"code":"511","target":[{"code":"X","equivalence":"equal"}]}]}]}`)
	tm, err := New(extra)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := First(tm.Map(cvx, "511", icd11))
	if got.Code != "X" {
		t.Fatalf("got %v", got)
	}
	if _, err := New([]byte(`{"resourceType":"Patient"}`)); err == nil {
		t.Fatal("a non-ConceptMap must be refused")
	}
}
