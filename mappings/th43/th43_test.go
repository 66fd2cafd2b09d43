package th43

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

var fixedNow = func() time.Time { return time.Date(2024, 7, 1, 12, 0, 0, 0, thaiTime) }

func sampleFiles(t testing.TB) []File {
	t.Helper()
	var files []File
	for _, s := range specs {
		b, err := os.ReadFile(filepath.Join("testdata", "sample", s.name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: s.name + ".txt", Data: b})
	}
	return files
}

// Issue 6, "To FHIR": the sample export becomes valid R4 meeting Mekong's
// profiles; the one ICD-10-TM code without a crosswalk is kept and reported.
func TestDecodeSample(t *testing.T) {
	res, err := DecodeFS(os.DirFS(filepath.Join("testdata", "sample")), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects)+len(res.Warnings) > 0 {
		t.Fatalf("rejects %v warnings %v", res.Rejects, res.Warnings)
	}
	want := []mapping.Unmapped{{File: "LABFU.txt", Row: 5, Field: "LABTEST", System: mapping.ICD10TMLab, Code: "0800300"}}
	if diff := cmp.Diff(want, res.Unmapped); diff != "" {
		t.Errorf("unmapped (-want +got):\n%s", diff)
	}
	if len(res.Persons) != 4 {
		t.Fatalf("%d persons, want 4", len(res.Persons))
	}
	bundle := res.Bundle()
	if n := mappingtest.CheckBundle(t, bundle); n < 15 {
		t.Errorf("only %d resources declare a profile", n)
	}
	if !bytes.Contains(bundle, []byte(`"system": "https://terms.sil-th.org/core/CodeSystem/cs-th-icd10tm-lab",
              "code": "0800300"`)) {
		t.Error("the unmapped LABTEST code is not kept as given")
	}
	mappingtest.Golden(t, filepath.Join("testdata", "sample.bundle.json"), bundle)
}

