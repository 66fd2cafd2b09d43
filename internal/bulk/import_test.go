package bulk_test

// Bulk import: https://hl7.org/fhir/uv/bulkdata/export.html (NDJSON files,
// OperationOutcome error files) and the async pattern
// https://hl7.org/fhir/R4/async.html.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/bulk"
	"github.com/mekong-fhir/mekong/internal/rest"
	"github.com/mekong-fhir/mekong/internal/store"
	"github.com/mekong-fhir/mekong/internal/store/sqlstore"
)

const mixed = `{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1991-02-03"}
{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"subject":{"reference":"Patient/p1"}}
{"resourceType":"Patient","id":"p2",
{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"}}

{"resourceType":"Patient","id":"p3","birthDate":"1990-13-01"}
{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"511"}]},"patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2021-07-02"}
`

func TestImportGoodAndBadLines(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		im := &bulk.Importer{Svc: svc, Store: db}
		counts, errs := importAll(t, im, "mixed.ndjson", strings.NewReader(mixed))
		want := map[string]bulk.Counts{"Patient": {Created: 1}, "Observation": {Created: 1}, "Immunization": {Created: 1}}
		if d := cmp.Diff(want, counts); d != "" {
			t.Errorf("counts (-want +got):\n%s", d)
		}
		wantErrs := []string{
			`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"structure","diagnostics":"mixed.ndjson line 3: invalid JSON: unexpected end of input, expected a member name (a string) (line 1, column 37)","expression":["Patient"]}]}`,
			`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported","diagnostics":"mixed.ndjson line 4: resource type \"Encounter\" is not served here; supported types: [Immunization Observation Patient]","expression":["resourceType"]}]}`,
			`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value","diagnostics":"mixed.ndjson line 6: Patient.birthDate: the date \"1990-13-01\" does not exist (there is no month 13)","expression":["Patient.birthDate"]}]}`,
		}
		if d := cmp.Diff(wantErrs, errs); d != "" {
			t.Errorf("error lines (-want +got):\n%s", d)
		}
		if v, err := db.Read(context.Background(), "Patient", "p1"); err != nil || v.VersionID != 1 {
			t.Fatalf("p1: %v %v", v, err)
		}
	})
}

func TestReimportCreatesNoDuplicatesAndNoVersions(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		im := &bulk.Importer{Svc: svc, Store: db, BatchSize: 2}
		first, _ := importAll(t, im, "a.ndjson", strings.NewReader(mixed))
		second, _ := importAll(t, im, "a.ndjson", strings.NewReader(mixed))
		for typ, c := range first {
			if got := second[typ]; got.Unchanged != c.Created || got.Created != 0 || got.Updated != 0 {
				t.Errorf("%s: second import %+v, want all %d unchanged", typ, got, c.Created)
			}
			if n := versions(t, db, typ); n != int(c.Created) {
				t.Errorf("%s: %d versions after two imports, want %d", typ, n, c.Created)
			}
		}
		// A changed line gets exactly one new version; the same line twice
		// in one file is one resource.
		changed := `{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1991-02-04"}` + "\n" +
			`{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1991-02-04"}` + "\n" +
			`{"resourceType":"Patient","id":"new","gender":"male"}` + "\n" +
			`{"resourceType":"Patient","id":"new","gender":"male"}` + "\n"
		counts, _ := importAll(t, im, "b.ndjson", strings.NewReader(changed))
		if want := (bulk.Counts{Created: 1, Updated: 1, Unchanged: 2}); counts["Patient"] != want {
			t.Errorf("changed import: %+v, want %+v", counts["Patient"], want)
		}
		if v, _ := db.Read(context.Background(), "Patient", "p1"); v.VersionID != 2 || !bytes.Contains(v.Content, []byte(`"1991-02-04"`)) {
			t.Errorf("p1 after change: version %d %s", v.VersionID, v.Content)
		}
		if n := versions(t, db, "Patient"); n != 3 {
			t.Errorf("%d Patient versions, want 3 (p1 twice, new once)", n)
		}
	})
}

func TestImportGzip(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(mixed))
		zw.Close()
		counts, errs := importAll(t, &bulk.Importer{Svc: svc, Store: db}, "mixed.ndjson.gz", &gz)
		if counts["Patient"].Created != 1 || counts["Observation"].Created != 1 || len(errs) != 3 {
			t.Errorf("gzip import: %+v, %d errors", counts, len(errs))
		}
	})
}

