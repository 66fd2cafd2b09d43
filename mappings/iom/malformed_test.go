package iom

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/mappings/mapping"
	"github.com/mekong-fhir/mekong/mappings/mappingtest"
)

// Issue 6, "Evidence": malformed input gets a precise row-level error, the
// other rows are still mapped, and nothing of a rejected row is kept.
// Issue 11: a row is rejected only when nothing identifies the person; a
// problem with the person's details is a warning, and an unreadable result
// or vaccination is dropped alone (a reject naming its column).
func TestMalformedCSV(t *testing.T) {
	sample := string(read(t, "sample.csv"))
	lines := strings.Split(strings.TrimSuffix(sample, "\n"), "\n") // header, 0001, 0002, 0003
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	set := func(line, col, value string) string {
		header := strings.Split(lines[0], ",")
		fields := splitCSV(line)
		for i, h := range header {
			if h == col {
				fields[i] = value
			}
		}
		return joinCSV(fields)
	}
	tests := []struct {
		name    string
		in      string
		persons int
		want    []mapping.Reject // Reason is a substring
		absent  string           // must not appear in any Bundle
		warns   []mapping.Reject
		present string // must appear in the Bundle
	}{
		{"wrong delimiter", strings.ReplaceAll(sample, ",", ";"), 0,
			[]mapping.Reject{{File: "iom.csv", Row: 1, Reason: `wrong delimiter: the header is a single column containing ";"`}}, "", nil, ""},
		{"missing header", join(lines[1:]...), 0,
			[]mapping.Reject{{File: "iom.csv", Row: 1, Reason: "missing header"}}, "", nil, ""},
		{"impossible birth date keeps year and month", join(lines[0], lines[1], set(lines[2], "birth_date", "1988-02-30"), lines[3]), 3, nil, "",
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "birth_date", Reason: `"1988-02-30" is not a calendar date; kept 1988-02`}}, `"birthDate": "1988-02"`},
		{"sex in lower case", join(lines[0], lines[1], set(lines[2], "sex", "f"), lines[3]), 3, nil, "",
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "sex", Reason: `"f" read as F`}}, ""},
		{"unknown sex is left out", join(lines[0], lines[1], set(lines[2], "sex", "W"), lines[3]), 3, nil, "",
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "sex", Reason: "sex left out"}}, ""},
		{"malformed passport is kept as doubtful", join(lines[0], lines[1], set(lines[2], "passport_number", "N0234 5678"), lines[3]), 3, nil, "",
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "passport_number", Reason: "kept as a doubtful identifier"}}, `"value": "N0234 5678"`},
		{"a result with a date in the wrong format is dropped alone", join(lines[0], set(lines[1], "cxr_date", "05/03/2024"), lines[2], lines[3]), 3,
			[]mapping.Reject{{File: "iom.csv", Row: 2, Field: "cxr_date", Reason: "not a date (YYYY-MM-DD): left out with what it dates"}}, "KHM-MHA-2024-0001/2024-03-05/cxr", nil, "KHM-MHA-2024-0001/2024-03-05/hiv"},
		{"unknown result code drops that result", join(lines[0], lines[1], lines[2], set(lines[3], "cxr_result", "suspicious")), 3,
			[]mapping.Reject{{File: "iom.csv", Row: 4, Field: "cxr_result", Reason: `"suspicious" is not one of`}}, "suspicious", nil, "KHM-MHA-2024-0003"},
		{"unknown test type drops that result", join(lines[0], set(lines[1], "covid_test", "lamp"), lines[2], lines[3]), 3,
			[]mapping.Reject{{File: "iom.csv", Row: 2, Field: "covid_test", Reason: `"lamp" is not a known test type`}}, "KHM-MHA-2024-0001/2024-03-05/covid", nil, "KHM-MHA-2024-0001/2024-03-05/cxr"},
		// The passport identifies the person; the results are keyed by the
		// case number, so they cannot be stored without it.
		{"missing case number keeps the person on the passport", join(lines[0], lines[1], set(lines[2], "case_number", ""), lines[3]), 3,
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "case_number", Reason: "required: it identifies the row's results and vaccinations, which were left out; the person was kept"}}, "", nil, "N02345678"},
		{"no identifier at all", join(lines[0], lines[1], set(set(lines[2], "case_number", ""), "passport_number", ""), lines[3]), 2,
			[]mapping.Reject{
				{File: "iom.csv", Row: 3, Field: "passport_country", Reason: "a passport country without"},
				{File: "iom.csv", Row: 3, Field: "case_number", Reason: "required: it identifies the row's results"},
				{File: "iom.csv", Row: 3, Field: "case_number", Reason: "required: the IOM case number (or a passport) identifies the person"},
			}, "KHM-MHA-2024-0002", nil, ""},
		// Issue 11: "A row is rejected only when nothing identifies the
		// person at all." Case number and passport both malformed: the person
		// and their results are kept, both identifiers doubtful, and the
		// conditional create finds them again by exactly those.
		{"only doubtful identifiers keeps the person", join(lines[0], lines[1], set(set(lines[2], "case_number", "KHM MHA 2024 0002"), "passport_number", "N0234 5678"), lines[3]), 3, nil, "",
			[]mapping.Reject{
				{File: "iom.csv", Row: 3, Field: "case_number", Reason: "kept as a doubtful identifier"},
				{File: "iom.csv", Row: 3, Field: "passport_number", Reason: "kept as a doubtful identifier"},
			},
			`"ifNoneExist": "identifier=https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/http://hl7.org/fhir/sid/passport-KHM|N0234%205678` +
				`&identifier=https://mekong-fhir.github.io/fhir/sid/doubtful-identifier/https://mekong-fhir.github.io/fhir/sid/iom-case-number|KHM%20MHA%202024%200002` +
				`&birthdate=1988-11-02&gender=female"`},
		{"no identifier at all rejects the row", join(lines[0], lines[1], set(set(lines[2], "case_number", ""), "passport_number", ""), lines[3]), 2,
			[]mapping.Reject{
				{File: "iom.csv", Row: 3, Field: "passport_country", Reason: "left out"},
				{File: "iom.csv", Row: 3, Field: "case_number", Reason: "required: it identifies the row's results"},
				{File: "iom.csv", Row: 3, Field: "case_number", Reason: "without either nothing does"},
			}, "SREYMOM", nil, ""},
		{"passport without country is kept as doubtful", join(lines[0], lines[1], set(lines[2], "passport_country", ""), lines[3]), 3, nil, "",
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "passport_country", Reason: "required with a passport number: the passport is kept as a doubtful identifier"}}, "issuing country not given"},
		{"duplicate row", join(lines[0], lines[1], lines[2], lines[3], lines[2]), 3,
			[]mapping.Reject{{File: "iom.csv", Row: 5, Reason: "duplicate of iom.csv row 3"}}, "", nil, ""},
		{"same passport, other birth date", join(lines[0], lines[1], set(set(lines[3], "passport_number", "N01234567"), "case_number", "KHM-MHA-2024-0009")), 1,
			[]mapping.Reject{{File: "iom.csv", Row: 3, Reason: "birth date differs: not merged"}}, "KHM-MHA-2024-0009", nil, ""},
		{"truncated file", join(lines[0], lines[1], lines[2], lines[3][:60]), 2,
			[]mapping.Reject{{File: "iom.csv", Row: 4, Reason: "the row has 7 of the header's 50 fields (truncated?)"}}, "KHM-MHA-2024-0003", nil, ""},
		{"row with another delimiter", join(lines[0], lines[1], strings.ReplaceAll(lines[2], ",", ";"), lines[3]), 2,
			[]mapping.Reject{{File: "iom.csv", Row: 3, Reason: "wrong delimiter"}}, "KHM-MHA-2024-0002", nil, ""},
		{"TIS-620 bytes in a UTF-8 export lose only that field", join(lines[0], lines[1], strings.Replace(lines[2], "CHAN", "\xca\xc1\xaa\xd2\xc2", 1), lines[3]), 3, nil, "",
			[]mapping.Reject{{File: "iom.csv", Row: 3, Field: "family_name", Reason: "not valid UTF-8 (IOM exports are UTF-8): left out"}}, "KHM-MHA-2024-0002"},
		{"unterminated quote", join(lines[0], lines[1], lines[2], `"KHM-MHA-2024-0003,N03456789`), 2,
			[]mapping.Reject{{File: "iom.csv", Row: 4, Reason: "malformed CSV"}}, "N03456789", nil, ""},
		{"empty file", "", 0, []mapping.Reject{{File: "iom.csv", Row: 0, Reason: "empty file"}}, "", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := DecodeCSV(strings.NewReader(tc.in), Config{})
			if err != nil {
				t.Fatal(err)
			}
			checkRejects(t, res, tc.want)
			mappingtest.CheckRows(t, "warnings", res.Warnings, tc.warns)
			if len(res.Persons) != tc.persons {
				t.Errorf("%d persons, want %d", len(res.Persons), tc.persons)
			}
			bundle := res.Bundle()
			mappingtest.CheckBundle(t, bundle)
			if tc.absent != "" && bytes.Contains(bundle, []byte(tc.absent)) {
				t.Errorf("%s from the rejected row reached the Bundle", tc.absent)
			}
			if tc.present != "" && !bytes.Contains(bundle, []byte(tc.present)) {
				t.Errorf("the Bundle lacks %s", tc.present)
			}
		})
	}
}

