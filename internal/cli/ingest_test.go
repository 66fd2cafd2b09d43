package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/ingest"
	"github.com/mekong-fhir/mekong/internal/store"
)

func storedVersions(t *testing.T, dbURL string) (patients []string, versions int) {
	t.Helper()
	db, err := backend.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, typ := range []string{"Patient", "Observation", "Immunization"} {
		page, err := db.History(context.Background(), store.HistoryQuery{Type: typ, Count: 100000})
		if err != nil {
			t.Fatal(err)
		}
		versions += len(page.Versions)
		if typ == "Patient" {
			for _, v := range page.Versions {
				patients = append(patients, v.ID)
			}
		}
	}
	return patients, versions
}

var mappingsDir = filepath.Join("..", "..", "mappings")

// Issue 6, `mekong import --format ... PATH` (and its twin `mekong ingest`):
// the files are stored as $ingest stores them
// (https://hl7.org/fhir/R4/http.html#ccreate makes a second run change
// nothing); progress is logged when stderr is not a terminal.
func TestIngestCommandIsIdempotent(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	dir := filepath.Join(mappingsDir, "th43", "testdata", "sample")
	logs, err := runMekong(t, nil, "ingest", "--format", "th43", "--db", dbURL, dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	if !strings.Contains(logs, `"msg":"ingest progress"`) || !strings.Contains(logs, `"stored":4`) {
		t.Errorf("logs lack progress or the summary:\n%s", logs)
	}
	patients, versions := storedVersions(t, dbURL)
	if len(patients) != 4 {
		t.Fatalf("%d Patients, want 4", len(patients))
	}
	// The second run goes through `mekong import --format`, the same path.
	if logs, err := runMekong(t, nil, "import", "--format", "th43", "--db", dbURL, dir); err != nil {
		t.Fatalf("second run (import --format th43): %v\n%s", err, logs)
	} else if !strings.Contains(logs, `"unchanged":`) && !strings.Contains(logs, `"stored":4`) {
		t.Errorf("import --format th43 did not report like ingest:\n%s", logs)
	}
	if _, again := storedVersions(t, dbURL); again != versions {
		t.Errorf("the second run wrote %d versions", again-versions)
	}
}

// A bad field is reported (file, row, field, reason) in --report. Issue 11:
// it never costs the person. An impossible birth date is a warning and the
// person is stored; a result that cannot be read is lost alone, which makes
// the exit status non-zero, and the person and their other results are
// stored.
func TestIngestCommandReportsRejects(t *testing.T) {
	tmp := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(tmp, "m.db")
	csv, err := os.ReadFile(filepath.Join(mappingsDir, "iom", "testdata", "sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(tmp, "bad.csv")
	csv = bytes.Replace(csv, []byte(",1988-11-02,"), []byte(",1988-02-30,"), 1)
	csv = bytes.Replace(csv, []byte(",abnormal-not-tb,"), []byte(",suspicious,"), 1)
	os.WriteFile(bad, csv, 0o644)
	reportPath := filepath.Join(tmp, "report.json")
	logs, err := runMekong(t, nil, "ingest", "--format", "iom-csv", "--db", dbURL, "--report", reportPath, bad)
	if err == nil || !strings.Contains(err.Error(), "1 row rejected, 0 persons not stored") {
		t.Fatalf("error %v, want one rejected value\n%s", err, logs)
	}
	var rep ingest.Report
	b, _ := os.ReadFile(reportPath)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rejects) != 1 || rep.Rejects[0].File != bad || rep.Rejects[0].Row != 4 || rep.Rejects[0].Field != "cxr_result" || rep.Rejects[0].Reason == "" {
		t.Errorf("rejects %+v", rep.Rejects)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Row != 3 || rep.Warnings[0].Field != "birth_date" || !strings.Contains(rep.Warnings[0].Reason, "kept 1988-02") {
		t.Errorf("warnings %+v", rep.Warnings)
	}
	if patients, _ := storedVersions(t, dbURL); len(patients) != 3 {
		t.Errorf("%d Patients stored, want all 3", len(patients))
	}
	// Without --report the rejects and warnings go to stderr.
	logs, _ = runMekong(t, nil, "ingest", "--format", "iom-csv", "--db", dbURL, bad)
	if !strings.Contains(logs, "rejected: "+bad+":4 cxr_result: ") || !strings.Contains(logs, bad+":3 birth_date: ") {
		t.Errorf("stderr lacks the reject or the warning:\n%s", logs)
	}
	// Counts of one read in the singular (issue 14 item 14: "1 rows").
	if !strings.Contains(logs, "iom-csv: 3 persons, 3 stored, 0 failed; resources 0 created, 0 updated, ") ||
		!strings.Contains(logs, "; 1 row rejected, ") {
		t.Errorf("summary line:\n%s", logs)
	}
}

// `mekong export-source` writes what GET Patient/[id]/$export-source answers.
func TestExportSourceCommand(t *testing.T) {
	tmp := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(tmp, "m.db")
	if logs, err := runMekong(t, nil, "ingest", "--format", "iom-csv", "--db", dbURL, filepath.Join(mappingsDir, "iom", "testdata", "sample.csv")); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	patients, _ := storedVersions(t, dbURL)
	out := filepath.Join(tmp, "out.csv")
	if logs, err := runMekong(t, nil, "export-source", "--format", "iom-csv", "--patient", patients[0], "--db", dbURL, "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	b, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(b), "case_number,") || !strings.Contains(string(b), "KHM-MHA-2024-000") {
		t.Errorf("export:\n%s", b)
	}
	var stdout bytes.Buffer
	if _, err := runMekong(t, &stdout, "export-source", "--format", "th43", "--patient", patients[0], "--db", dbURL, "--hospcode", "10742", "--typearea", "4"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "PK") {
		t.Errorf("th43 export is not a ZIP: %.20q", stdout.String())
	}
	if _, err := runMekong(t, nil, "export-source", "--format", "th43", "--patient", "nobody", "--db", dbURL); err == nil || !strings.Contains(err.Error(), "not") {
		t.Errorf("missing patient: %v", err)
	}
}

// --dhis2-config is read and checked before anything is stored.
func TestIngestCommandDHIS2Config(t *testing.T) {
	tmp := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(tmp, "m.db")
	payload := filepath.Join(mappingsDir, "dhis2", "testdata", "sample.json")
	cfg := filepath.Join(mappingsDir, "dhis2", "example-config.json")
	if logs, err := runMekong(t, nil, "ingest", "--format", "dhis2", "--db", dbURL, "--dhis2-config", cfg, payload); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	broken := filepath.Join(tmp, "cfg.json")
	os.WriteFile(broken, []byte(`{"name":"x","attributes":[]}`), 0o644)
	if _, err := runMekong(t, nil, "ingest", "--format", "dhis2", "--db", dbURL, "--dhis2-config", broken, payload); err == nil || !strings.Contains(err.Error(), "--dhis2-config") {
		t.Errorf("broken configuration: %v", err)
	}
	if _, err := runMekong(t, nil, "ingest", "--format", "hl7", "--db", dbURL, payload); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("unknown format: %v", err)
	}
}