// A killed import keeps whole batches only; running it again completes the
// job with every resource present once, in version 1, and searchable.
func TestImportKilledThenRerun(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		var lines strings.Builder
		for i := range 50 {
			fmt.Fprintf(&lines, `{"resourceType":"Patient","id":"k%d","identifier":[{"system":"urn:test","value":"v%d"}]}`+"\n", i, i)
		}
		im := &bulk.Importer{Svc: svc, Store: db, BatchSize: 7}
		ctx, cancel := context.WithCancel(context.Background())
		var committed int64
		err := im.Import(ctx, "k.ndjson", strings.NewReader(lines.String()), 0, func(b bulk.Batch) error {
			committed = b.Line
			if b.Line >= 14 {
				cancel() // the process dies after two batches
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("killed import returned %v, want context.Canceled", err)
		}
		if n := versions(t, db, "Patient"); n%7 != 0 || n < 14 {
			t.Fatalf("%d Patients stored after the kill: not whole batches", n)
		}
		// Resume from the committed line, as a job does, then run the whole
		// file once more, as a user re-running the command does.
		for _, skip := range []int64{committed, 0} {
			if err := im.Import(context.Background(), "k.ndjson", strings.NewReader(lines.String()), skip, func(bulk.Batch) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if n := versions(t, db, "Patient"); n != 50 {
			t.Fatalf("%d Patient versions, want 50", n)
		}
		for _, i := range []int{0, 13, 49} {
			v, err := db.Read(context.Background(), "Patient", fmt.Sprintf("k%d", i))
			if err != nil || v.VersionID != 1 {
				t.Errorf("k%d: %v %v", i, v, err)
			}
		}
		q, qerr := registry.Parse([]string{"Patient"}, url.Values{"identifier": {"urn:test|v13"}}, search.Options{})
		if qerr != nil {
			t.Fatal(qerr)
		}
		res, serr := db.Search(context.Background(), q)
		if serr != nil || len(res.Matches) != 1 {
			t.Errorf("search by identifier after resume: %v matches, %v", len(res.Matches), serr)
		}
	})
}

// Every write records a Provenance (https://hl7.org/fhir/R4/provenance.html),
// bulk loads too: one per batch and label set, in the batch's transaction,
// naming the agent who asked for the import; an HIV result's Provenance
// carries its labels, so it is hidden with it.
func TestImportRecordsProvenance(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		agent := &auth.Principal{Issuer: "https://idp.moph.go.th", Subject: "loader", ClientID: "hosxp", Organization: "Organization/th-chiangrai-hospital"}
		im := &bulk.Importer{Svc: svc, Store: db, Agent: agent}
		hiv := `{"resourceType":"Observation","id":"h1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"56888-1"}]},"subject":{"reference":"Patient/p1"}}` + "\n"
		if _, errs := importAll(t, im, "a.ndjson", strings.NewReader(mixed+hiv)); len(errs) != 3 {
			t.Fatalf("errors: %v", errs)
		}
		ctx := context.Background()
		find := func(target string) []string {
			q, err := svc.Registry().Parse([]string{"Provenance"}, url.Values{"target": {target}}, search.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := db.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, v := range res.Matches {
				out = append(out, string(v.Content))
			}
			return out
		}
		p1 := find("Patient/p1")
		if len(p1) != 1 || !strings.Contains(p1[0], `"Patient/p1/_history/1"`) || !strings.Contains(p1[0], `"Immunization/i1/_history/1"`) ||
			!strings.Contains(p1[0], "Organization/th-chiangrai-hospital") || strings.Contains(p1[0], "Observation/h1") {
			t.Errorf("Provenance of the unlabelled batch: %v", p1)
		}
		h1 := find("Observation/h1")
		if len(h1) != 1 || !strings.Contains(h1[0], `"code":"HIV"`) || strings.Contains(h1[0], "Patient/p1/_history") {
			t.Errorf("Provenance of the HIV result: %v", h1)
		}
		// A second import of the same lines writes nothing, so no new Provenance.
		importAll(t, im, "a.ndjson", strings.NewReader(mixed+hiv))
		if n := versions(t, db, "Provenance"); n != 2 {
			t.Errorf("%d Provenance versions after re-import, want 2", n)
		}
	})
}

// Batches are written several at a time, but a file that names one resource
// in several batches still ends with its last line as the current version,
// every line as a version in file order, and batches reported in order.
func TestParallelWritersKeepFileOrder(t *testing.T) {
	var b strings.Builder
	const lines, ids = 60, 3
	for i := range lines {
		fmt.Fprintf(&b, `{"resourceType":"Patient","id":"p%d","name":[{"family":"v%02d"}]}`+"\n", i%ids, i)
		fmt.Fprintf(&b, `{"resourceType":"Patient","id":"solo%d","gender":"female"}`+"\n", i)
	}
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		im := &bulk.Importer{Svc: svc, Store: db, BatchSize: 4, Writers: 4}
		var last int64
		err := im.Import(context.Background(), "order.ndjson", strings.NewReader(b.String()), 0, func(bt bulk.Batch) error {
			if bt.Line != last+4 {
				t.Errorf("batch reported after line %d ends at line %d, want %d", last, bt.Line, last+4)
			}
			last = bt.Line
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if last != 2*lines {
			t.Fatalf("last reported line %d, want %d", last, 2*lines)
		}
		for id := range ids {
			page, err := db.History(context.Background(), store.HistoryQuery{Type: "Patient", ID: fmt.Sprintf("p%d", id), Count: 1000})
			if err != nil {
				t.Fatal(err)
			}
			// History is newest first: version k holds line id+ids*(k-1).
			if len(page.Versions) != lines/ids {
				t.Fatalf("p%d: %d versions, want %d", id, len(page.Versions), lines/ids)
			}
			for _, v := range page.Versions {
				want := fmt.Sprintf(`"v%02d"`, id+ids*int(v.VersionID-1))
				if !bytes.Contains(v.Content, []byte(want)) {
					t.Errorf("p%d version %d: %s, want family %s", id, v.VersionID, v.Content, want)
				}
			}
		}
		if n := versions(t, db, "Patient"); n != 2*lines {
			t.Errorf("%d Patient versions, want %d", n, 2*lines)
		}
	})
}

// The server's records cannot be loaded by $import either (issue 15: audit
// records are never writable): an AuditEvent or Provenance line is an error
// line naming resourceType, nothing of it is stored, and the audit log holds
// no event a client wrote.
func TestImportRefusesServerRecords(t *testing.T) {
	eachStore(t, func(t *testing.T, db *sqlstore.DB, svc *rest.Service) {
		ctx := context.Background()
		im := &bulk.Importer{Svc: svc, Store: db}
		lines := `{"resourceType":"AuditEvent","id":"forged","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},"recorded":"2026-01-01T00:00:00Z","agent":[{"requestor":true,"who":{"display":"x"}}],"source":{"observer":{"display":"x"}}}
{"resourceType":"Provenance","id":"forged","target":[{"reference":"Patient/p1"}],"recorded":"2026-01-01T00:00:00Z","agent":[{"who":{"display":"x"}}]}
{"resourceType":"Patient","id":"p1"}
`
		counts, errs := importAll(t, im, "records.ndjson", strings.NewReader(lines))
		if len(counts) != 1 || counts["Patient"].Created != 1 {
			t.Fatalf("counts %v, want only the Patient", counts)
		}
		if len(errs) != 2 {
			t.Fatalf("error lines %v, want one per record line", errs)
		}
		for i, typ := range []string{"AuditEvent", "Provenance"} {
			if !strings.Contains(errs[i], fmt.Sprintf(`line %d: resource type \"%s\" is not served here`, i+1, typ)) || !strings.Contains(errs[i], `"expression":["resourceType"]`) {
				t.Errorf("error line %d: %s", i+1, errs[i])
			}
		}
		if _, err := db.Read(ctx, "Provenance", "forged"); err == nil {
			t.Error("the forged Provenance was stored")
		}
		page, err := db.SearchAudit(ctx, store.AuditQuery{Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if r.ID == "forged" {
				t.Fatalf("the forged AuditEvent is in the log: %+v", r)
			}
		}
		if _, err := db.ReadAudit(ctx, "forged"); err == nil {
			t.Error("AuditEvent/forged can be read from the log")
		}
	})
}
