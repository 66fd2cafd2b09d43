package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// The audit log (store.AuditLog) is held to these on both databases: what
// is appended comes back field for field, searches answer the auditors'
// questions with keyset paging, the data's labels hide the events, the
// write's own record commits or rolls back with the write, and the hash
// chains name the first row that was edited or deleted.

func auditLog(t *testing.T, s store.Store) store.AuditLog {
	t.Helper()
	l, ok := s.(store.AuditLog)
	if !ok {
		t.Fatalf("%T does not implement store.AuditLog", s)
	}
	return l
}

var (
	hivLabel = store.AuditCoding{System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "HIV"}
	rLabel   = store.AuditCoding{System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "R", Display: "restricted | \"odd\"\tdisplay %"}
	at0      = time.Date(2026, 3, 14, 9, 30, 0, 123456000, time.UTC)
)

// rec is a record of a read of typ/id of patient by user.
func rec(at time.Time, user, patient, typ, id string, labels ...store.AuditCoding) store.AuditRecord {
	return store.AuditRecord{Recorded: at, Action: "R", Interaction: "read", Status: 200, Principal: true,
		Issuer: "https://idp.example", Subject: user, ClientID: "clinic-app", Organization: "Organization/moh-kh",
		Patient: patient, EntityType: typ, EntityID: id, EntityVersion: 1, RequestID: "req-" + id, Labels: labels,
		ClientAddress: "10.0.0.7", Server: "mekong.example", Source: "gw-1", TokenID: "jti-1", PurposeOfUse: []string{"TREAT"}}
}

// Every field of a record survives the round trip, including the overrides
// break-the-glass uses (CONTRACTS.md §4) and codings whose text holds the
// characters the row's encoding escapes.
func testAuditRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	btg := store.AuditRecord{Recorded: at0, Action: "E", Interaction: "operation", Status: 200, Principal: true,
		EventType: store.AuditCoding{System: "http://dicom.nema.org/resources/ontology/DCM", Code: "110113", Display: "Security Alert"},
		Subtypes:  []store.AuditCoding{{System: "http://dicom.nema.org/resources/ontology/DCM", Code: "110127", Display: "Emergency Override Started"}},
		Issuer:    "https://idp.example", Subject: "nurse|1", ClientID: "app", Organization: "urn:oid:1.2|x", TokenID: "t",
		PurposeOfUse: []string{"TREAT", "ETREAT"}, ClientAddress: "::1", Server: "h", Source: "gw",
		Patient: "p1", EntityType: "Patient", EntityID: "p1", Query: "name=Sok&_count=5", RequestID: "r1",
		Labels:         []store.AuditCoding{rLabel, hivLabel},
		PurposeOfEvent: []store.AuditCoding{{System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: "ETREAT", Display: "Emergency Treatment"}},
		Reason:         "unconscious\tat the border | post 100%"}
	anon := store.AuditRecord{Recorded: at0.Add(time.Second), Action: "R", Interaction: "read", Status: 401}
	recs := []store.AuditRecord{btg, anon}
	if err := l.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for i, want := range recs {
		if want.ID == "" || want.Chain == 0 || want.Seq == 0 || len(want.Hash) != 32 {
			t.Fatalf("record %d: AppendAudit did not place it on a chain: %+v", i, want)
		}
		got, err := l.ReadAudit(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("record %d read back differs:\n got %+v\nwant %+v", i, *got, want)
		}
	}
	if recs[1].Seq != recs[0].Seq+1 || recs[1].Chain != recs[0].Chain {
		t.Fatalf("one append is one stretch of one chain: %d/%d then %d/%d", recs[0].Chain, recs[0].Seq, recs[1].Chain, recs[1].Seq)
	}
	_, err := l.ReadAudit(ctx, "nope")
	wantStatus(t, err, http.StatusNotFound)
	_, err = l.ReadAudit(ctx, store.EncodeAuditID(at0, recs[0].Chain, 99))
	wantStatus(t, err, http.StatusNotFound)
}

func ids(p *store.AuditPage) string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.EntityID)
	}
	return strings.Join(out, ",")
}

