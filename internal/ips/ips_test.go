// Documents checked against the IPS 2.0 rules
// (http://hl7.org/fhir/uv/ips/STU2/StructureDefinition-Bundle-uv-ips.html,
// StructureDefinition-Composition-uv-ips.html, Empty-Sections-and-Missing-Data.html,
// Privacy-and-Security-Considerations.html) and kept as golden files
// (go test ./internal/ips -update rewrites them).
package ips

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden documents under testdata/golden")

const (
	testBase   = "http://mekong.test/fhir"
	labelHIV   = "http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV"
	labelR     = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R"
	labelV     = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|V"
	labelTB    = "https://mekong-fhir.github.io/CodeSystem/sensitivity|TB"
	testDocID  = "0193f4a0-7c1e-7000-8000-00000000a11c"
	testAuthor = "Poipet referral clinic <gateway>"
)

var testTime = time.Date(2026, 3, 20, 3, 4, 5, 0, time.UTC)

// fixture is a testdata/inputs file: what the rest layer would hand Build.
type fixture struct {
	Patient   json.RawMessage   `json:"patient"`
	Linked    []json.RawMessage `json:"linked"`
	Truncated map[string]bool   `json:"truncated"`
	Limit     int               `json:"limit"`
	Resources []json.RawMessage `json:"resources"`
}

