package th43

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

// Issue 6, "Evidence": every malformed input gets a precise row-level error,
// the other rows are mapped, and nothing of a rejected row is kept.
func TestMalformed(t *testing.T) {
	// edit returns the sample with one file's lines replaced by fn's.
	edit := func(file string, fn func(lines []string) []string) []File {
		files := sampleFiles(t)
		for i, f := range files {
			if f.Name == file {
				lines := strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n")
				files[i].Data = []byte(strings.Join(fn(lines), "\n") + "\n")
			}
		}
		return files
	}
	// set changes column col of line n (1-based, header is 1) of a file.
	set := func(file string, n int, col, value string) []File {
		return edit(file, func(lines []string) []string {
			header := strings.Split(lines[0], "|")
			f := strings.Split(lines[n-1], "|")
			for i, h := range header {
				if h == col {
					f[i] = value
				}
			}
			lines[n-1] = strings.Join(f, "|")
			return lines
		})
	}
	cut := func(file string, keep int) []File {
		files := sampleFiles(t)
		for i, f := range files {
			if f.Name == file {
				files[i].Data = f.Data[:keep]
			}
		}
		return files
	}
	// edit2 changes every file's lines with fn.
	edit2 := func(files []File, fn func(name string, lines []string) []string) []File {
		for i, f := range files {
			lines := strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n")
			files[i].Data = []byte(strings.Join(fn(f.Name, lines), "\n") + "\n")
		}
		return files
	}
	person := sampleFiles(t)[0].Data
	tests := []struct {
		name      string
		files     []File
		persons   int
		resources int // Observations and Immunizations in all Bundles
		want      []mapping.Reject
		absent    string
		// warns are the field problems the row survived (issue 11: one
		// doubtful field never costs the person); present must reach the Bundle.
		warns   []mapping.Reject
		present string
	}{
		{"wrong delimiter", edit("LABFU.txt", func(ls []string) []string {
			for i := range ls {
				ls[i] = strings.ReplaceAll(ls[i], "|", ",")
			}
			return ls
		}), 4, 12, []mapping.Reject{{File: "LABFU.txt", Row: 1, Reason: `wrong delimiter: the header is separated by ","`}}, "0749300", nil, ""},
		{"missing header", edit("EPI.txt", func(ls []string) []string { return ls[1:] }), 4, 8,
			[]mapping.Reject{{File: "EPI.txt", Row: 1, Reason: "missing header: the first line is data"}}, "CS2", nil, ""},
		{"header without a required column", edit("SPECIALPP.txt", func(ls []string) []string {
			ls[0] = strings.Replace(ls[0], "PPSPECIAL", "PP_SPECIAL", 1)
			return ls
		}), 4, 16, []mapping.Reject{{File: "SPECIALPP.txt", Row: 1, Field: "PPSPECIAL", Reason: "required SPECIALPP columns missing"}}, "1B1160", nil, ""},
		{"impossible birth date keeps its year and month", set("PERSON.txt", 3, "BIRTH", "19920230"), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 3, Field: "BIRTH", Reason: `"19920230" is not a calendar date; kept 1992-02`}}, `"birthDate": "1992-02"`},
		{"birth date with a Buddhist Era year is left out", set("PERSON.txt", 3, "BIRTH", "25350115"), 4, 18, nil, "2535",
			[]mapping.Reject{{File: "PERSON.txt", Row: 3, Field: "BIRTH", Reason: "Buddhist Era year (2535); 43 files use Gregorian years; the date was left out"}}, ""},
		{"unknown sex is left out", set("PERSON.txt", 3, "SEX", "9"), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 3, Field: "SEX", Reason: `"9" is not 1 (male) or 2 (female): sex left out`}}, ""},
		{"missing name is recorded as unknown", edit("PERSON.txt", func(ls []string) []string {
			f := strings.Split(ls[2], "|")
			h := strings.Split(ls[0], "|")
			for i, c := range h {
				if c == "NAME" || c == "LNAME" {
					f[i] = ""
				}
			}
			ls[2] = strings.Join(f, "|")
			return ls
		}), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 3, Field: "NAME", Reason: "recorded as unknown"}}, `"valueCode": "unknown"`},
		{"Buddhist Era year", set("EPI.txt", 2, "DATE_SERV", "25640615"), 4, 17,
			[]mapping.Reject{{File: "EPI.txt", Row: 2, Field: "DATE_SERV", Reason: "Buddhist Era year (2564)"}}, "10742/000101/25640615/CA1", nil, ""},
		{"bad D_UPDATE", set("LABFU.txt", 7, "D_UPDATE", "202406170900"), 4, 17,
			[]mapping.Reject{{File: "LABFU.txt", Row: 7, Field: "D_UPDATE", Reason: "not a timestamp (YYYYMMDDHHMMSS)"}}, "0749300", nil, ""},
		{"unknown vaccine code is kept and reported", set("EPI.txt", 2, "VACCINETYPE", "Z99"), 4, 18, nil, "", nil, ""},
		{"malformed vaccine code", set("EPI.txt", 2, "VACCINETYPE", "c-a1"), 4, 17,
			[]mapping.Reject{{File: "EPI.txt", Row: 2, Field: "VACCINETYPE", Reason: `"c-a1" is not a THCC vaccine code`}}, "c-a1", nil, ""},
		// The person is kept on their other identifiers; their rows in the
		// other files name them by PID only, so those cannot be joined.
		{"missing PID", set("PERSON.txt", 4, "PID", ""), 4, 13,
			[]mapping.Reject{
				{File: "EPI.txt", Row: 6, Field: "PID", Reason: "no PERSON row has this HOSPCODE and PID"}, {File: "EPI.txt", Row: 7, Field: "PID"},
				{File: "LABFU.txt", Row: 6, Field: "PID"}, {File: "LABFU.txt", Row: 7, Field: "PID"}, {File: "SPECIALPP.txt", Row: 3, Field: "PID"},
			}, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 4, Field: "PID", Reason: "required"}}, "MB123456"},
		// Issue 11: "A Thai 43-file export whose CIDs have bad check digits
		// converts 0 of 3 persons" no more: the person and all their rows are
		// kept, the CID too, under the doubtful-identifier system.
		{"bad CID check digit keeps the person and the CID as doubtful", set("PERSON.txt", 2, "CID", "1101700123457"), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 2, Field: "CID", Reason: "check digit"}},
			"https://mekong-fhir.github.io/fhir/sid/doubtful-identifier"},
		{"malformed passport is kept as doubtful", set("PERSON.txt", 2, "PASSPORT", "N0-12/34"), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 2, Field: "PASSPORT", Reason: "doubtful"}}, `"value": "N0-12/34"`},
		{"malformed NATION is left out", set("PERSON.txt", 2, "NATION", "5x"), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 2, Field: "NATION", Reason: "nationality left out"}}, ""},
		// Issue 11: "A row is rejected only when nothing identifies the
		// person at all." A person whose PID is malformed and whose CID fails
		// its check digit (no HN, no passport) is kept with all their rows,
		// joined on HOSPCODE+PID as written; both identifiers stay doubtful,
		// and the conditional create finds the person again by exactly those
		// (under systems naming the meant one), birth date and sex.
		{"only doubtful identifiers keeps the person and all their rows", edit2(sampleFiles(t), func(name string, ls []string) []string {
			if name != "PERSON.txt" {
				for i := range ls {
					ls[i] = strings.Replace(ls[i], "|000101|", "|12/34|", 1)
				}
				return ls
			}
			f := strings.Split(ls[1], "|")
			h := strings.Split(ls[0], "|")
			for i, c := range h {
				switch c {
				case "PID":
					f[i] = "12/34"
				case "HN", "PASSPORT":
					f[i] = ""
				case "CID":
					f[i] = "1101700123457"
				}
			}
			ls[1] = strings.Join(f, "|")
			return ls
		}), 4, 18, nil, "",
			[]mapping.Reject{
				{File: "PERSON.txt", Row: 2, Field: "PID", Reason: "kept as a doubtful identifier"},
				{File: "PERSON.txt", Row: 2, Field: "CID", Reason: "check digit"},
			},
			`"ifNoneExist": "identifier=https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/hcode/5/10742/PID|12/34` +
				`&identifier=https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/id/th-cid|1101700123457` +
				`&birthdate=1985-06-12&gender=male"`},
		// The brief: a bad field in a source row never costs the person the
		// rest of their data. A malformed HOSPCODE (here on the first
		// person's PERSON row and on their EPI and LABFU rows) doubts the
		// hospital-local identifiers, and the service rows still join on
		// HOSPCODE+PID as written; one with a space is escaped in systems.
		{"malformed HOSPCODE keeps the person and their rows", edit2(sampleFiles(t), func(name string, ls []string) []string {
			rows := map[string][]int{"PERSON.txt": {1}, "EPI.txt": {1, 2, 3}, "LABFU.txt": {1}}[name]
			h := strings.Split(ls[0], "|")
			for _, n := range rows {
				f := strings.Split(ls[n], "|")
				for i, c := range h {
					if c == "HOSPCODE" {
						f[i] = "107 4"
					}
				}
				ls[n] = strings.Join(f, "|")
			}
			return ls
		}), 4, 18, nil, "",
			[]mapping.Reject{
				{File: "PERSON.txt", Row: 2, Field: "HOSPCODE", Reason: "kept as doubtful"},
				{File: "EPI.txt", Row: 2, Field: "HOSPCODE", Reason: "the row is kept"},
				{File: "EPI.txt", Row: 3, Field: "HOSPCODE", Reason: "the row is kept"},
				{File: "EPI.txt", Row: 4, Field: "HOSPCODE", Reason: "the row is kept"},
				{File: "LABFU.txt", Row: 2, Field: "HOSPCODE", Reason: "the row is kept"},
			},
			`"system": "https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://terms.sil-th.org/hcode/5/107%204/PID"`},
		{"no identifier at all rejects the row", edit2(sampleFiles(t), func(name string, ls []string) []string {
			if name != "PERSON.txt" {
				return ls
			}
			f := strings.Split(ls[1], "|")
			h := strings.Split(ls[0], "|")
			for i, c := range h {
				switch c {
				case "PID", "HN", "PASSPORT", "CID":
					f[i] = ""
				}
			}
			ls[1] = strings.Join(f, "|")
			return ls
		}), 3, 14, []mapping.Reject{
			{File: "PERSON.txt", Row: 2, Field: "PID", Reason: "required"},
			{File: "PERSON.txt", Row: 2, Reason: "no identifier: nothing identifies the person"},
			{File: "EPI.txt", Row: 2, Field: "PID"}, {File: "EPI.txt", Row: 3, Field: "PID"}, {File: "EPI.txt", Row: 4, Field: "PID"},
			{File: "LABFU.txt", Row: 2, Field: "PID"},
		}, "สมชาย", nil, ""},
		{"duplicate PERSON row", edit("PERSON.txt", func(ls []string) []string { return append(ls, ls[1]) }), 4, 18,
			[]mapping.Reject{{File: "PERSON.txt", Row: 6, Field: "PID", Reason: "duplicate of PERSON.txt row 2"}}, "", nil, ""},
		{"duplicate EPI row", edit("EPI.txt", func(ls []string) []string { return append(ls, ls[2]) }), 4, 18,
			[]mapping.Reject{{File: "EPI.txt", Row: 12, Reason: "duplicate of EPI.txt row 3"}}, "", nil, ""},
		{"row without its PERSON", set("EPI.txt", 2, "PID", "999999"), 4, 17,
			[]mapping.Reject{{File: "EPI.txt", Row: 2, Field: "PID", Reason: "no PERSON row has this HOSPCODE and PID"}}, "999999", nil, ""},
		{"non-numeric result", set("LABFU.txt", 2, "LABRESULT", "neg"), 4, 17,
			[]mapping.Reject{{File: "LABFU.txt", Row: 2, Field: "LABRESULT", Reason: `"neg" is not a number`}}, "67001044", nil, ""},
		{"qualitative result out of convention", set("LABFU.txt", 2, "LABRESULT", "5"), 4, 17,
			[]mapping.Reject{{File: "LABFU.txt", Row: 2, Field: "LABRESULT", Reason: "is 0, 1 or 2"}}, "67001044", nil, ""},
		{"TIS-620 text in a UTF-8 file loses only that field", edit("PERSON.txt", func(ls []string) []string {
			ls[2] = strings.Replace(ls[2], "ดารา", "\xb4\xd2\xc3\xd2", 1)
			return ls
		}), 4, 18, nil, "",
			[]mapping.Reject{{File: "PERSON.txt", Row: 3, Field: "NAME", Reason: "not valid UTF-8: the column was left out"}}, "N01234567"},
		{"truncated file", cut("LABFU.txt", len(sampleFiles(t)[2].Data)-20), 4, 17,
			[]mapping.Reject{{File: "LABFU.txt", Row: 7, Reason: "truncated file"}}, "0749300", nil, ""},
		{"truncated inside a Thai character", cut("PERSON.txt", bytes.Index(person, []byte("ภูมิ"))+4), 3, 14,
			[]mapping.Reject{
				{File: "PERSON.txt", Row: 5, Reason: "ends inside a character (truncated?)"},
				{File: "EPI.txt", Row: 8, Field: "PID"}, {File: "EPI.txt", Row: 9, Field: "PID"},
				{File: "EPI.txt", Row: 10, Field: "PID"}, {File: "EPI.txt", Row: 11, Field: "PID"},
			}, "1279900456129", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Decode(tc.files, Config{})
			if err != nil {
				t.Fatal(err)
			}
			mappingtest.CheckRows(t, "rejects", res.Rejects, tc.want)
			mappingtest.CheckRows(t, "warnings", res.Warnings, tc.warns)
			resources := 0
			for _, p := range res.Persons {
				resources += len(p.Observations) + len(p.Immunizations)
			}
			if len(res.Persons) != tc.persons || resources != tc.resources {
				t.Errorf("%d persons and %d resources, want %d and %d", len(res.Persons), resources, tc.persons, tc.resources)
			}
			bundle := res.Bundle()
			mappingtest.CheckBundle(t, bundle)
			if tc.absent != "" && bytes.Contains(bundle, []byte(tc.absent)) {
				t.Errorf("%s from a rejected row reached the Bundle", tc.absent)
			}
			if tc.present != "" && !bytes.Contains(bundle, []byte(tc.present)) {
				t.Errorf("the Bundle lacks %s", tc.present)
			}
		})
	}
}