// AuditEvent search (https://hl7.org/fhir/R4/auditevent.html#search): each
// criterion the REST layer resolves, ANDed, with OR'ed values, newest first
// and keyset-paged.
func testAuditSearch(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	var recs []store.AuditRecord
	for i := 0; i < 10; i++ {
		r := rec(at0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("u%d", i%2), fmt.Sprintf("p%d", i%3), "Observation", fmt.Sprintf("o%d", i))
		recs = append(recs, r)
	}
	recs[3].Action, recs[3].Interaction, recs[3].Query = "E", "search-type", "code=x"
	recs[4].Status = 404
	recs[5].Status = 503
	recs[6].EventType = store.AuditCoding{System: "http://dicom.nema.org/resources/ontology/DCM", Code: "110113"}
	recs[6].Subtypes = []store.AuditCoding{{System: "http://dicom.nema.org/resources/ontology/DCM", Code: "110127"}}
	recs[6].PurposeOfEvent = []store.AuditCoding{{System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: "ETREAT"}}
	recs[7].Source, recs[7].ClientID, recs[7].Organization = "gw-2", "other-app", "http://moph.go.th|11001"
	recs[8].PurposeOfUse = nil
	// Appended in two calls, as two requests would be.
	if err := l.AppendAudit(ctx, recs[:5]); err != nil {
		t.Fatal(err)
	}
	if err := l.AppendAudit(ctx, recs[5:]); err != nil {
		t.Fatal(err)
	}
	tok := func(system, code string) store.AuditToken { return store.AuditToken{System: system, Code: code} }
	anySys := func(code string) store.AuditToken { return store.AuditToken{AnySystem: true, Code: code} }
	dcm := "http://dicom.nema.org/resources/ontology/DCM"
	for _, c := range []struct {
		name string
		q    store.AuditQuery
		want string
	}{
		{"all, newest first", store.AuditQuery{}, "o9,o8,o7,o6,o5,o4,o3,o2,o1,o0"},
		{"oldest first", store.AuditQuery{Ascending: true}, "o0,o1,o2,o3,o4,o5,o6,o7,o8,o9"},
		{"patient", store.AuditQuery{Patients: [][]string{{"p1"}}}, "o7,o4,o1"},
		{"patient or patient", store.AuditQuery{Patients: [][]string{{"p1", "p2"}}}, "o8,o7,o5,o4,o2,o1"},
		{"patient and agent", store.AuditQuery{Patients: [][]string{{"p1"}}, Agents: [][]store.AuditAgent{{{Issuer: "https://idp.example", Subject: "u1"}}}}, "o7,o1"},
		{"agent from another issuer", store.AuditQuery{Agents: [][]store.AuditAgent{{{Issuer: "https://other", Subject: "u1"}}}}, ""},
		{"agent any issuer", store.AuditQuery{Agents: [][]store.AuditAgent{{{AnyIssuer: true, Subject: "u0"}}}}, "o8,o6,o4,o2,o0"},
		{"agent client", store.AuditQuery{Agents: [][]store.AuditAgent{{{ClientID: "other-app"}}}}, "o7"},
		{"agent organization", store.AuditQuery{Agents: [][]store.AuditAgent{{{Organizations: []string{"http://moph.go.th|11001"}}}}}, "o7"},
		{"date range", store.AuditQuery{Dates: [][]store.AuditRange{{{Lo: at0.Add(2 * time.Minute).UnixMicro(), Hi: at0.Add(4 * time.Minute).UnixMicro()}}}}, "o3,o2"},
		{"date open above", store.AuditQuery{Dates: [][]store.AuditRange{{{Lo: at0.Add(8 * time.Minute).UnixMicro()}}}}, "o9,o8"},
		{"date ne (two ranges)", store.AuditQuery{Dates: [][]store.AuditRange{{{Hi: at0.Add(time.Minute).UnixMicro()}, {Lo: at0.Add(9 * time.Minute).UnixMicro()}}}}, "o9,o0"},
		{"entity", store.AuditQuery{Entities: [][]store.AuditEntity{{{Type: "Observation", ID: "o5"}}}}, "o5"},
		{"entity version", store.AuditQuery{Entities: [][]store.AuditEntity{{{Type: "Observation", ID: "o5", Version: 2}}}}, ""},
		{"entity patient", store.AuditQuery{Entities: [][]store.AuditEntity{{{Type: "Patient", ID: "p2"}}}}, "o8,o5,o2"},
		{"entity request id", store.AuditQuery{Entities: [][]store.AuditEntity{{{RequestID: "req-o4"}}}}, "o4"},
		{"action", store.AuditQuery{Actions: [][]string{{"E"}}}, "o3"},
		{"outcome minor failure", store.AuditQuery{Outcomes: [][]string{{"4"}}}, "o4"},
		{"outcome serious failure", store.AuditQuery{Outcomes: [][]string{{"8"}}}, "o5"},
		{"outcome success", store.AuditQuery{Outcomes: [][]string{{"0"}}, Patients: [][]string{{"p1"}}}, "o7,o1"},
		{"type default", store.AuditQuery{Types: [][]store.AuditToken{{anySys("rest")}}}, "o9,o8,o7,o5,o4,o3,o2,o1,o0"},
		{"type override", store.AuditQuery{Types: [][]store.AuditToken{{tok(dcm, "110113")}}}, "o6"},
		{"subtype default", store.AuditQuery{Subtypes: [][]store.AuditToken{{tok(store.AuditSubtypeSystem, "search-type")}}}, "o3"},
		{"subtype override", store.AuditQuery{Subtypes: [][]store.AuditToken{{anySys("110127")}}}, "o6"},
		{"subtype system only", store.AuditQuery{Subtypes: [][]store.AuditToken{{{System: dcm, AnyCode: true}}}}, "o6"},
		{"source", store.AuditQuery{Sources: [][]string{{"gw-2"}}}, "o7"},
		{"purpose of event", store.AuditQuery{Purposes: [][]store.AuditToken{{anySys("ETREAT")}}}, "o6"},
		{"purpose of use (agent)", store.AuditQuery{Purposes: [][]store.AuditToken{{tok("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT")}}, Patients: [][]string{{"p2"}}}, "o5,o2"},
		{"id", store.AuditQuery{IDs: [][]string{{recs[2].ID, "unknown"}}}, "o2"},
	} {
		page, err := l.SearchAudit(ctx, withAll(c.q, 100))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(page); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}

	// Paging: pages of 3 see every row once, the total is carried, and rows
	// appended meanwhile do not move the boundary.
	var seen []string
	q := store.AuditQuery{Count: 3, Total: true}
	for n := 0; ; n++ {
		page, err := l.SearchAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 10 {
			t.Fatalf("page %d: total %d, want 10", n, page.Total)
		}
		seen = append(seen, ids(page))
		if n == 0 {
			if err := l.AppendAudit(ctx, []store.AuditRecord{rec(at0.Add(time.Hour), "u9", "p9", "Observation", "late")}); err != nil {
				t.Fatal(err)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if got := strings.Join(seen, "|"); got != "o9,o8,o7|o6,o5,o4|o3,o2,o1|o0" {
		t.Fatalf("pages %s", got)
	}
	// Oldest first, every page read appends a row at the far end (an
	// auditor's paging is itself audited): paging still ends, at the rows
	// there were when it began.
	q = store.AuditQuery{Count: 1, Ascending: true}
	pages := 0
	for ; pages < 50; pages++ {
		page, err := l.SearchAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AppendAudit(ctx, []store.AuditRecord{rec(time.Now(), "auditor", "", "", "")}); err != nil {
			t.Fatal(err)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if pages != 10 {
		t.Fatalf("oldest-first paging of 11 rows took %d pages, want 11", pages+1)
	}
	if _, err := l.SearchAudit(ctx, store.AuditQuery{Count: 3, Cursor: "garbage"}); err == nil {
		t.Fatal("a bad cursor was accepted")
	} else {
		wantStatus(t, err, http.StatusBadRequest)
	}
	page, err := l.SearchAudit(ctx, store.AuditQuery{Total: true, Patients: [][]string{{"p0"}}})
	if err != nil || page.Total != 4 || len(page.Records) != 0 {
		t.Fatalf("count only: %+v %v", page, err)
	}
}

func withAll(q store.AuditQuery, n int) store.AuditQuery {
	q.Count = n
	return q
}

// Labels hide the events like the data (issue 5's promise): a token that
// may not see HIV data sees no event of an HIV record; a patient-limited
// grant sees its patient's events only; a token without AuditEvent access
// sees none.
func testAuditAccess(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	recs := []store.AuditRecord{
		rec(at0, "u", "p1", "Observation", "plain"),
		rec(at0.Add(time.Second), "u", "p1", "Observation", "hiv", hivLabel),
		rec(at0.Add(2*time.Second), "u", "p2", "Observation", "restricted", rLabel),
		rec(at0.Add(3*time.Second), "u", "p2", "Observation", "both", rLabel, hivLabel),
	}
	if err := l.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	hiv := hivLabel.System + "|" + hivLabel.Code
	for _, c := range []struct {
		name string
		acc  *store.Access
		want string
	}{
		{"everything", &store.Access{Types: map[string]string{"AuditEvent": ""}}, "both,restricted,hiv,plain"},
		{"no HIV", &store.Access{Types: map[string]string{"AuditEvent": ""}, Hidden: []string{hiv}}, "restricted,plain"},
		{"no HIV, no R", &store.Access{Types: map[string]string{"AuditEvent": ""}, Hidden: []string{hiv, rLabel.System + "|R"}}, "plain"},
		{"patient p2", &store.Access{Types: map[string]string{"AuditEvent": "p2"}}, "both,restricted"},
		{"no AuditEvent", &store.Access{Types: map[string]string{"Observation": ""}}, ""},
		{"all", &store.Access{All: true}, "both,restricted,hiv,plain"},
	} {
		actx := store.WithAccess(ctx, c.acc)
		page, err := l.SearchAudit(actx, store.AuditQuery{Count: 10, Total: true})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(page); got != c.want || page.Total != len(page.Records) {
			t.Errorf("%s: %q (total %d), want %q", c.name, got, page.Total, c.want)
		}
		for _, r := range recs {
			_, err := l.ReadAudit(actx, r.ID)
			visible := strings.Contains(","+c.want+",", ","+r.EntityID+",")
			if visible && err != nil {
				t.Errorf("%s: read %s: %v", c.name, r.EntityID, err)
			}
			if !visible {
				wantStatus(t, err, http.StatusNotFound)
			}
		}
	}
}

// A write's own record goes into the log in the write's transaction: it
// commits with the write and disappears with a rollback, and the chains
// stay whole either way.
func testAuditInWriteTransaction(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	record := func(v *store.Version, _ []byte) ([]store.Write, error) {
		r := rec(time.Now(), "writer", "p1", v.Type, v.ID)
		r.Action, r.Interaction, r.EntityVersion = "C", "create", v.VersionID
		return []store.Write{{Audit: &r}}, nil
	}
	put(t, s, store.Write{Type: "Observation", ID: "kept", Record: record})
	boom := errors.New("boom")
	err := s.Transaction(ctx, func(tx store.Tx) error {
		if _, err := tx.Write(ctx, store.Write{Type: "Observation", ID: "rolled-back", Method: store.MethodPut, Render: body("Observation", "x"), Record: record}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	err = s.Transaction(ctx, func(tx store.Tx) error {
		ws := []store.Write{
			{Type: "Observation", ID: "b1", Method: store.MethodPut, Render: body("Observation", "b1"), Record: record},
			{Type: "Observation", ID: "b2", Method: store.MethodPut, Render: body("Observation", "b2"), Record: record},
		}
		_, err := tx.WriteBatch(ctx, ws)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, store.Write{Type: "Observation", ID: "kept", Record: record})
	page, err := l.SearchAudit(ctx, store.AuditQuery{Count: 10, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Records {
		got = append(got, fmt.Sprintf("%s/%d", r.EntityID, r.EntityVersion))
	}
	if strings.Join(got, ",") != "kept/1,b1/1,b2/1,kept/2" {
		t.Fatalf("log %v, want the committed writes' records only", got)
	}
	verifyClean(t, l, 4)
}

func verifyClean(t *testing.T, l store.AuditLog, rows int64) {
	t.Helper()
	v, err := l.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Broken) > 0 || v.Rows != rows {
		t.Fatalf("verify: %d rows in %d chains, broken %v; want %d rows, none broken", v.Rows, v.Chains, v.Broken, rows)
	}
}

// Many requests append at once, through the log's own transactions and
// through writes: every row is there once and every chain verifies.
func testAuditConcurrentChains(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if w%2 == 0 {
					errs <- l.AppendAudit(ctx, []store.AuditRecord{rec(time.Now(), "u", "p", "Observation", id)})
					continue
				}
				_, err := s.Write(ctx, store.Write{Type: "Observation", ID: id, Method: store.MethodPut, Render: body("Observation", id),
					Record: func(v *store.Version, _ []byte) ([]store.Write, error) {
						r := rec(time.Now(), "u", "p", v.Type, v.ID)
						return []store.Write{{Audit: &r}}, nil
					}})
				errs <- err
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	verifyClean(t, l, workers*each)
	page, err := l.SearchAudit(ctx, store.AuditQuery{Total: true})
	if err != nil || page.Total != workers*each {
		t.Fatalf("total %+v %v", page, err)
	}
}

// Records of two months are on different chains, so a month archived (a
// PostgreSQL partition detached) leaves the others verifiable; a month far
// from now gets its partition on the way.
func testAuditMonths(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	recs := []store.AuditRecord{
		rec(time.Date(2019, 1, 31, 23, 59, 59, 0, time.UTC), "u", "p", "Observation", "jan"),
		rec(time.Date(2019, 2, 1, 0, 0, 0, 0, time.UTC), "u", "p", "Observation", "feb"),
	}
	if err := l.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if recs[0].Chain == recs[1].Chain || recs[1].Seq != 1 {
		t.Fatalf("a chain spans two months: %d/%d and %d/%d", recs[0].Chain, recs[0].Seq, recs[1].Chain, recs[1].Seq)
	}
	verifyClean(t, l, 2)
	if db := s.(interface{ Writer() *sql.DB }).Writer(); isPostgres(db) {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log_default`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows (%v) fell into the default partition: the months' partitions were not made", n, err)
		}
	}
	for _, r := range recs {
		if _, err := l.ReadAudit(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// Tamper evidence: a row edited in the database, and a row deleted from the
// middle of a chain, are each named as the first broken link of its chain.
func testAuditVerifyFindsTampering(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	db := s.(interface{ Writer() *sql.DB }).Writer()
	var a, b []store.AuditRecord
	for i := 0; i < 5; i++ {
		a = append(a, rec(at0.Add(time.Duration(i)*time.Second), "u", "p1", "Observation", fmt.Sprintf("a%d", i)))
	}
	if err := l.AppendAudit(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A second chain (another month's), written by a write transaction.
	put(t, s, store.Write{Type: "Observation", ID: "w", Record: func(v *store.Version, _ []byte) ([]store.Write, error) {
		for i := 0; i < 4; i++ {
			b = append(b, rec(at0.AddDate(0, 1, 0).Add(time.Duration(i)*time.Second), "u", "p2", "Observation", fmt.Sprintf("b%d", i)))
		}
		out := make([]store.Write, len(b))
		for i := range b {
			out[i] = store.Write{Audit: &b[i]}
		}
		return out, nil
	}})
	verifyClean(t, l, 9)
	page, err := l.SearchAudit(ctx, store.AuditQuery{Count: 10, Patients: [][]string{{"p2"}}, Ascending: true})
	if err != nil || len(page.Records) != 4 {
		t.Fatalf("%+v %v", page, err)
	}
	b = page.Records
	where := "WHERE chain = ? AND seq = ?"
	if isPostgres(db) {
		where = "WHERE chain = $1 AND seq = $2"
	}
	// Someone hides that user u read a0..a4: the third row now says another patient.
	if _, err := db.ExecContext(ctx, `UPDATE audit_log SET patient = 'p9' `+where, a[2].Chain, a[2].Seq); err != nil {
		t.Fatal(err)
	}
	// And removes the second row of the other chain.
	if _, err := db.ExecContext(ctx, `DELETE FROM audit_log `+where, b[1].Chain, b[1].Seq); err != nil {
		t.Fatal(err)
	}
	v, err := l.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Rows != 8 || v.Chains != 2 || len(v.Broken) != 2 {
		t.Fatalf("verify: %d rows, %d chains, broken %v", v.Rows, v.Chains, v.Broken)
	}
	for _, br := range v.Broken {
		switch br.Chain {
		case a[2].Chain:
			if br.Seq != a[2].Seq || br.ID != a[2].ID || !strings.Contains(br.Reason, "edited") {
				t.Errorf("edited row: %v, want %s", br, a[2].ID)
			}
		case b[1].Chain:
			if br.Seq != b[2].Seq || !strings.Contains(br.Reason, "missing") {
				t.Errorf("deleted row: %v, want the row after seq %d", br, b[1].Seq)
			}
		default:
			t.Errorf("unexpected break %v", br)
		}
	}
}

func isPostgres(db *sql.DB) bool {
	var v string
	return db.QueryRow(`SELECT version()`).Scan(&v) == nil && strings.Contains(v, "PostgreSQL")
}

// AuditEvents written as resources before the log existed are moved into
// it with their ids and JSON, and their resource rows go: nothing is lost
// and nothing is served twice. A second run moves nothing.
func testAuditMigrateLegacy(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("old-%d", i)
		put(t, s, store.Write{Type: "AuditEvent", ID: id, Method: store.MethodPost})
	}
	put(t, s, store.Write{Type: "Observation", ID: "data"})
	convert := func(id string, content []byte) (store.AuditRecord, error) {
		if !strings.Contains(string(content), `"AuditEvent"`) {
			return store.AuditRecord{}, fmt.Errorf("not an AuditEvent: %s", content)
		}
		r := rec(at0, "legacy", "p1", "Observation", "from-"+id)
		return r, nil
	}
	n, err := l.MigrateLegacyAudit(ctx, convert)
	if err != nil || n != 3 {
		t.Fatalf("moved %d: %v", n, err)
	}
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("old-%d", i)
		r, err := l.ReadAudit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != id || !strings.Contains(string(r.Legacy), `"id":"`+id+`"`) || r.EntityID != "from-"+id {
			t.Fatalf("moved record %+v", r)
		}
		_, err = s.Read(ctx, "AuditEvent", id)
		wantStatus(t, err, http.StatusNotFound)
	}
	if _, err := s.Read(ctx, "Observation", "data"); err != nil {
		t.Fatal("the migration touched data:", err)
	}
	page, err := l.SearchAudit(ctx, store.AuditQuery{Count: 10, Agents: [][]store.AuditAgent{{{AnyIssuer: true, Subject: "legacy"}}}})
	if err != nil || len(page.Records) != 3 {
		t.Fatalf("moved records not searchable: %+v %v", page, err)
	}
	if n, err := l.MigrateLegacyAudit(ctx, convert); err != nil || n != 0 {
		t.Fatalf("second run moved %d: %v", n, err)
	}
	verifyClean(t, l, 3)
}

// The indexes serve what auditors ask (issue 15): a patient's events and a
// user's events come off their (patient|subject, time) indexes, and a time
// range off the primary key, never a scan of the whole log, on a log of a
// few thousand rows with statistics.
func testAuditIndexes(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := auditLog(t, s)
	ex, ok := s.(interface {
		ExplainAudit(context.Context, store.AuditQuery) (string, error)
	})
	if !ok {
		t.Fatalf("%T cannot explain audit searches", s)
	}
	var recs []store.AuditRecord
	for i := 0; i < 4000; i++ {
		r := rec(at0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("u%d", i%40), fmt.Sprintf("p%d", i%200), "Observation", fmt.Sprint("o", i))
		recs = append(recs, r)
	}
	if err := l.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	db := s.(interface{ Writer() *sql.DB }).Writer()
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	week := store.AuditRange{Lo: at0.Add(24 * time.Hour).UnixMicro(), Hi: at0.Add(48 * time.Hour).UnixMicro()}
	pg := isPostgres(db)
	for _, c := range []struct {
		name  string
		q     store.AuditQuery
		index string // the index the plan must name
	}{
		{"patient", store.AuditQuery{Patients: [][]string{{"p7"}}}, "patient"},
		{"patient and time", store.AuditQuery{Patients: [][]string{{"p7"}}, Dates: [][]store.AuditRange{{week}}}, "patient"},
		{"user", store.AuditQuery{Agents: [][]store.AuditAgent{{{Issuer: "https://idp.example", Subject: "u3"}}}}, "agent"},
		{"user and time", store.AuditQuery{Agents: [][]store.AuditAgent{{{Subject: "u3", AnyIssuer: true}}}, Dates: [][]store.AuditRange{{week}}}, "agent"},
		{"time", store.AuditQuery{Dates: [][]store.AuditRange{{week}}}, "pkey"},
	} {
		c.q.Count = 20
		plan, err := ex.ExplainAudit(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		want := c.index
		if !pg {
			want = map[string]string{"patient": "INDEX audit_log_patient", "agent": "INDEX audit_log_agent", "pkey": "USING INDEX sqlite_autoindex_audit_log_1"}[c.index]
		}
		if pg && c.index == "agent" {
			want = "subject" // a partition's index is named for its columns
		}
		// Every row is in March 2026's partition (PostgreSQL; the empty
		// ones may be scanned).
		if !strings.Contains(plan, want) || strings.Contains(plan, "Seq Scan on audit_log_y2026m03") {
			t.Errorf("%s: the plan does not use the index %q:\n%s", c.name, want, plan)
		}
	}
}