// loadInput reads a fixture; resources carrying one of hide are left out,
// as the store's Access leaves them out for a caller without the label.
func loadInput(t *testing.T, name string, hide ...string) Input {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "inputs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	in := Input{
		Base: testBase, Truncated: f.Truncated, Limit: f.Limit,
		Restricted: []string{labelHIV, labelR, labelV},
		Author:     Organization{Name: testAuthor, Identifier: "https://terms.sil-th.org/id/th-moph-hcode|10670"},
		ID:         testDocID, Time: testTime,
	}
	in.Patient = Resource{Type: "Patient", ID: idOf(t, f.Patient), Content: f.Patient}
	for _, l := range f.Linked {
		in.Linked = append(in.Linked, Resource{Type: "Patient", ID: idOf(t, l), Content: l})
	}
	for _, r := range f.Resources {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Meta         struct {
				Security []struct{ System, Code string } `json:"security"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(r, &head); err != nil {
			t.Fatal(err)
		}
		hidden := false
		for _, l := range head.Meta.Security {
			hidden = hidden || slices.Contains(hide, l.System+"|"+l.Code)
		}
		if !hidden {
			in.Resources = append(in.Resources, Resource{Type: head.ResourceType, ID: head.ID, Content: r})
		}
	}
	return in
}

func idOf(t *testing.T, raw []byte) string {
	var h struct{ ID string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.ID
}

// goldenCases are the documents kept under testdata/golden.
var goldenCases = []struct {
	name, input string
	hide        []string
}{
	{name: "sokha", input: "sokha"},
	{name: "sokha-without-hiv-tb", input: "sokha", hide: []string{labelHIV, labelR}},
	{name: "unnamed", input: "unnamed"},
	{name: "unknown-name", input: "unknown-name"},
	{name: "linked", input: "linked"},
}

func build(t *testing.T, in Input) (*Document, map[string]any) {
	t.Helper()
	doc, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(doc.JSON, &m); err != nil {
		t.Fatalf("the document is not JSON: %v\n%s", err, doc.JSON)
	}
	return doc, m
}

func TestGoldenDocuments(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			doc, _ := build(t, loadInput(t, c.input, c.hide...))
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, doc.JSON, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/ips -update)", err)
			}
			if d := cmp.Diff(string(want), pretty.String()); d != "" {
				t.Errorf("%s (-want +got):\n%s", path, d)
			}
		})
	}
}

// The document's frame: a document Bundle with identifier and timestamp,
// the Composition first (type 60591-5, final, date, author, title, subject
// -> the Patient entry, confidentiality), the Bundle's high-water mark.
func TestDocumentFrame(t *testing.T) {
	for _, c := range []struct {
		hide []string
		conf string
	}{{nil, "R"}, {[]string{labelHIV, labelR}, "N"}} {
		doc, m := build(t, loadInput(t, "sokha", c.hide...))
		if m["resourceType"] != "Bundle" || m["type"] != "document" || m["timestamp"] != "2026-03-20T03:04:05.000Z" {
			t.Fatalf("Bundle: %v %v %v", m["resourceType"], m["type"], m["timestamp"])
		}
		if id := m["identifier"].(map[string]any); id["system"] != "urn:ietf:rfc:3986" || id["value"] != "urn:uuid:"+testDocID {
			t.Errorf("identifier %v", id)
		}
		sec := m["meta"].(map[string]any)["security"].([]any)
		if len(sec) != 1 || sec[0].(map[string]any)["code"] != c.conf || sec[0].(map[string]any)["system"] != Confidentiality {
			t.Errorf("meta.security %v, want %s", sec, c.conf)
		}
		entries := m["entry"].([]any)
		comp := entries[0].(map[string]any)["resource"].(map[string]any)
		if comp["resourceType"] != "Composition" || comp["status"] != "final" || comp["date"] != "2026-03-20T03:04:05.000Z" ||
			comp["title"] != "International Patient Summary" || comp["confidentiality"] != c.conf || doc.Confidentiality != c.conf {
			t.Errorf("Composition %v", comp)
		}
		coding := comp["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if coding["system"] != "http://loinc.org" || coding["code"] != "60591-5" {
			t.Errorf("Composition.type %v", coding)
		}
		full := map[string]map[string]any{}
		for _, e := range entries {
			e := e.(map[string]any)
			full[e["fullUrl"].(string)] = e["resource"].(map[string]any)
		}
		if p := full[comp["subject"].(map[string]any)["reference"].(string)]; p == nil || p["resourceType"] != "Patient" || p["id"] != "sokha" {
			t.Errorf("subject does not resolve to the Patient entry: %v", comp["subject"])
		}
		author := full[comp["author"].([]any)[0].(map[string]any)["reference"].(string)]
		if author == nil || author["resourceType"] != "Organization" || author["name"] != testAuthor {
			t.Errorf("author does not resolve to the configured Organization: %v", comp["author"])
		}
	}
}

// The sections (IPS 2.0 Composition slices): required ones always,
// empty with emptyReason unavailable; the others from the data.
func TestSections(t *testing.T) {
	sections := func(m map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		comp := m["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		for _, s := range comp["section"].([]any) {
			s := s.(map[string]any)
			code := s["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
			if out[code] != nil {
				t.Errorf("section %s twice", code)
			}
			out[code] = s
		}
		return out
	}
	entryIDs := func(s map[string]any) []string {
		var ids []string
		for _, e := range s["entry"].([]any) {
			ref := e.(map[string]any)["reference"].(string)
			ids = append(ids, ref[strings.LastIndex(ref, "/")+1:])
		}
		return ids
	}
	_, m := build(t, loadInput(t, "sokha"))
	got := sections(m)
	want := map[string][]string{
		"11369-6": {"imm-2", "imm-1"}, // newest first; the entered-in-error one left out
		"30954-2": {"covid-pcr", "hiv-vl", "tb-xpert"},
		"8716-3":  {"bp", "weight"}, // weight by its LOINC code, without a category
		"29762-2": {"smoking"},
		"10162-6": {"pregnancy"},
	}
	for code, ids := range want {
		if s := got[code]; s == nil || !slices.Equal(entryIDs(s), ids) {
			t.Errorf("section %s: %v, want %v", code, s, ids)
		}
	}
	for _, code := range []string{"11450-4", "48765-2", "10160-0"} {
		s := got[code]
		if s == nil || s["entry"] != nil {
			t.Fatalf("required section %s: %v", code, s)
		}
		er := s["emptyReason"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if er["system"] != ListEmptyReason || er["code"] != "unavailable" {
			t.Errorf("section %s emptyReason %v", code, er)
		}
	}
	if len(got) != 8 {
		t.Errorf("%d sections, want 8", len(got))
	}
	if bytes.Contains(mustJSON(t, m), []byte("absent-unknown")) {
		t.Error("the removed IPS absent-unknown code system is used")
	}
	_, m = build(t, loadInput(t, "unnamed"))
	if got := sections(m); len(got) != 3 || got["11450-4"] == nil || got["48765-2"] == nil || got["10160-0"] == nil {
		t.Errorf("an empty record has sections %v, want the three required", got)
	}
}

// Every section (and the Composition and Organization) has a narrative
// that is well-formed XHTML whose data is text: names and values holding
// markup are escaped, never elements.
func TestNarrativeIsEscapedXHTML(t *testing.T) {
	for _, c := range goldenCases {
		_, m := build(t, loadInput(t, c.input, c.hide...))
		var divs []string
		for _, e := range m["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			if r["resourceType"] == "Composition" {
				for _, s := range r["section"].([]any) {
					text, _ := s.(map[string]any)["text"].(map[string]any)
					if text == nil || text["status"] != "generated" {
						t.Fatalf("%s: section without narrative: %v", c.name, s)
					}
					divs = append(divs, text["div"].(string))
				}
			}
			if r["resourceType"] == "Composition" || r["resourceType"] == "Organization" {
				divs = append(divs, r["text"].(map[string]any)["div"].(string))
			}
		}
		for _, div := range divs {
			elements, text := parseXHTML(t, div)
			for _, el := range elements {
				if !allowedElements[el] {
					t.Errorf("%s: element <%s> in %s", c.name, el, div)
				}
			}
			if strings.Contains(div, "<script") {
				t.Errorf("%s: unescaped markup in %s", c.name, div)
			}
			_ = text
		}
		if c.input == "sokha" {
			all := strings.Join(divs, "")
			for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "weighed &lt;clothed&gt; &amp; shoeless", "Poipet referral clinic &lt;gateway&gt;"} {
				if !strings.Contains(all, want) {
					t.Errorf("%s: narrative lacks %q", c.name, want)
				}
			}
		}
	}
}

// allowedElements are the XHTML elements Mekong's narratives use, all in
// FHIR's allowed set (https://hl7.org/fhir/R4/narrative.html#xhtml).
var allowedElements = map[string]bool{"div": true, "p": true, "b": true, "h3": true, "ul": true, "li": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true}

// parseXHTML checks div is one well-formed XHTML div and returns its
// element names and its text.
func parseXHTML(t *testing.T, div string) ([]string, string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(div))
	var names []string
	var text strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("narrative is not well-formed XML: %v\n%s", err, div)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (tk.Name.Local != "div" || tk.Name.Space != "http://www.w3.org/1999/xhtml") {
				t.Fatalf("narrative root is %v, want an XHTML div", tk.Name)
			}
			depth++
			names = append(names, tk.Name.Local)
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tk)
		}
	}
	return names, text.String()
}

// Clinicians read the narrative: dates with the month in letters, vaccines
// with their dose, results with values and units, and both codes of a
// vaccine (the source's and the international one).
func TestNarrativeContent(t *testing.T) {
	_, m := build(t, loadInput(t, "sokha"))
	text := map[string]string{}
	comp := m["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	for _, s := range comp["section"].([]any) {
		s := s.(map[string]any)
		_, tx := parseXHTML(t, s["text"].(map[string]any)["div"].(string))
		text[s["title"].(string)] = tx
	}
	for title, wants := range map[string][]string{
		"Immunizations": {"COVID-19 IV Non-US Vaccine (CoronaVac, Sinovac) (CVX 511, ICD-11 XM7HT3, THCC C11)", "2 Jul 2021", "1 of 2",
			"COVID-19", "J202106018", "Mae Sot Hospital", "30 Jul 2021 10:15 UTC+07:00", "2 of 2", "completed"},
		"Diagnostic Results": {"SARS-CoV-2 RT-PCR (LOINC 94500-6)", "14 Mar 2026 09:30 UTC+07:00", "Not detected",
			"HIV-1 viral load", "< 40 copies/mL (Normal)", "10 Feb 2026", "M. tuberculosis detected", "preliminary"},
		"Vital Signs":          {"Systolic blood pressure: 118 mmHg; Diastolic blood pressure: 76 mmHg", "52.5 kg", "14 Mar 2026"},
		"Social History":       {"Never smoked tobacco", "Mar 2026"},
		"History of Pregnancy": {"Not pregnant"},
		"Problem List":         {"no information available"},
	} {
		for _, w := range wants {
			if !strings.Contains(text[title], w) {
				t.Errorf("%s narrative lacks %q:\n%s", title, w, text[title])
			}
		}
	}
	if strings.Contains(text["Immunizations"], "2020") {
		t.Error("the entered-in-error immunization is in the narrative")
	}
	// A code the source sent bare is named from Mekong's crosswalks.
	_, m = build(t, loadInput(t, "linked"))
	comp = m["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	_, tx := parseXHTML(t, comp["section"].([]any)[3].(map[string]any)["text"].(map[string]any)["div"].(string))
	if !strings.Contains(tx, "(THCC C11, CVX 511)") || !strings.Contains(tx, "early 2021") {
		t.Errorf("linked immunization narrative: %s", tx)
	}
}

func TestFormatDate(t *testing.T) {
	for in, want := range map[string]string{
		"2021":                        "2021",
		"2021-07":                     "Jul 2021",
		"2021-07-02":                  "2 Jul 2021",
		"2021-12-25T00:00:00Z":        "25 Dec 2021 00:00 UTC",
		"2026-03-14T09:30:00+07:00":   "14 Mar 2026 09:30 UTC+07:00",
		"2026-03-14T09:30:00.5-05:00": "14 Mar 2026 09:30 UTC-05:00",
		"2021-13-01":                  "2021-13-01",
		"garbage":                     "garbage",
		"":                            "",
	} {
		if got := formatDate(in); got != want {
			t.Errorf("formatDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
