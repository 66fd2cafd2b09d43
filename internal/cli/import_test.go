package cli

// mekong import and export: the bulk NDJSON format of
// https://hl7.org/fhir/uv/bulkdata/export.html, loaded and written
// straight on the database.

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/backend"
)

const cliInput = `{"resourceType":"Patient","id":"dara","gender":"male"}
{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/dara"}}
not json
{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},"patient":{"reference":"Patient/dara"},"occurrenceDateTime":"2021-07-02"}
`

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "load.ndjson.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(cliInput))
	zw.Close()
	if err := os.WriteFile(in, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(dir, "m.db")
	for run := 1; run <= 2; run++ {
		logs, err := runMekong(t, &bytes.Buffer{}, "import", "--db", db, "--log-format", "text", in)
		if err == nil || !strings.Contains(err.Error(), "1 line rejected") || !strings.Contains(err.Error(), "load.errors.ndjson") {
			t.Fatalf("run %d: error %v, want a rejected-lines failure naming the error file", run, err)
		}
		// Not a terminal: log lines, no progress bar.
		if !strings.Contains(logs, "msg=\"import file done\"") || !strings.Contains(logs, "msg=\"import done\"") || strings.Contains(logs, "\r") {
			t.Fatalf("run %d logs:\n%s", run, logs)
		}
		wantSummary := "resources=3 created=3 updated=0 unchanged=0 rejected=1"
		if run == 2 {
			wantSummary = "resources=3 created=0 updated=0 unchanged=3 rejected=1"
		}
		if !strings.Contains(logs, wantSummary) {
			t.Errorf("run %d: summary lacks %q:\n%s", run, wantSummary, logs)
		}
	}
	errs, err := os.ReadFile(filepath.Join(dir, "load.errors.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"structure","diagnostics":"` + in + ` line 3: invalid JSON: unexpected 'o', expected the literal null (line 1, column 2)"}]}` + "\n"
	if string(errs) != want {
		t.Errorf("error file\n%s\nwant\n%s", errs, want)
	}
	st, err := backend.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := st.Read(context.Background(), "Observation", "o1"); err != nil || v.VersionID != 1 {
		t.Fatalf("o1 after two imports: %+v %v", v, err)
	}

	// Other formats are another engineer's; the flag names what exists.
	if _, err := runMekong(t, &bytes.Buffer{}, "import", "--db", db, "--format", "hl7v2", in); err == nil || !strings.Contains(err.Error(), "formats: dhis2, iom-csv, iom-json, ndjson, th43") {
		t.Errorf("--format hl7v2: %v", err)
	}

	// Export writes the stored bytes, deleted resources left out.
	out := filepath.Join(dir, "out")
	if _, err := runMekong(t, &bytes.Buffer{}, "export", "--db", db, "--type", "Patient,Observation", "--out", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "Observation-1.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	o1, _ := st.Read(context.Background(), "Observation", "o1")
	if string(got) != string(o1.Content)+"\n" {
		t.Errorf("exported %s, stored %s", got, o1.Content)
	}
	if _, err := os.Stat(filepath.Join(out, "Immunization-1.ndjson")); err == nil {
		t.Error("Immunization exported though --type left it out")
	}
	pc := filepath.Join(dir, "pc")
	if _, err := runMekong(t, &bytes.Buffer{}, "export", "--db", db, "--patient-compartment", "--out", pc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Patient-1.ndjson", "Observation-1.ndjson", "Immunization-1.ndjson"} {
		if _, err := os.Stat(filepath.Join(pc, f)); err != nil {
			t.Errorf("patient-compartment export: %v", err)
		}
	}
}

// TestImportCommandReportsDanglingReferences: mekong import checks local
// references once every file is in (issue 14 item 7; README "Behaviour
// worth knowing"): an Observation before its Patient, even in another file,
// is fine; one naming a Patient no file holds is stored, and listed in the
// error file with its element and target, and the command fails saying so.
// --referential-integrity=false turns the check off.
func TestImportCommandReportsDanglingReferences(t *testing.T) {
	dir := t.TempDir()
	obs := filepath.Join(dir, "a-obs.ndjson")
	pats := filepath.Join(dir, "b-patients.ndjson")
	os.WriteFile(obs, []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/later"}}
{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p404"}}
`), 0o644)
	os.WriteFile(pats, []byte(`{"resourceType":"Patient","id":"later"}`+"\n"), 0o644)
	db := "sqlite:" + filepath.Join(dir, "m.db")
	_, err := runMekong(t, &bytes.Buffer{}, "import", "--db", db, "--log-format", "text", obs, pats)
	if err == nil || !strings.Contains(err.Error(), "referring to nothing") || !strings.Contains(err.Error(), "b-patients.errors.ndjson") {
		t.Fatalf("error %v, want a failure naming the error file", err)
	}
	errs, err := os.ReadFile(filepath.Join(dir, "b-patients.errors.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(errs)), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], `Observation/o2: Observation.subject refers to Patient/p404, which does not exist after the import`) ||
		!strings.Contains(lines[0], `"expression":["Observation.subject"]`) {
		t.Errorf("error file:\n%s", errs)
	}
	st, err := backend.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(context.Background(), "Observation", "o2"); err != nil {
		t.Errorf("o2 is not stored: %v", err)
	}
	st.Close()

	off := filepath.Join(dir, "off.ndjson")
	os.WriteFile(off, []byte(`{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p405"}}`+"\n"), 0o644)
	if _, err := runMekong(t, &bytes.Buffer{}, "import", "--db", db, "--referential-integrity=false", off); err != nil {
		t.Errorf("with the check off: %v", err)
	}
}