func TestUnknownVaccineCodeIsReported(t *testing.T) {
	files := sampleFiles(t)
	files[1].Data = bytes.Replace(files[1].Data, []byte("|CA1|"), []byte("|Z99|"), 1)
	res, _ := Decode(files, Config{})
	var got []mapping.Unmapped
	for _, u := range res.Unmapped {
		if u.File == "EPI.txt" {
			got = append(got, u)
		}
	}
	if len(got) != 1 || got[0].Row != 2 || got[0].Code != "Z99" || got[0].Field != "VACCINETYPE" {
		t.Fatalf("unmapped %v", res.Unmapped)
	}
	// Kept as given, with no CVX and so no claim to the Immunization profile.
	if !bytes.Contains(res.Bundle(), []byte(`"code": "Z99"`)) {
		t.Error("the unknown code is not in the Bundle")
	}
}

func TestOtherFilesAreWarnings(t *testing.T) {
	files := append(sampleFiles(t), File{Name: "SERVICE.txt", Data: []byte("HOSPCODE|PID\n")}, File{Name: "export/F43_10742_PERSON.TXT", Data: nil})
	res, err := Decode(files, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].File != "SERVICE.txt" {
		t.Errorf("warnings %v", res.Warnings)
	}
	if len(res.Rejects) != 1 || res.Rejects[0].File != "export/F43_10742_PERSON.TXT" || !strings.Contains(res.Rejects[0].Reason, "empty file") {
		t.Errorf("rejects %v", res.Rejects)
	}
	if _, err := Decode(nil, Config{Encoding: "latin-1"}); err == nil {
		t.Error("an unknown encoding must be a configuration error")
	}
}