func TestUnknownColumnIsAWarning(t *testing.T) {
	sample := string(read(t, "sample.csv"))
	in := strings.Replace(sample, "tb_class,", "tb_klass,", 1)
	res, err := DecodeCSV(strings.NewReader(in), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) != 0 || len(res.Persons) != 3 {
		t.Fatalf("rejects %v persons %d", res.Rejects, len(res.Persons))
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Field != "tb_klass" || res.Warnings[0].Row != 1 {
		t.Fatalf("warnings %v", res.Warnings)
	}
}

func TestMalformedJSON(t *testing.T) {
	sample := string(read(t, "sample.json"))
	tests := []struct {
		name    string
		in      string
		persons int
		want    []mapping.Reject
	}{
		{"truncated file", sample[:len(sample)/2], 1,
			[]mapping.Reject{{File: "iom.json", Row: 2, Reason: "unreadable record"}}},
		{"not an array", `{"rows": []}`, 0, []mapping.Reject{{File: "iom.json", Row: 0, Reason: `no "assessments" array`}}},
		{"wrapped in assessments", `{"source":"IOM","assessments":` + sample + `}`, 3, nil},
		{"member of the wrong type loses only that field", strings.Replace(sample, `"sex": "M",`, `"sex": {"code":"M"},`, 1), 3, nil},
		{"record that is not an object", strings.Replace(sample, "[\n", `[ 42, `, 1), 3,
			[]mapping.Reject{{File: "iom.json", Row: 1, Reason: "a record must be an object, got number"}}},
		{"unreadable birth date keeps its year", strings.Replace(sample, `"birth_date": "1979-01-30"`, `"birth_date": "19790130"`, 1), 3, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := DecodeJSON(strings.NewReader(tc.in), Config{})
			if err != nil {
				t.Fatal(err)
			}
			checkRejects(t, res, tc.want)
			if len(res.Persons) != tc.persons {
				t.Errorf("%d persons, want %d", len(res.Persons), tc.persons)
			}
			mappingtest.CheckBundle(t, res.Bundle())
		})
	}
}

