package ips

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// FuzzNarrative: whatever text a source system puts in names, codes,
// values, units, dates and notes, the document is JSON and every narrative
// is one well-formed XHTML div of the allowed elements, the text escaped
// (https://hl7.org/fhir/R4/narrative.html#xhtml).
func FuzzNarrative(f *testing.F) {
	f.Add("<script>alert(1)</script>", "&amp;", "]]><x/>", "mm[Hg]", "2021-07-02", "\x00\x1b\uffff")
	f.Add("ចាន់ សុខា", "สวัสดี", "<", ">", "2026-03-14T09:30:00+07:00", "\"'")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, name, text, value, unit, date, note string) {
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		in := Input{Base: testBase, ID: testDocID, Time: testTime, Author: Organization{Name: name, Identifier: text + "|" + value},
			Patient: Resource{Type: "Patient", ID: "p", Content: []byte(fmt.Sprintf(
				`{"resourceType":"Patient","id":"p","name":[{"text":%s},{"family":%s,"given":[%s]}],"birthDate":%s,"identifier":[{"system":%s,"value":%s}]}`,
				q(name), q(text), q(value), q(date), q(unit), q(note)))},
			Resources: []Resource{
				{Type: "Observation", ID: "o", Content: []byte(fmt.Sprintf(
					`{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":%s,"code":%s,"display":%s}],"text":%s},`+
						`"subject":{"reference":"Patient/p"},"effectiveDateTime":%s,"valueQuantity":{"value":1,"unit":%s,"comparator":%s},`+
						`"note":[{"text":%s}],"component":[{"code":{"text":%s},"valueString":%s}],"referenceRange":[{"text":%s}]}`,
					q(unit), q(value), q(name), q(text), q(date), q(unit), q(note), q(note), q(name), q(value), q(text)))},
				{Type: "Immunization", ID: "i", Content: []byte(fmt.Sprintf(
					`{"resourceType":"Immunization","id":"i","status":"not-done","statusReason":{"text":%s},"vaccineCode":{"coding":[{"code":%s}]},`+
						`"patient":{"reference":"Patient/p"},"occurrenceString":%s,"lotNumber":%s,"location":{"display":%s},`+
						`"protocolApplied":[{"doseNumberString":%s,"seriesDosesString":%s,"targetDisease":[{"text":%s}]}]}`,
					q(note), q(value), q(date), q(unit), q(name), q(text), q(value), q(note)))},
			}}
		doc, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(doc.JSON, &m); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		for _, div := range divs(m) {
			els, _ := parseXHTML(t, div)
			for _, el := range els {
				if !allowedElements[el] {
					t.Fatalf("element <%s> in %s", el, div)
				}
			}
			if strings.Count(div, "<div") != 1 {
				t.Fatalf("nested div in %s", div)
			}
		}
	})
}

// divs returns every narrative div of a document.
func divs(v any) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		if d, ok := t["div"].(string); ok {
			out = append(out, d)
		}
		for _, c := range t {
			out = append(out, divs(c)...)
		}
	case []any:
		for _, c := range t {
			out = append(out, divs(c)...)
		}
	}
	return out
}
