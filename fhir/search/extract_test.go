package search

import (
	"testing"
	"time"
)

// Index rows are unique per resource: the same coding twice, or the same
// reference reached through two parameters' paths, gives one row.
func TestExtractDedupes(t *testing.T) {
	reg, err := NewRegistry([]string{"Observation"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := Decode([]byte(`{"resourceType":"Observation","status":"final",
	  "code":{"coding":[{"system":"http://loinc.org","code":"94500-6","display":"A"},{"system":"http://loinc.org","code":"94500-6","display":"B"}]},
	  "subject":{"reference":"Patient/p"}}`))
	ix, err := reg.Extract("Observation", res)
	if err != nil {
		t.Fatal(err)
	}
	codes, texts := 0, map[string]bool{}
	for _, tok := range ix.Tokens {
		if tok.Param == "code" && tok.Code == "94500-6" {
			codes++
		}
		if tok.Param == "code" {
			texts[tok.Text] = true
		}
	}
	if codes != 1 || !texts["a"] || !texts["b"] {
		t.Fatalf("code rows %d, texts %v: %+v", codes, texts, ix.Tokens)
	}
	subjects := 0
	for _, r := range ix.Refs {
		if r.Param == "subject" {
			subjects++
		}
	}
	if subjects != 1 {
		t.Fatalf("subject rows %d", subjects)
	}
}