func checkRejects(t *testing.T, res *mapping.Result, want []mapping.Reject) {
	t.Helper()
	if len(res.Rejects) != len(want) {
		t.Fatalf("rejects = %v, want %v", res.Rejects, want)
	}
	for i, w := range want {
		got := res.Rejects[i]
		if got.File != w.File || got.Row != w.Row || got.Field != w.Field || !strings.Contains(got.Reason, w.Reason) {
			t.Errorf("reject %d = %+v, want %+v", i, got, w)
		}
	}
}

// splitCSV and joinCSV handle the sample's one quoted field (the site).
func splitCSV(line string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}

func joinCSV(fields []string) string { return strings.Join(fields, ",") }

// FuzzDecodeCSV: any input, however broken, gives a Result whose Bundles are
// valid R4, never a panic; each reject names a row within the input.
func FuzzDecodeCSV(f *testing.F) {
	sample := read(&testing.T{}, "sample.csv")
	f.Add(sample)
	f.Add([]byte("case_number,sex\nA,M\n"))
	f.Add([]byte("case_number;sex\nA;M\n"))
	f.Add([]byte("\xEF\xBB\xBFcase_number,birth_date,vaccine7_cvx,vaccine7_date\nX,2020-02-29,999,2020-01-01\n"))
	f.Add(sample[:len(sample)/3])
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := DecodeCSV(bytes.NewReader(data), Config{})
		if err != nil {
			t.Fatalf("error on in-memory input: %v", err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range res.Rejects {
			if r.Row < 0 || r.Row > lines || r.Reason == "" {
				t.Fatalf("bad reject %+v (input has %d lines)", r, lines)
			}
		}
		if len(res.Persons) > 0 {
			mappingtest.CheckBundle(t, res.Bundle())
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	sample := read(&testing.T{}, "sample.json")
	f.Add(sample)
	f.Add([]byte(`{"assessments":[{"case_number":"A","sex":"F","birth_date":"2000-01-01","family_name":"X","assessment_date":"2024-01-01","vaccine1_cvx":5,"vaccine1_date":"2020-01-01"}]}`))
	f.Add([]byte(`[{"case_number":null},1,"x",[]]`))
	f.Add(sample[:len(sample)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := DecodeJSON(bytes.NewReader(data), Config{})
		if err != nil {
			t.Fatalf("error on in-memory input: %v", err)
		}
		if len(res.Persons) > 0 {
			mappingtest.CheckBundle(t, res.Bundle())
		}
	})
}
