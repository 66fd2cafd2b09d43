package storetest

// Bulk and job contract (https://hl7.org/fhir/uv/bulkdata/export.html,
// https://hl7.org/fhir/R4/async.html): the batch primitives of import and
// export and the job lease, identical on every store.

import (
	"context"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

func testBulkLoadNew(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := s.(store.Bulk)
	at := time.Date(2026, 3, 1, 2, 3, 4, 5000, time.UTC)
	batch := []store.NewResource{
		{Type: "Patient", ID: "a", LastUpdated: at, Content: []byte(`{"resourceType":"Patient","id":"a"}`),
			Index: &search.Index{Tokens: []search.TokenRow{{Param: "identifier", System: "urn:x", Code: "1"}}}},
		{Type: "Patient", ID: "b", LastUpdated: at, Content: []byte(`{"resourceType":"Patient","id":"b"}`)},
	}
	if err := b.LoadNew(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := b.Existing(ctx, "Patient", []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"].VersionID != 1 || !got["a"].LastUpdated.Equal(at) || string(got["b"].Content) != `{"resourceType":"Patient","id":"b"}` {
		t.Fatalf("Existing after LoadNew: %+v", got)
	}
	// An existing id fails the whole batch: nothing of it is written.
	err = b.LoadNew(ctx, []store.NewResource{{Type: "Patient", ID: "c", LastUpdated: at, Content: []byte(`{}`)},
		{Type: "Patient", ID: "a", LastUpdated: at, Content: []byte(`{}`)}})
	if !store.IsDuplicate(err) {
		t.Fatalf("LoadNew of an existing id: %v, want a duplicate error", err)
	}
	if _, err := s.Read(ctx, "Patient", "c"); err == nil {
		t.Fatal("a failed LoadNew left Patient/c behind")
	}
	// Loaded resources are versioned and indexed like written ones.
	page, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "a", Count: 10})
	if err != nil || len(page.Versions) != 1 {
		t.Fatalf("history of a loaded resource: %v %v", page, err)
	}
	q := tokenQuery("Patient", search.Token{System: "urn:x", Code: "1"})
	q.Count = 10
	res, err := s.Search(ctx, q)
	if err != nil || len(res.Matches) != 1 || res.Matches[0].ID != "a" {
		t.Fatalf("search a loaded index row: %+v %v", res, err)
	}
}

func testBulkExportPage(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := s.(store.Bulk)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ref := func(param string) *search.Index {
		return &search.Index{Refs: []search.RefRow{{Param: param, TargetType: "Patient", TargetID: "p"}}}
	}
	batch := []store.NewResource{
		{Type: "Observation", ID: "o1", LastUpdated: t0, Content: []byte(`{"o":1}`), Index: ref("subject")},
		{Type: "Observation", ID: "o2", LastUpdated: t0.Add(time.Hour), Content: []byte(`{"o":2}`), Index: ref("performer")},
		{Type: "Observation", ID: "o3", LastUpdated: t0.Add(2 * time.Hour), Content: []byte(`{"o":3}`)},
		{Type: "Observation", ID: "o4", LastUpdated: t0.Add(3 * time.Hour), Content: []byte(`{"o":4}`), Index: ref("subject")},
	}
	if err := b.LoadNew(ctx, batch); err != nil {
		t.Fatal(err)
	}
	put(t, s, store.Write{Type: "Observation", ID: "o4", Method: store.MethodDelete})
	ids := func(q store.ExportQuery, limit int) []string {
		vs, err := b.ExportPage(ctx, q, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.ID+"="+string(v.Content))
		}
		return out
	}
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", name, got, want)
			}
		}
	}
	check("all live, in id order", ids(store.ExportQuery{Type: "Observation"}, 10), `o1={"o":1}`, `o2={"o":2}`, `o3={"o":3}`)
	check("keyset page", ids(store.ExportQuery{Type: "Observation", After: "o1"}, 1), `o2={"o":2}`)
	check("since", ids(store.ExportQuery{Type: "Observation", Since: t0.Add(time.Hour)}, 10), `o2={"o":2}`, `o3={"o":3}`)
	check("compartment", ids(store.ExportQuery{Type: "Observation", CompartmentParams: []string{"subject", "performer"}}, 10), `o1={"o":1}`, `o2={"o":2}`)
	check("compartment by subject", ids(store.ExportQuery{Type: "Observation", CompartmentParams: []string{"subject"}}, 10), `o1={"o":1}`)
}

func testJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	js := s.(store.Jobs)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	j := store.Job{ID: "j1", Kind: "import", Request: "http://x/fhir/$import", Params: []byte(`{}`), Created: now, TransactionTime: now}
	if err := js.CreateJob(ctx, j, []store.File{{Kind: store.FileInput, N: 0, Content: []byte("line\n")}}); err != nil {
		t.Fatal(err)
	}
	got, err := js.ClaimJob(ctx, "A", now, time.Minute)
	if err != nil || got == nil || got.ID != "j1" || got.Status != store.JobRunning || got.Owner != "A" {
		t.Fatalf("claim: %+v %v", got, err)
	}
	if other, err := js.ClaimJob(ctx, "B", now.Add(30*time.Second), time.Minute); err != nil || other != nil {
		t.Fatalf("a leased job was claimed again: %+v %v", other, err)
	}
	if err := js.SaveProgress(ctx, "j1", "A", []byte(`{"line":5}`), now.Add(time.Minute), []store.File{{Kind: store.FileErrorPart, N: 0, Content: []byte("e1\n"), Count: 1}}); err != nil {
		t.Fatal(err)
	}
	// Saving the same part again (a re-run batch) replaces it.
	if err := js.SaveProgress(ctx, "j1", "A", []byte(`{"line":5}`), now.Add(time.Minute), []store.File{{Kind: store.FileErrorPart, N: 0, Content: []byte("e2\n"), Count: 1}}); err != nil {
		t.Fatal(err)
	}
	// The lease runs out: B takes over from the committed state; A is stopped.
	taken, err := js.ClaimJob(ctx, "B", now.Add(2*time.Minute), time.Minute)
	if err != nil || taken == nil || string(taken.State) != `{"line":5}` {
		t.Fatalf("takeover: %+v %v", taken, err)
	}
	if err := js.SaveProgress(ctx, "j1", "A", nil, now, nil); err != store.ErrLeaseLost {
		t.Fatalf("old owner's progress: %v, want ErrLeaseLost", err)
	}
	done := *taken
	done.Status, done.Expires, done.State = store.JobDone, now.Add(time.Hour), []byte(`{"line":9}`)
	if err := js.FinishJob(ctx, done, []string{store.FileErrorPart, store.FileInput}, []store.File{{Kind: store.FileError, N: 0, Type: "OperationOutcome", Count: 1, Content: []byte("e2\n")}}); err != nil {
		t.Fatal(err)
	}
	if fs, _ := js.Files(ctx, "j1", store.FileInput); len(fs) != 0 {
		t.Errorf("input parts left after finish: %v", fs)
	}
	f, err := js.File(ctx, "j1", store.FileError, 0)
	if err != nil || string(f.Content) != "e2\n" || f.Count != 1 {
		t.Fatalf("error file: %+v %v", f, err)
	}
	if n, err := js.PurgeExpired(ctx, now.Add(59*time.Minute)); err != nil || n != 0 {
		t.Fatalf("purge before expiry: %d %v", n, err)
	}
	if n, err := js.PurgeExpired(ctx, now.Add(61*time.Minute)); err != nil || n != 1 {
		t.Fatalf("purge after expiry: %d %v", n, err)
	}
	if _, err := js.Job(ctx, "j1"); err == nil {
		t.Fatal("expired job still there")
	}
	if _, err := js.File(ctx, "j1", store.FileError, 0); err == nil {
		t.Fatal("expired job's file still there")
	}
	if found, err := js.DeleteJob(ctx, "j1"); err != nil || found {
		t.Fatalf("delete of a purged job: %v %v", found, err)
	}
}
