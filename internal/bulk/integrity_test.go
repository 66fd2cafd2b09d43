package bulk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

// TestImportReportsDanglingReferences: an import checks references at the
// end (issue 14 item 7), since a file may name a Patient after the
// Observations that refer to it. What still refers to nothing is listed,
// element and target named; the resources stay stored.
func TestImportReportsDanglingReferences(t *testing.T) {
	const input = `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/later"}}
{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p404"},"encounter":{"reference":"Encounter/e1"}}
{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"text":"x"},"patient":{"reference":"Patient/later"},"occurrenceString":"2021"}
{"resourceType":"Patient","id":"later"}
`
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		since := time.Now().Add(-time.Second)
		im := &bulk.Importer{Svc: svc, Store: db, BatchSize: 2}
		counts, errs := importAll(t, im, "load.ndjson", strings.NewReader(input))
		if len(errs) != 0 || counts["Observation"].Created != 2 {
			t.Fatalf("counts %v errors %v", counts, errs)
		}
		lines, err := im.Dangling(context.Background(), since)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Observation/o2: Observation.subject refers to Patient/p404, which does not exist after the import (referential integrity; the resource is stored)","expression":["Observation.subject"]}]}`
		if len(lines) != 1 || string(lines[0]) != want {
			t.Errorf("dangling lines %q, want %s", lines, want)
		}
		svc.ReferentialIntegrity = false
		if lines, _ := im.Dangling(context.Background(), since); len(lines) != 0 {
			t.Errorf("with the check off: %q", lines)
		}
	})
}