// Issue 6, "Every mapped field survives the round trip": 43 files → FHIR →
// 43 files gives every mapped column back; unmapped PERSON columns
// (PRENAME, MSTATUS, RACE ...) are documented as not carried.
func TestRoundTrip(t *testing.T) {
	res, err := Decode(sampleFiles(t), Config{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := mapping.RecordsFromBundle(res.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	out, omitted, err := EncodeFiles(recs, Config{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(omitted) > 0 {
		t.Errorf("omissions: %v", omitted)
	}
	src := sampleFiles(t)
	for i, s := range specs {
		mappingtest.Golden(t, filepath.Join("testdata", "roundtrip", s.name+".txt"), out[i].Data)
		want, got := rowsOf(t, src[i].Data), rowsOf(t, out[i].Data)
		if len(want) != len(got) {
			t.Fatalf("%s: %d rows back, want %d", s.name, len(got), len(want))
		}
		for j := range want {
			for _, c := range s.mapped {
				if want[j][c] != got[j][c] {
					t.Errorf("%s row %d %s = %q, want %q", s.name, j+2, c, got[j][c], want[j][c])
				}
			}
		}
	}
	// Decoding the re-encoded files gives the same FHIR: nothing drifts on a second trip.
	again, err := Decode(out, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(res.Bundle()), string(again.Bundle())); diff != "" {
		t.Errorf("second trip (-first +second):\n%s", diff)
	}
}

func rowsOf(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	header := strings.Split(lines[0], "|")
	var out []map[string]string
	for _, l := range lines[1:] {
		f := strings.Split(l, "|")
		m := map[string]string{}
		for i, h := range header {
			m[h] = f[i]
		}
		out = append(out, m)
	}
	return out
}

// TIS-620 input is detected, or taken as declared, and reads as the UTF-8
// export does. The files are encoded with golang.org/x/text's Windows-874,
// a superset of TIS-620, so the decoder is checked against an independent table.
func TestTIS620(t *testing.T) {
	utf8Res, err := Decode(sampleFiles(t), Config{})
	if err != nil {
		t.Fatal(err)
	}
	var tis []File
	for _, f := range sampleFiles(t) {
		b, err := charmap.Windows874.NewEncoder().Bytes(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(b, f.Data) && f.Name == "PERSON.txt" {
			t.Fatal("the PERSON sample has no Thai text to encode")
		}
		tis = append(tis, File{Name: f.Name, Data: b})
	}
	for _, enc := range []string{Auto, TIS620} {
		res, err := Decode(tis, Config{Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(utf8Res.Bundle()), string(res.Bundle())); diff != "" {
			t.Errorf("encoding %q (-utf8 +tis620):\n%s", enc, diff)
		}
	}
	// Declared UTF-8 on a TIS-620 file: every person is kept with all their
	// rows; only the columns with Thai text are lost, each reported
	// (issue 11: one unreadable field never costs the person).
	res, err := Decode(tis, Config{Encoding: UTF8})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) != 0 || len(res.Persons) != len(utf8Res.Persons) {
		t.Errorf("rejects %v, %d persons; want none and %d", res.Rejects, len(res.Persons), len(utf8Res.Persons))
	}
	rows := map[int]bool{}
	for _, w := range res.Warnings {
		if w.File != "PERSON.txt" || w.Reason != "not valid UTF-8: the column was left out" {
			t.Errorf("unexpected warning %v", w)
		}
		rows[w.Row] = true
	}
	if len(rows) != 3 {
		t.Errorf("warnings on %d PERSON rows, want the 3 with Thai text: %v", len(rows), res.Warnings)
	}
	// And the encoder writes TIS-620 that x/text reads back.
	recs, _ := mapping.RecordsFromBundle(utf8Res.Bundle())
	files, omitted, err := EncodeFiles(recs, Config{Encoding: TIS620, Now: fixedNow})
	if err != nil || len(omitted) > 0 {
		t.Fatalf("%v %v", err, omitted)
	}
	back, err := charmap.Windows874.NewDecoder().Bytes(files[0].Data)
	if err != nil || !strings.Contains(string(back), "|สมชาย|ใจดี|") {
		t.Errorf("TIS-620 PERSON.txt reads back as %q (%v)", back, err)
	}
}

func TestTIS620Tables(t *testing.T) {
	for b := 0; b < 256; b++ {
		s, _, ok := decodeTIS620([]byte{byte(b)})
		want, _ := charmap.Windows874.NewDecoder().Bytes([]byte{byte(b)})
		if b >= 0x80 && b <= 0xA0 { // Windows-874 extensions, not TIS-620
			if ok {
				t.Errorf("0x%02X accepted", b)
			}
			continue
		}
		if ok != (string(want) != "\uFFFD") {
			t.Errorf("0x%02X: ok=%v, Windows-874 gives %q", b, ok, want)
		}
		if ok && s != string(want) {
			t.Errorf("0x%02X → %q, want %q", b, s, want)
		}
		if ok {
			if enc, ok := encodeTIS620(s); !ok || !bytes.Equal(enc, []byte{byte(b)}) {
				t.Errorf("%q encodes to %v", s, enc)
			}
		}
	}
	if _, ok := encodeTIS620("សុខ"); ok {
		t.Error("Khmer must not encode to TIS-620")
	}
}

// The ZIP the encoder writes is what DecodeZip reads.
func TestZip(t *testing.T) {
	res, _ := Decode(sampleFiles(t), Config{})
	recs, _ := mapping.RecordsFromBundle(res.Bundle())
	var zbuf bytes.Buffer
	if _, err := Encode(&zbuf, recs, Config{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeZip(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(res.Bundle()), string(back.Bundle())); diff != "" {
		t.Errorf("(-files +zip):\n%s", diff)
	}
}

// Patients from IOM or DHIS2 go to a Thai hospital under its HOSPCODE with a
// stable derived PID; CVX + dose become the THCC code.
func TestEncodeForeignPatient(t *testing.T) {
	rec, err := mapping.NewRecord(
		[]byte(`{"resourceType":"Patient","identifier":[{"system":"https://mekong-fhir.github.io/fhir/sid/iom-case-number","value":"KHM-1"},{"system":"http://hl7.org/fhir/sid/passport-KHM","value":"N9"}],
		 "name":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/language","valueCode":"km"}],"family":"សុខ","given":["ដារ៉ា"]},{"family":"SOK","given":["DARA"]}],
		 "gender":"male","birthDate":"1992-04-17",
		 "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality","extension":[{"url":"code","valueCodeableConcept":{"coding":[{"system":"urn:iso:std:iso:3166","code":"KHM"}]}}]}]}`),
		[]byte(`{"resourceType":"Immunization","identifier":[{"system":"urn:x","value":"1"}],"status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
		 "patient":{"reference":"urn:uuid:p"},"occurrenceDateTime":"2021-06-10","protocolApplied":[{"doseNumberPositiveInt":2}]}`),
		[]byte(`{"resourceType":"Immunization","identifier":[{"system":"urn:x","value":"2"}],"status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},
		 "patient":{"reference":"urn:uuid:p"},"occurrenceDateTime":"2021-07-10"}`),
		[]byte(`{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"3"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"56888-1"}]},
		 "effectiveDateTime":"2024-03-05","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}}`),
		[]byte(`{"resourceType":"Observation","identifier":[{"system":"urn:x","value":"4"}],"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"30745-4"}]},
		 "effectiveDateTime":"2024-03-05","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"707308007"}]}}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, omitted, _ := EncodeFiles([]mapping.Record{rec}, Config{Now: fixedNow}); len(omitted) != 1 || !strings.Contains(omitted[0].Reason, "Config.HospCode") {
		t.Fatalf("without HospCode: %v", omitted)
	}
	files, omitted, err := EncodeFiles([]mapping.Record{rec}, Config{HospCode: "10742", TypeArea: "4", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(omitted) != 1 || omitted[0].Resource != "Immunization urn:x|2" {
		t.Errorf("omissions %v: want only the dose-less CVX 511", omitted)
	}
	person := rowsOf(t, files[0].Data)[0]
	if person["HOSPCODE"] != "10742" || len(person["PID"]) != 15 || person["NAME"] != "DARA" || person["NATION"] != "057" ||
		person["PASSPORT"] != "N9" || person["BIRTH"] != "19920417" || person["D_UPDATE"] != "20240701120000" {
		t.Errorf("PERSON row %v", person)
	}
	again, _, _ := EncodeFiles([]mapping.Record{rec}, Config{HospCode: "10742", Now: fixedNow})
	if rowsOf(t, again[0].Data)[0]["PID"] != person["PID"] {
		t.Error("the derived PID is not stable")
	}
	if epi := rowsOf(t, files[1].Data); len(epi) != 1 || epi[0]["VACCINETYPE"] != "CS2" || epi[0]["DATE_SERV"] != "20210610" {
		t.Errorf("EPI %v", epi)
	}
	if lab := rowsOf(t, files[2].Data); len(lab) != 1 || lab[0]["LABTEST"] != "0743299" || lab[0]["LABRESULT"] != "0" {
		t.Errorf("LABFU %v", lab)
	}
	if spp := rowsOf(t, files[3].Data); len(spp) != 1 || spp[0]["PPSPECIAL"] != "1B1160" {
		t.Errorf("SPECIALPP %v", spp)
	}
}