// FuzzDecode: the fuzzer's bytes become the four files (split at NUL);
// whatever they hold, Decode never panics and its Bundle is valid R4.
func FuzzDecode(f *testing.F) {
	var seed [][]byte
	for _, file := range sampleFiles(f) {
		seed = append(seed, file.Data)
	}
	f.Add(bytes.Join(seed, []byte{0}))
	f.Add([]byte("HOSPCODE|PID|NAME|LNAME|SEX|BIRTH|D_UPDATE\n10742|1|A|B|2|20000229|20240101000000\n\x00HOSPCODE|PID|DATE_SERV|VACCINETYPE|D_UPDATE\n10742|1|20240101|CS1|20240101000000"))
	f.Add([]byte("HOSPCODE|PID|NAME|LNAME|SEX|BIRTH|D_UPDATE\n10742|1|\xca\xc1|\xaa|1|20000101|20240101000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := bytes.SplitN(data, []byte{0}, 4)
		var files []File
		for i, p := range parts {
			files = append(files, File{Name: specs[i].name + ".txt", Data: p})
		}
		res, err := Decode(files, Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rejects {
			if r.Reason == "" || r.Row < 0 {
				t.Fatalf("bad reject %+v", r)
			}
		}
		if len(res.Persons) > 0 {
			mappingtest.CheckBundle(t, res.Bundle())
		}
	})
}
