// Package storetest is the contract every store.Store must meet. Each backend
// runs Run against a fresh database, so the two cannot drift apart.
package storetest

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// Factory returns a new, migrated, empty store; it is closed by the suite.
type Factory func(t *testing.T) store.Store

// Run runs the contract suite.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CreateReadVRead", testCreateReadVRead},
		{"UpdateKeepsEveryVersion", testUpdateKeepsEveryVersion},
		{"DeleteIsLogical", testDeleteIsLogical},
		{"IfMatch", testIfMatch},
		{"IfNoneMatch", testIfNoneMatch},
		{"ConditionalCreate", testConditionalCreate},
		{"ConcurrentConditionalCreateCreatesOne", testConcurrentConditionalCreate},
		{"ConcurrentUpdatesLoseNoVersion", testConcurrentUpdates},
		{"ConcurrentIfMatchOneWinnerPerVersion", testConcurrentIfMatch},
		{"ConcurrentCreateOfOneID", testConcurrentCreateSameID},
		{"History", testHistory},
		{"LastUpdatedNeverGoesBack", testLastUpdatedMonotonic},
		{"Compartment", testCompartment},
		{"CompartmentSince", testCompartmentSince},
		{"CompartmentCursorBound", testCompartmentCursorBound},
		{"BatchWrites", testBatchWrites},
		{"BatchIDCollision", testBatchIDCollision},
		{"BatchIfMatchRollsBack", testBatchIfMatchRollsBack},
		{"BatchConditional", testBatchConditional},
		{"BulkLoadNew", testBulkLoadNew},
		{"BulkExportPage", testBulkExportPage},
		{"Jobs", testJobs},
		{"HealthCards", testHealthCards},
		{"Access", testAccess},
		{"RecordSameTransaction", testRecordSameTransaction},
		{"DanglingReferences", testDanglingReferences},
		{"Sessions", testSessions},
		{"BreakGlass", testBreakGlass},
		{"MatchKeys", testMatchKeys},
		{"IdentityQueue", testIdentityQueue},
		{"LinkedSets", testLinkedSets},
		{"ReviewQueue", testReviewQueue},
		{"CompartmentLinked", testCompartmentLinked},
		// The audit log (auditlog.go).
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditSearch", testAuditSearch},
		{"AuditAccess", testAuditAccess},
		{"AuditInWriteTransaction", testAuditInWriteTransaction},
		{"AuditConcurrentChains", testAuditConcurrentChains},
		{"AuditMonths", testAuditMonths},
		{"AuditVerifyFindsTampering", testAuditVerifyFindsTampering},
		{"AuditMigrateLegacy", testAuditMigrateLegacy},
		{"AuditIndexes", testAuditIndexes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func body(typ, _ string) func(string, int64, time.Time) []byte {
	return func(id string, v int64, at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"resourceType":%q,"id":%q,"meta":{"versionId":"%d","lastUpdated":%q}}`, typ, id, v, at.Format(time.RFC3339Nano)))
	}
}

func put(t *testing.T, s store.Store, w store.Write) *store.Result {
	t.Helper()
	if w.Method == "" {
		w.Method = store.MethodPut
	}
	if w.Render == nil && w.Method != store.MethodDelete {
		w.Render = body(w.Type, w.ID)
	}
	r, err := s.Write(context.Background(), w)
	if err != nil {
		t.Fatalf("Write(%s %s/%s): %v", w.Method, w.Type, w.ID, err)
	}
	return r
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	e, ok := outcome.As(err)
	if !ok || e.Status != status {
		t.Fatalf("got error %v, want outcome status %d", err, status)
	}
}

// https://hl7.org/fhir/R4/http.html#read and #vread
func testCreateReadVRead(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := put(t, s, store.Write{Type: "Patient", ID: "p1", Method: store.MethodPost})
	if r.Outcome != store.Created || r.Version.VersionID != 1 || r.Version.Seq == 0 {
		t.Fatalf("create result %+v", r)
	}
	got, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Content) != string(r.Version.Content) || got.VersionID != 1 || !got.LastUpdated.Equal(r.Version.LastUpdated) {
		t.Fatalf("read %+v, wrote %+v", got, r.Version)
	}
	v, err := s.VRead(ctx, "Patient", "p1", 1)
	if err != nil || string(v.Content) != string(r.Version.Content) || v.Method != store.MethodPost {
		t.Fatalf("vread %+v %v", v, err)
	}
	_, err = s.Read(ctx, "Patient", "nope")
	wantStatus(t, err, http.StatusNotFound)
	_, err = s.VRead(ctx, "Patient", "p1", 2)
	wantStatus(t, err, http.StatusNotFound)
	_, err = s.Read(ctx, "Observation", "p1")
	wantStatus(t, err, http.StatusNotFound)
}

// https://hl7.org/fhir/R4/http.html#update: every version is kept.
func testUpdateKeepsEveryVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		r := put(t, s, store.Write{Type: "Observation", ID: "o1"})
		want := store.Updated
		if i == 1 {
			want = store.Created
		}
		if r.Outcome != want || r.Version.VersionID != int64(i) {
			t.Fatalf("write %d: %+v", i, r)
		}
	}
	for i := int64(1); i <= 3; i++ {
		v, err := s.VRead(ctx, "Observation", "o1", i)
		if err != nil || v.VersionID != i {
			t.Fatalf("vread %d: %+v %v", i, v, err)
		}
	}
}

// https://hl7.org/fhir/R4/http.html#delete: logical, idempotent.
func testDeleteIsLogical(t *testing.T, s store.Store) {
	ctx := context.Background()
	if r := put(t, s, store.Write{Type: "Patient", ID: "gone", Method: store.MethodDelete}); r.Outcome != store.Unchanged || r.Version != nil {
		t.Fatalf("delete of missing: %+v", r)
	}
	put(t, s, store.Write{Type: "Patient", ID: "d", Index: tokens("s", "1")})
	r := put(t, s, store.Write{Type: "Patient", ID: "d", Method: store.MethodDelete})
	if r.Outcome != store.Deleted || r.Version.VersionID != 2 || !r.Version.Deleted {
		t.Fatalf("delete: %+v", r)
	}
	cur, err := s.Read(ctx, "Patient", "d")
	if err != nil || !cur.Deleted || cur.VersionID != 2 {
		t.Fatalf("read after delete: %+v %v", cur, err)
	}
	if r := put(t, s, store.Write{Type: "Patient", ID: "d", Method: store.MethodDelete}); r.Outcome != store.Unchanged || r.Version.VersionID != 2 {
		t.Fatalf("second delete: %+v", r)
	}
	if v, err := s.VRead(ctx, "Patient", "d", 1); err != nil || v.Deleted {
		t.Fatalf("old version after delete: %+v %v", v, err)
	}
	// A deleted resource no longer matches conditions on its old index rows.
	cond := tokenQuery("Patient", search.Token{System: "s", Code: "1"})
	r = put(t, s, store.Write{Type: "Patient", ID: "new", Method: store.MethodPost, IfNoneExist: cond})
	if r.Outcome != store.Created || r.Version.ID != "new" {
		t.Fatalf("conditional create after delete: %+v", r)
	}
	// Update after delete re-creates it with the next version number.
	r = put(t, s, store.Write{Type: "Patient", ID: "d"})
	if r.Outcome != store.Created || r.Version.VersionID != 3 {
		t.Fatalf("re-create: %+v", r)
	}
}

// https://hl7.org/fhir/R4/http.html#concurrency
func testIfMatch(t *testing.T, s store.Store) {
	put(t, s, store.Write{Type: "Patient", ID: "m"})
	put(t, s, store.Write{Type: "Patient", ID: "m", IfMatch: 1})
	_, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: "m", Method: store.MethodPut, IfMatch: 1, Render: body("Patient", "m")})
	wantStatus(t, err, http.StatusPreconditionFailed)
	_, err = s.Write(context.Background(), store.Write{Type: "Patient", ID: "absent", Method: store.MethodPut, IfMatch: 1, Render: body("Patient", "absent")})
	wantStatus(t, err, http.StatusPreconditionFailed)
	if v, _ := s.Read(context.Background(), "Patient", "m"); v.VersionID != 2 {
		t.Fatalf("failed write changed the resource: %+v", v)
	}
}

func testIfNoneMatch(t *testing.T, s store.Store) {
	r := put(t, s, store.Write{Type: "Patient", ID: "n", IfNoneMatch: true})
	if r.Outcome != store.Created {
		t.Fatalf("%+v", r)
	}
	_, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: "n", Method: store.MethodPut, IfNoneMatch: true, Render: body("Patient", "n")})
	wantStatus(t, err, http.StatusPreconditionFailed)
}

var (
	identifierParam = &search.Param{Code: "identifier", Type: search.TypeToken}
	idParam         = &search.Param{Code: "_id", Type: search.TypeToken, Column: "id"}
)

// tokenQuery is identifier=<token> on typ, as the registry would parse it.
func tokenQuery(typ string, tok search.Token) *search.Query {
	return &search.Query{Types: []string{typ}, Canonical: fmt.Sprintf("identifier=%+v", tok),
		And: []search.Criterion{{Name: "identifier", Param: identifierParam, Values: []search.Value{{Token: tok}}}}}
}

func identifier(value string) *search.Query {
	return tokenQuery("Patient", search.Token{System: "urn:x", Code: value})
}

func tokens(system, code string) *search.Index {
	return &search.Index{Tokens: []search.TokenRow{{Param: "identifier", System: system, Code: code}}}
}

// https://hl7.org/fhir/R4/http.html#ccreate
func testConditionalCreate(t *testing.T, s store.Store) {
	tok := func(v string) *search.Index { return tokens("urn:x", v) }
	r := put(t, s, store.Write{Type: "Patient", ID: "c1", Method: store.MethodPost, IfNoneExist: identifier("A"), Index: tok("A")})
	if r.Outcome != store.Created {
		t.Fatalf("no match should create: %+v", r)
	}
	r = put(t, s, store.Write{Type: "Patient", ID: "c2", Method: store.MethodPost, IfNoneExist: identifier("A"), Index: tok("A")})
	if r.Outcome != store.Unchanged || r.Version.ID != "c1" || len(r.Version.Content) == 0 {
		t.Fatalf("one match should return it: %+v", r)
	}
	if _, err := s.Read(context.Background(), "Patient", "c2"); err == nil {
		t.Fatal("matched conditional create stored a resource")
	}
	// Token forms: code in any system, system only, and _id.
	anyCode := tokenQuery("Patient", search.Token{AnySystem: true, Code: "A"})
	if r := put(t, s, store.Write{Type: "Patient", ID: "c3", Method: store.MethodPost, IfNoneExist: anyCode}); r.Version.ID != "c1" {
		t.Fatalf("code without system: %+v", r)
	}
	sysOnly := tokenQuery("Patient", search.Token{System: "urn:x", AnyCode: true})
	if r := put(t, s, store.Write{Type: "Patient", ID: "c4", Method: store.MethodPost, IfNoneExist: sysOnly}); r.Version.ID != "c1" {
		t.Fatalf("system only: %+v", r)
	}
	noSys := tokenQuery("Patient", search.Token{System: "", Code: "A"})
	if r := put(t, s, store.Write{Type: "Patient", ID: "c5", Method: store.MethodPost, IfNoneExist: noSys}); r.Outcome != store.Created {
		t.Fatalf("|code must not match a value with a system: %+v", r)
	}
	byID := &search.Query{Types: []string{"Patient"}, Canonical: "_id=c1",
		And: []search.Criterion{{Name: "_id", Param: idParam, Values: []search.Value{{Token: search.Token{AnySystem: true, Code: "c1"}}}}}}
	if r := put(t, s, store.Write{Type: "Patient", ID: "c6", Method: store.MethodPost, IfNoneExist: byID}); r.Version.ID != "c1" {
		t.Fatalf("_id: %+v", r)
	}
	if r := put(t, s, store.Write{Type: "Observation", ID: "c7", Method: store.MethodPost, IfNoneExist: tokenQuery("Observation", search.Token{System: "urn:x", Code: "A"})}); r.Outcome != store.Created {
		t.Fatalf("criteria are per type: %+v", r)
	}
	// Case matters for tokens.
	if r := put(t, s, store.Write{Type: "Patient", ID: "c8", Method: store.MethodPost, IfNoneExist: identifier("a"), Index: tok("a")}); r.Outcome != store.Created {
		t.Fatalf("token match must be case-sensitive: %+v", r)
	}
	// Several matches: 412.
	put(t, s, store.Write{Type: "Patient", ID: "dup", Index: tok("A")})
	_, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: "c9", Method: store.MethodPost, IfNoneExist: identifier("A"), Render: body("Patient", "c9")})
	wantStatus(t, err, http.StatusPreconditionFailed)
}

func testConcurrentConditionalCreate(t *testing.T, s store.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := "cc" + strconv.Itoa(i)
			_, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: id, Method: store.MethodPost,
				IfNoneExist: identifier("same"), Render: body("Patient", id),
				Index: tokens("urn:x", "same")})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	created := 0
	for i := 0; i < n; i++ {
		if _, err := s.Read(context.Background(), "Patient", "cc"+strconv.Itoa(i)); err == nil {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d identical concurrent conditional creates stored %d resources, want 1", n, created)
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	const writers, each = 8, 10
	put(t, s, store.Write{Type: "Patient", ID: "hot"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var versions []int64
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: "hot", Method: store.MethodPut, Render: body("Patient", "hot")})
				if e, ok := outcome.As(err); ok && e.Status == http.StatusConflict {
					continue // a permitted loser
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				versions = append(versions, r.Version.VersionID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	for i, v := range versions {
		if v != int64(i+2) {
			t.Fatalf("versions written %v: want 2..%d each once", versions, len(versions)+1)
		}
	}
	cur, _ := s.Read(context.Background(), "Patient", "hot")
	if cur.VersionID != int64(len(versions)+1) {
		t.Fatalf("current version %d after %d successful updates", cur.VersionID, len(versions))
	}
	page, err := s.History(context.Background(), store.HistoryQuery{Type: "Patient", ID: "hot", Count: 1000})
	if err != nil || len(page.Versions) != len(versions)+1 {
		t.Fatalf("history has %d versions, want %d (%v)", len(page.Versions), len(versions)+1, err)
	}
	if len(versions) < writers*each/2 {
		t.Fatalf("only %d of %d unconditional updates succeeded", len(versions), writers*each)
	}
}

func testConcurrentIfMatch(t *testing.T, s store.Store) {
	put(t, s, store.Write{Type: "Patient", ID: "race"})
	const n = 12
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: "race", Method: store.MethodPut, IfMatch: 1, Render: body("Patient", "race")})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		if err == nil {
			wins++
			continue
		}
		if e, ok := outcome.As(err); !ok || (e.Status != http.StatusPreconditionFailed && e.Status != http.StatusConflict) {
			t.Fatalf("loser got %v, want 412 or 409", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers with If-Match 1 succeeded, want exactly 1", wins)
	}
}

func testConcurrentCreateSameID(t *testing.T, s store.Store) {
	const n = 10
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Write(context.Background(), store.Write{Type: "Patient", ID: "fresh", Method: store.MethodPut, Render: body("Patient", "fresh")}); err != nil {
				if e, ok := outcome.As(err); !ok || e.Status != http.StatusConflict {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	page, err := s.History(context.Background(), store.HistoryQuery{Type: "Patient", ID: "fresh", Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, v := range page.Versions {
		if seen[v.VersionID] {
			t.Fatalf("version %d written twice", v.VersionID)
		}
		seen[v.VersionID] = true
	}
	if !seen[1] || len(seen) == 0 {
		t.Fatalf("versions %v", seen)
	}
}

// https://hl7.org/fhir/R4/http.html#history: newest first, _since, paging.
func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, store.Write{Type: "Patient", ID: "h1", Method: store.MethodPost})
	put(t, s, store.Write{Type: "Observation", ID: "h2", Method: store.MethodPost})
	put(t, s, store.Write{Type: "Patient", ID: "h1"})
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	put(t, s, store.Write{Type: "Patient", ID: "h1", Method: store.MethodDelete})
	put(t, s, store.Write{Type: "Patient", ID: "h3"})

	all, err := s.History(ctx, store.HistoryQuery{Count: 100})
	if err != nil || len(all.Versions) != 5 || all.Next != 0 {
		t.Fatalf("system history %d versions, next %d, %v", len(all.Versions), all.Next, err)
	}
	for i := 1; i < len(all.Versions); i++ {
		if all.Versions[i-1].Seq <= all.Versions[i].Seq {
			t.Fatal("system history not newest first")
		}
	}
	if d := all.Versions[1]; !d.Deleted || d.Method != store.MethodDelete || d.Content != nil {
		t.Fatalf("delete entry %+v", d)
	}
	typ, _ := s.History(ctx, store.HistoryQuery{Type: "Patient", Count: 100})
	if len(typ.Versions) != 4 {
		t.Fatalf("type history %d", len(typ.Versions))
	}
	inst, _ := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "h1", Count: 100})
	if len(inst.Versions) != 3 || inst.Versions[0].VersionID != 3 || inst.Versions[2].VersionID != 1 {
		t.Fatalf("instance history %+v", inst.Versions)
	}
	since, _ := s.History(ctx, store.HistoryQuery{Since: mid, Count: 100})
	if len(since.Versions) != 2 {
		t.Fatalf("_since gave %d versions, want 2", len(since.Versions))
	}
	// Paging: two per page; a version written while paging does not shift pages.
	p1, _ := s.History(ctx, store.HistoryQuery{Count: 2})
	if len(p1.Versions) != 2 || p1.Next == 0 {
		t.Fatalf("page 1 %+v", p1)
	}
	put(t, s, store.Write{Type: "Patient", ID: "late"})
	p2, _ := s.History(ctx, store.HistoryQuery{Count: 2, Before: p1.Next})
	p3, _ := s.History(ctx, store.HistoryQuery{Count: 2, Before: p2.Next})
	got := []int64{}
	for _, p := range []*store.HistoryPage{p1, p2, p3} {
		for _, v := range p.Versions {
			got = append(got, v.Seq)
		}
	}
	want := []int64{}
	for _, v := range all.Versions {
		want = append(want, v.Seq)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || p3.Next != 0 {
		t.Fatalf("paged seqs %v, want %v (last next %d)", got, want, p3.Next)
	}
}

type clocked interface{ SetClock(func() time.Time) }

func testLastUpdatedMonotonic(t *testing.T, s store.Store) {
	c, ok := s.(clocked)
	if !ok {
		t.Skip("store has no settable clock")
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.SetClock(func() time.Time { return base })
	a := put(t, s, store.Write{Type: "Patient", ID: "clock"})
	c.SetClock(func() time.Time { return base.Add(-time.Hour) }) // another instance's clock lags
	b := put(t, s, store.Write{Type: "Patient", ID: "clock"})
	if !b.Version.LastUpdated.After(a.Version.LastUpdated) {
		t.Fatalf("lastUpdated went from %v to %v", a.Version.LastUpdated, b.Version.LastUpdated)
	}
	if b.Version.LastUpdated.Sub(a.Version.LastUpdated) != time.Microsecond {
		t.Fatalf("expected a one-microsecond step, got %v", b.Version.LastUpdated.Sub(a.Version.LastUpdated))
	}
}
