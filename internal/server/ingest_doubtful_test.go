package server_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/match"
	"github.com/mekong-fhir/mekong/internal/rest"
)

// Issue 11, "Ingest must not lose people over one field": "A row is
// rejected only when nothing identifies the person at all." A Thai PERSON
// row whose PID is malformed and whose CID fails its check digit, with no
// HN or passport, is kept with all their vaccinations and lab results; both
// identifiers stay doubtful (CONTRACTS §7); sending the same export again
// creates nothing (the conditional create, https://hl7.org/fhir/R4/http.html#ccreate,
// finds the person by exactly their doubtful identifiers); and the identity
// linker, with the real matcher, never takes the shared doubtful CID for
// evidence: another Patient carrying the same doubtful CID is neither merged
// into by the ingest nor linked.
func TestIngestKeepsPersonWithOnlyDoubtfulIdentifiers(t *testing.T) {
	const (
		badPID     = "12/34"
		badCID     = "1101700123457" // 1101700123456 with a wrong check digit
		doubtCID   = "https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/id/th-cid"
		doubtPID   = "https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/hcode/5/10742/PID"
		doubtedExt = `"extension":[{"url":"https://mekong-fhir.github.io/fhir/StructureDefinition/identifier-doubt","extension":[` +
			`{"url":"system","valueUri":"https://terms.sil-th.org/id/th-cid"},{"url":"reason","valueString":"check digit"}]}]`
	)
	files := map[string]string{}
	rows := map[string]int{} // the person's rows in the service files
	for _, n := range []string{"PERSON.txt", "EPI.txt", "LABFU.txt", "SPECIALPP.txt"} {
		b, err := os.ReadFile(filepath.Join(th43SampleDir, n))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		header := strings.Split(lines[0], "|")
		for i := 1; i < len(lines); i++ {
			f := strings.Split(lines[i], "|")
			pid := slices.Index(header, "PID")
			if f[pid] != "000101" {
				continue
			}
			f[pid] = badPID
			rows[n]++
			for c, h := range header {
				switch {
				case n != "PERSON.txt":
				case h == "CID":
					f[c] = badCID
				case h == "HN" || h == "PASSPORT":
					f[c] = ""
				}
			}
			lines[i] = strings.Join(f, "|")
		}
		files[n] = strings.Join(lines, "\n") + "\n"
	}
	if rows["PERSON.txt"] != 1 || rows["EPI.txt"] == 0 || rows["LABFU.txt"] == 0 {
		t.Fatalf("the sample changed: rows of PID 000101 %v", rows)
	}
	body, typ := multipartFiles(t, files)
	engine, err := match.New(match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}

	eachIdentityStore(t, func(t *testing.T, a *idAPI) {
		a.svc.SetIdentity(engine, rest.IdentityOptions{})
		// Someone else whose record carries the same mistyped CID, stored
		// before the export: a certain match on it would merge two people.
		other := a.create(`{"resourceType":"Patient","identifier":[{` + doubtedExt + `,"system":"` + doubtCID + `","value":"` + badCID + `"}],` +
			`"name":[{"family":"Keo","given":["Vibol"]}],"gender":"male","birthDate":"1979-01-30"}`)

		rep := ingestReport(t, a.want(a.send("ingest", payload{"th43", body, typ}), 200))
		if rep.counts["persons"] != 4 || rep.counts["stored"] != 4 || rep.counts["rejected"] != 0 || len(rep.rejects) != 0 {
			t.Fatalf("th43 with a person of doubtful identifiers only: %v (rejects %v)", rep.counts, rep.rejects)
		}
		fields := map[string]bool{}
		for _, w := range rep.warnings {
			if w["file"] == "PERSON.txt" && w["row"] == 2 {
				fields[w["field"].(string)] = true
			}
		}
		if !fields["PID"] || !fields["CID"] {
			t.Errorf("warnings %v, want PERSON.txt row 2 PID and CID", rep.warnings)
		}

		// The person is stored once, with both doubtful identifiers where a
		// reader sees them, and with all their rows.
		r := a.want(a.do("GET", "/Patient?identifier="+q(doubtPID+"|"+badPID), ""), 200)
		found := matchIDs(t, r.json(t))
		if len(found) != 1 || found[0] == other {
			t.Fatalf("Patients under the doubtful PID: %v (the other person is %s)", found, other)
		}
		id := found[0]
		if n := a.count("/Patient?identifier=" + q(doubtCID+"|"+badCID)); n != 2 {
			t.Errorf("%d Patients under the doubtful CID, want the ingested person and the other one apart", n)
		}
		if n := a.count("/Patient?identifier=" + badCID); n != 2 {
			t.Errorf("%d Patients found by the bare value, want 2 (CONTRACTS §7: a reader finds it)", n)
		}
		if n := a.count("/Patient?identifier=" + q("https://terms.sil-th.org/id/th-cid|"+badCID)); n != 0 {
			t.Errorf("the doubtful CID matched as a Thai CID on %d Patients", n)
		}
		if n := a.count("/Immunization?patient=Patient/" + id); n != rows["EPI.txt"] {
			t.Errorf("%d Immunizations of the person, want %d", n, rows["EPI.txt"])
		}
		if n := a.count("/Observation?patient=Patient/" + id); n < rows["LABFU.txt"] {
			t.Errorf("%d Observations of the person, want at least %d", n, rows["LABFU.txt"])
		}

		// Sending the same export again changes nothing.
		before := a.versions()
		again := ingestReport(t, a.want(a.send("ingest", payload{"th43", body, typ}), 200))
		if again.counts["created"] != 0 || again.counts["rejected"] != 0 || a.versions() != before {
			t.Errorf("second ingest: %v, %d new versions", again.counts, a.versions()-before)
		}
		if n := a.count("/Patient"); n != 5 {
			t.Errorf("%d Patients, want the 4 of the export and the other one", n)
		}

		// The shared doubtful CID is no evidence: no link between them at
		// any level (their names, sex and birth dates differ).
		a.link()
		for _, l := range a.links(id) {
			if strings.HasPrefix(l, other+":") {
				t.Errorf("Patient/%s linked to Patient/%s on a doubtful CID: %v", id, other, a.links(id))
			}
		}
	})
}
