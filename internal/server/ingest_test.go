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
	warnings []map[string]any // file, row, field, reason
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
		case pp.Name == "reject" || pp.Name == "warning":
			m := map[string]any{}
			for _, part := range pp.Part {
				if part.ValueInteger != nil {
					m[part.Name] = *part.ValueInteger
				} else {
					m[part.Name] = part.ValueString
				}
			}
			if pp.Name == "reject" {
				rep.rejects = append(rep.rejects, m)
			} else {
				rep.warnings = append(rep.warnings, m)
			}
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
		// Issue 11: a bad field costs the person nothing but that field.
		{"missing case number", payload{"iom-csv", join(lines[0], lines[1], set(lines[2], "case_number", ""), lines[3]), "text/csv"},
			[]string{"iom.csv:3 case_number"}, iomCase + "KHM-MHA-2024-0002", 3, -1},
		{"row with another delimiter", payload{"iom-csv", join(lines[0], lines[1], strings.ReplaceAll(lines[2], ",", ";"), lines[3]), "text/csv"},
			[]string{"iom.csv:3"}, iomCase + "KHM-MHA-2024-0002", 2, -1},
		{"truncated file", payload{"iom-csv", join(lines[0], lines[1], lines[2], lines[3][:60]), "text/csv"},
			[]string{"iom.csv:4"}, iomCase + "KHM-MHA-2024-0003", 2, -1},
		{"unknown code", payload{"iom-csv", join(lines[0], lines[1], lines[2], set(lines[3], "cxr_result", "suspicious")), "text/csv"},
			[]string{"iom.csv:4 cxr_result"}, "/Observation?identifier=" + q("https://mekong-fhir.github.io/fhir/sid/iom-observation|KHM-MHA-2024-0003/2024-03-06/cxr"), 3, -1},
		{"wrong delimiter", payload{"iom-csv", strings.ReplaceAll(csv, ",", ";"), "text/csv"},
			[]string{"iom.csv:1"}, "", 0, 0},
		{"missing header", payload{"iom-csv", join(lines[1:]...), "text/csv"},
			[]string{"iom.csv:1"}, "", 0, 0},
		{"duplicate row", payload{"iom-csv", join(lines[0], lines[1], lines[2], lines[3], lines[2]), "text/csv"},
			[]string{"iom.csv:5"}, "", 3, 5},
		{"truncated 43 file", payload{"th43", truncatedEPI, truncatedType},
			[]string{"EPI.txt:11"}, "", 4, 9},
		{"DHIS2 data value that is not a number", payload{"dhis2", strings.Replace(dhis, `"value": "1250"`, `"value": "about 1250"`, 1), "application/json"},
			[]string{"payload.json:2 trackedEntities[1].enrollments[0].events[0].dataValues"},
			"/Observation?value-quantity=1250", 2, -1},
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

