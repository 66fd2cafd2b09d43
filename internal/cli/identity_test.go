package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/internal/backend"
	"github.com/mekong-fhir/mekong/internal/store"
)

// links reads the Patients a stored Patient's link names.
func linksOf(t *testing.T, dbURL, id string) string {
	t.Helper()
	db, err := backend.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Read(context.Background(), "Patient", id)
	if err != nil {
		t.Fatal(err)
	}
	return string(v.Content)
}

func patientByIdentifier(t *testing.T, dbURL, system, value string) string {
	t.Helper()
	db, err := backend.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	page, err := db.History(context.Background(), store.HistoryQuery{Type: "Patient", Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range page.Versions {
		if strings.Contains(string(v.Content), `"system":"`+system+`","value":"`+value+`"`) {
			return v.ID
		}
	}
	t.Fatalf("no Patient with %s|%s", system, value)
	return ""
}

// Issue 11: the command line's import and ingest link the Patients they
// write before they exit, with the shipped matcher, even when no server
// runs: two records sharing a passport (under two passport systems, so the
// ingest's identifier match does not merge them) become one linked person.
func TestImportAndIngestLink(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	nd := filepath.Join(t.TempDir(), "clinic.ndjson")
	// A Thai clinic's record of the IOM sample's second person.
	clinic := `{"resourceType":"Patient","id":"clinic-1","identifier":[{"system":"https://terms.sil-th.org/id/passport","value":"N02345678"}],` +
		`"name":[{"family":"Chan","given":["Sreymom"]}],"gender":"female","birthDate":"1988-11-02"}` + "\n" +
		`{"resourceType":"Patient","id":"clinic-2","identifier":[{"system":"https://terms.sil-th.org/id/passport","value":"N02345678"}],` +
		`"name":[{"family":"CHAN","given":["SREYMOM"]}],"gender":"female","birthDate":"1988-11-02"}` + "\n"
	if err := os.WriteFile(nd, []byte(clinic), 0o644); err != nil {
		t.Fatal(err)
	}
	logs, err := runMekong(t, nil, "import", "--db", dbURL, nd)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	if !strings.Contains(logs, `"msg":"linking done"`) || !strings.Contains(logs, `"linked":1`) {
		t.Errorf("import did not link:\n%s", logs)
	}
	if c := linksOf(t, dbURL, "clinic-1"); !strings.Contains(c, `"reference":"Patient/clinic-2"`) {
		t.Fatalf("clinic-1 after import: %s", c)
	}
	csv := filepath.Join(mappingsDir, "iom", "testdata", "sample.csv")
	if logs, err := runMekong(t, nil, "ingest", "--format", "iom-csv", "--db", dbURL, csv); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	iom := patientByIdentifier(t, dbURL, "http://hl7.org/fhir/sid/passport-KHM", "N02345678")
	c := linksOf(t, dbURL, iom)
	if !strings.Contains(c, `"reference":"Patient/clinic-1"`) || !strings.Contains(c, `"reference":"Patient/clinic-2"`) {
		t.Fatalf("the ingested IOM record is not linked to the clinic's: %s", c)
	}
}
