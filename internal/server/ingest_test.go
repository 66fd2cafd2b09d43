package server_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// report reads the Parameters an $ingest answers.
type report struct {
	counts   map[string]int
	rejects  []map[string]any // file, row, field, reason
	failures []string
}

func ingestReport(t *testing.T, r resp) report {
	t.Helper()
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name         string `json:"name"`
			ValueInteger *int   `json:"valueInteger"`
			Part         []struct {
				Name         string `json:"name"`
				ValueString  string `json:"valueString"`
				ValueInteger *int   `json:"valueInteger"`
			} `json:"part"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.ResourceType != "Parameters" {
		t.Fatalf("not a Parameters report (%v): %s", err, r.body)
	}
	rep := report{counts: map[string]int{}}
	for _, pp := range p.Parameter {
		switch {
		case pp.ValueInteger != nil:
			rep.counts[pp.Name] = *pp.ValueInteger
		case pp.Name == "reject":
			m := map[string]any{}
			for _, part := range pp.Part {
				if part.ValueInteger != nil {
					m[part.Name] = *part.ValueInteger
				} else {
					m[part.Name] = part.ValueString
				}
			}
			rep.rejects = append(rep.rejects, m)
		case pp.Name == "failure":
			rep.failures = append(rep.failures, pp.Part[2].ValueString)
		}
	}
	return rep
}

func (a *api) count(path string) int {
	a.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return total(a.t, a, path+sep+"_summary=count")
}

// versions counts every stored version of the three types.
func (a *api) versions() int {
	a.t.Helper()
	n := 0
	for _, typ := range []string{"Patient", "Observation", "Immunization"} {
		n += len(entries(a.t, a.want(a.do("GET", "/"+typ+"/_history?_count=1000", ""), 200).json(a.t)))
	}
	return n
}

func q(s string) string { return url.QueryEscape(s) }

// Issue 6 and https://hl7.org/fhir/R4/http.html#ccreate: each person is a
// transaction of conditional creates, so the first $ingest stores the sample
// and a second one of the same data creates no resource and no version.
func TestIngestStoresAndIsIdempotent(t *testing.T) {
	payloads := samplePayloads(t)
	eachStore(t, func(t *testing.T, a *api) {
		for _, name := range []string{"iom-csv", "th43", "dhis2"} {
			rep := ingestReport(t, a.want(a.send("ingest", payloads[name]), 200))
			if rep.counts["persons"] == 0 || rep.counts["stored"] != rep.counts["persons"] || rep.counts["created"] == 0 ||
				rep.counts["rejected"] != 0 || len(rep.failures) != 0 {
				t.Fatalf("%s: first ingest %v %v", name, rep.counts, rep.failures)
			}
		}
		// 3 IOM + 4 Thai + 2 DHIS2 persons, two of whom are the same migrant
		// in two systems (mappings/mapping/matching_test.go).
		if n := a.count("/Patient"); n != 7 {
			t.Fatalf("%d Patients, want 7", n)
		}
		before := a.versions()
		for _, name := range []string{"iom-csv", "th43-multipart", "dhis2"} {
			rep := ingestReport(t, a.want(a.send("ingest", payloads[name]), 200))
			if rep.counts["created"] != 0 || rep.counts["updated"] != 0 || rep.counts["unchanged"] == 0 || rep.counts["stored"] != rep.counts["persons"] {
				t.Errorf("%s: second ingest %v", name, rep.counts)
			}
		}
		if after := a.versions(); after != before {
			t.Errorf("the second ingest wrote %d versions", after-before)
		}
	})
}

// Issue 6: "a migrant seen by IOM and later by a Thai hospital is one
// Patient with both identifiers": the Thai transaction's conditional create
// finds the IOM Patient by passport, and the Thai identifiers are added to it
// with an update under If-Match (https://hl7.org/fhir/R4/http.html#concurrency).
func TestIngestMatchesAcrossSources(t *testing.T) {
	payloads := samplePayloads(t)
	eachStore(t, func(t *testing.T, a *api) {
		a.want(a.send("ingest", payloads["iom-csv"]), 200)
		rep := ingestReport(t, a.want(a.send("ingest", payloads["th43"]), 200))
		if rep.counts["updated"] != 1 {
			t.Errorf("th43 after IOM: %v, want the one shared Patient updated", rep.counts)
		}
		r := a.want(a.do("GET", "/Patient?identifier="+q("http://hl7.org/fhir/sid/passport-KHM|N01234567"), ""), 200)
		ids := matchIDs(t, r.json(t))
		if len(ids) != 1 {
			t.Fatalf("passport N01234567: %d Patients", len(ids))
		}
		p := a.want(a.do("GET", "/Patient/"+ids[0], ""), 200)
		for _, want := range []string{`"value":"KHM-MHA-2024-0001"`, `"value":"0037651234561"`, `"value":"000245"`, `"family":"สุข"`, `"family":"SOK"`} {
			if !strings.Contains(string(p.body), want) {
				t.Errorf("merged Patient lacks %s", want)
			}
		}
		if p.header.Get("ETag") != `W/"2"` {
			t.Errorf("ETag %s, want version 2 (created by IOM, merged once)", p.header.Get("ETag"))
		}
		// The Thai hospital's results about her point at the same Patient.
		if n := a.count("/Immunization?patient=Patient/" + ids[0]); n == 0 {
			t.Error("the Thai immunizations are not on the merged Patient")
		}
	})
}

// Issue 6, malformed input: each bad row is reported with file, row and
// field, nothing of it is stored, and the file's valid rows are.
func TestIngestRejectsBadRowsAndStoresTheRest(t *testing.T) {
	csv := sample(t, "iom", "testdata", "sample.csv")
	lines := strings.Split(strings.TrimRight(csv, "\n"), "\n")
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	header := strings.Split(lines[0], ",")
	set := func(line, col, v string) string {
		f := strings.Split(line, ",")
		// The site column holds a quoted comma: columns after it shift by one.
		for i, h := range header {
			if h == col {
				if i > 11 {
					i++
				}
				f[i] = v
			}
		}
		return strings.Join(f, ",")
	}
	th43Files := func() map[string]string {
		m := map[string]string{}
		for _, n := range []string{"PERSON.txt", "EPI.txt", "LABFU.txt", "SPECIALPP.txt"} {
			b, _ := os.ReadFile(filepath.Join(th43SampleDir, n))
			m[n] = string(b)
		}
		return m
	}
	epi := th43Files()
	epiLines := strings.Split(strings.TrimRight(epi["EPI.txt"], "\n"), "\n")
	epi["EPI.txt"] = strings.Join(epiLines[:len(epiLines)-1], "\n") + "\n" + epiLines[len(epiLines)-1][:20]
	truncatedEPI, truncatedType := multipartFiles(t, epi)
	dhis := sample(t, "dhis2", "testdata", "sample.json")

	iomCase := "/Patient?identifier=" + q("https://mekong-fhir.github.io/fhir/sid/iom-case-number|")
	cases := []struct {
		name       string
		p          payload
		rejects    []string // "file:row field"
		absent     string   // a search that must find nothing
		patients   int      // Patients stored
		immunizing int      // Immunizations stored, -1 not checked
	}{
		{"bad date", payload{"iom-csv", join(lines[0], lines[1], set(lines[2], "birth_date", "1988-02-30"), lines[3]), "text/csv"},
			[]string{"iom.csv:3 birth_date"}, iomCase + "KHM-MHA-2024-0002", 2, -1},
		{"missing identifier", payload{"iom-csv", join(lines[0], lines[1], set(lines[2], "case_number", ""), lines[3]), "text/csv"},
			[]string{"iom.csv:3 case_number"}, "/Patient?identifier=" + q("http://hl7.org/fhir/sid/passport-KHM|N02345678"), 2, -1},
		{"row with another delimiter", payload{"iom-csv", join(lines[0], lines[1], strings.ReplaceAll(lines[2], ",", ";"), lines[3]), "text/csv"},
			[]string{"iom.csv:3"}, iomCase + "KHM-MHA-2024-0002", 2, -1},
		{"truncated file", payload{"iom-csv", join(lines[0], lines[1], lines[2], lines[3][:60]), "text/csv"},
			[]string{"iom.csv:4"}, iomCase + "KHM-MHA-2024-0003", 2, -1},
		{"unknown code", payload{"iom-csv", join(lines[0], lines[1], lines[2], set(lines[3], "cxr_result", "suspicious")), "text/csv"},
			[]string{"iom.csv:4 cxr_result"}, iomCase + "KHM-MHA-2024-0003", 2, -1},
		{"wrong delimiter", payload{"iom-csv", strings.ReplaceAll(csv, ",", ";"), "text/csv"},
			[]string{"iom.csv:1"}, "", 0, 0},
		{"missing header", payload{"iom-csv", join(lines[1:]...), "text/csv"},
			[]string{"iom.csv:1"}, "", 0, 0},
		{"duplicate row", payload{"iom-csv", join(lines[0], lines[1], lines[2], lines[3], lines[2]), "text/csv"},
			[]string{"iom.csv:5"}, "", 3, 5},
		{"truncated 43 file", payload{"th43", truncatedEPI, truncatedType},
			[]string{"EPI.txt:11"}, "", 4, 9},
		{"DHIS2 unknown attribute UID", payload{"dhis2", strings.Replace(dhis, `"attribute": "KJSZUqQZNRf"`, `"attribute": "AAAAAAAAAAA"`, 1), "application/json"},
			[]string{"payload.json:1 trackedEntities[0].attributes[1].attribute"}, "/Patient?identifier=" + q("http://hl7.org/fhir/sid/passport-KHM|N02345678"), 1, 0},
		{"DHIS2 unknown data element UID", payload{"dhis2", strings.Replace(dhis, `"dataElement": "TgcPEDU5eOb"`, `"dataElement": "sWoqcoByYmD"`, 1), "application/json"},
			[]string{"payload.json:1 trackedEntities[0].enrollments[1].events[0].dataValues[3].dataElement"},
			"/Observation?identifier=" + q("https://mekong-fhir.github.io/fhir/sid/dhis2-khm/event|Y9zetfzrbNh/bNXKhRTxx8F"), 2, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, storetestSQLite(t), serverConfig())
			rep := ingestReport(t, a.want(a.send("ingest", tc.p), 200))
			var got []string
			for _, rj := range rep.rejects {
				s := rj["file"].(string) + ":" + itoaAny(rj["row"])
				if f, ok := rj["field"].(string); ok && f != "" {
					s += " " + f
				}
				got = append(got, s)
				if rj["reason"] == "" {
					t.Errorf("reject without a reason: %v", rj)
				}
			}
			for _, want := range tc.rejects {
				found := false
				for _, g := range got {
					found = found || g == want || (!strings.Contains(want, " ") && strings.HasPrefix(g, want))
				}
				if !found {
					t.Errorf("rejects %v lack %s", got, want)
				}
			}
			if tc.absent != "" {
				if n := a.count(tc.absent); n != 0 {
					t.Errorf("%s: %d stored for the rejected row", tc.absent, n)
				}
			}
			if n := a.count("/Patient"); n != tc.patients {
				t.Errorf("%d Patients stored, want %d (the valid rows)", n, tc.patients)
			}
			if tc.immunizing >= 0 {
				if n := a.count("/Immunization"); n != tc.immunizing {
					t.Errorf("%d Immunizations stored, want %d", n, tc.immunizing)
				}
			}
		})
	}
}

// 43-file exports in TIS-620 (domain.md §4.1) are stored with their Thai
// names intact.
func TestIngestTIS620(t *testing.T) {
	files := map[string]string{}
	for _, n := range []string{"PERSON.txt", "EPI.txt"} {
		b, err := os.ReadFile(filepath.Join(th43SampleDir, n))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := charmap.Windows874.NewEncoder().Bytes(b)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = string(enc)
	}
	body, ct := multipartFiles(t, files)
	a := newAPI(t, storetestSQLite(t), serverConfig())
	rep := ingestReport(t, a.want(a.send("ingest", payload{"th43", body, ct}), 200))
	if rep.counts["stored"] != 4 || rep.counts["rejected"] != 0 {
		t.Fatalf("TIS-620 export: %v %v", rep.counts, rep.rejects)
	}
	if n := a.count("/Patient?family:exact=" + q("สุข")); n != 1 {
		t.Errorf("Thai family name not found after a TIS-620 ingest (%d)", n)
	}
}

func itoaAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// https://hl7.org/fhir/R4/http.html#ccreate: a conditional create whose
// criteria match several resources is 412, and a transaction fails as a
// whole (https://hl7.org/fhir/R4/http.html#trules). A person whose
// identifiers match two stored Patients is reported and nothing of them is
// stored; the other persons of the file are.
func TestIngestReportsRefusedTransaction(t *testing.T) {
	a := newAPI(t, storetestSQLite(t), serverConfig())
	a.want(a.do("PUT", "/Patient/by-case", `{"resourceType":"Patient","id":"by-case",
	  "identifier":[{"system":"https://mekong-fhir.github.io/fhir/sid/iom-case-number","value":"KHM-MHA-2024-0001"}]}`), 201)
	a.want(a.do("PUT", "/Patient/by-passport", `{"resourceType":"Patient","id":"by-passport",
	  "identifier":[{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N01234567"}]}`), 201)
	rep := ingestReport(t, a.want(a.send("ingest", samplePayloads(t)["iom-csv"]), 200))
	if rep.counts["persons"] != 3 || rep.counts["stored"] != 2 || rep.counts["failed"] != 1 || len(rep.failures) != 1 {
		t.Fatalf("report %v %v", rep.counts, rep.failures)
	}
	if !strings.Contains(rep.failures[0], "match more than one Patient") {
		t.Errorf("failure reason %q does not say why", rep.failures[0])
	}
	if n := a.count("/Observation?identifier=" + q("https://mekong-fhir.github.io/fhir/sid/iom-observation|KHM-MHA-2024-0001/2024-03-05/covid")); n != 0 {
		t.Errorf("%d Observations stored for the refused person", n)
	}
	if n := a.count("/Patient"); n != 4 {
		t.Errorf("%d Patients, want the 2 stored before and the 2 other persons", n)
	}
}