// Issue 11, "Ingest must not lose people over one field": each source's
// doubtful field is kept where a reader sees it, reported as a warning
// naming file, row and field, and never costs the person the rest of their
// data; a doubted identifier matches no conditional create or identifier
// search on its real system, so it can never merge two people; ingesting
// the same input again changes nothing.
func TestIngestKeepsPersonsOverOneField(t *testing.T) {
	payloads := samplePayloads(t)
	files := map[string]string{}
	for _, n := range []string{"PERSON.txt", "EPI.txt", "LABFU.txt", "SPECIALPP.txt"} {
		b, err := os.ReadFile(filepath.Join(th43SampleDir, n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = string(b)
	}
	// Every CID of the export gets a wrong check digit, as in the issue.
	var badCIDs []string
	lines := strings.Split(strings.TrimRight(files["PERSON.txt"], "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		f := strings.Split(lines[i], "|")
		if f[1] == "" {
			continue
		}
		last := (int(f[1][12]-'0') + 1) % 10
		f[1] = f[1][:12] + string(rune('0'+last))
		badCIDs = append(badCIDs, f[1])
		lines[i] = strings.Join(f, "|")
	}
	files["PERSON.txt"] = strings.Join(lines, "\n") + "\n"
	th43Body, th43Type := multipartFiles(t, files)
	dhis := strings.Replace(payloads["dhis2"].body, `"value": "FEMALE"`, `"value": "Female"`, 1)
	csv := payloads["iom-csv"].body
	csv = strings.Replace(csv, ",1988-11-02,", ",1988-02-30,", 1)

	eachStore(t, func(t *testing.T, a *api) {
		rep := ingestReport(t, a.want(a.send("ingest", payload{"th43", th43Body, th43Type}), 200))
		if rep.counts["persons"] != 4 || rep.counts["stored"] != 4 || rep.counts["rejected"] != 0 || rep.counts["warnings"] != len(badCIDs) {
			t.Fatalf("th43 with bad CIDs: %v (rejects %v)", rep.counts, rep.rejects)
		}
		for _, w := range rep.warnings {
			if w["file"] != "PERSON.txt" || w["field"] != "CID" || !strings.Contains(w["reason"].(string), "check digit") {
				t.Errorf("warning %v", w)
			}
		}
		if n := a.count("/Immunization"); n != 10 {
			t.Errorf("%d Immunizations stored, want all 10 of the export", n)
		}
		for _, cid := range badCIDs {
			if n := a.count("/Patient?identifier=" + q("https://terms.sil-th.org/id/th-cid|"+cid)); n != 0 {
				t.Errorf("doubtful CID %s matched as a Thai CID", cid)
			}
			if n := a.count("/Patient?identifier=" + q("https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/id/th-cid|"+cid)); n != 1 {
				t.Errorf("doubtful CID %s: %d Patients under the doubtful system, want 1", cid, n)
			}
		}
		before := a.versions()
		again := ingestReport(t, a.want(a.send("ingest", payload{"th43", th43Body, th43Type}), 200))
		if again.counts["created"] != 0 || a.versions() != before {
			t.Errorf("second ingest: %v, %d new versions", again.counts, a.versions()-before)
		}

		rep = ingestReport(t, a.want(a.send("ingest", payload{"iom-csv", csv, "text/csv"}), 200))
		if rep.counts["stored"] != 3 || rep.counts["rejected"] != 0 || len(rep.warnings) != 1 || rep.warnings[0]["field"] != "birth_date" {
			t.Errorf("IOM with an impossible birth date: %v %v", rep.counts, rep.warnings)
		}
		if n := a.count("/Patient?birthdate=1988-02"); n != 1 {
			t.Errorf("%d Patients born 1988-02, want the one whose date was shortened", n)
		}

		rep = ingestReport(t, a.want(a.send("ingest", payload{"dhis2", dhis, "application/json"}), 200))
		found := false
		for _, w := range rep.warnings {
			found = found || strings.Contains(w["reason"].(string), `"Female" differs from the configured "FEMALE" only in case`)
		}
		if rep.counts["stored"] != 2 || rep.counts["rejected"] != 0 || !found {
			t.Errorf("DHIS2 with Female: %v %v", rep.counts, rep.warnings)
		}
		r := a.want(a.do("GET", "/Patient?gender=female&identifier="+q("https://mekong-fhir.github.io/fhir/sid/dhis2-khm/trackedEntity|")+dhisUID(dhis, 0), ""), 200)
		if len(matchIDs(t, r.json(t))) != 1 {
			t.Error("the DHIS2 person with sex Female is not stored as female")
		}
	})
}

// dhisUID returns the n-th tracked entity UID of a DHIS2 payload.
func dhisUID(s string, n int) string {
	for i := 0; ; i++ {
		k := strings.Index(s, `"trackedEntity": "`)
		s = s[k+len(`"trackedEntity": "`):]
		if i == n {
			return s[:11]
		}
	}
}
