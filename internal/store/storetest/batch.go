package storetest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// batch runs ws as one WriteBatch in its own transaction.
func batch(s store.Store, ws ...store.Write) ([]*store.Result, error) {
	for i := range ws {
		if ws[i].Render == nil && ws[i].Method != store.MethodDelete {
			ws[i].Render = body(ws[i].Type, ws[i].ID)
		}
	}
	var out []*store.Result
	err := s.Transaction(context.Background(), func(tx store.Tx) error {
		res, err := tx.WriteBatch(context.Background(), ws)
		out = res
		return err
	})
	return out, err
}

// wantBatchError checks that write index of a batch failed with status.
func wantBatchError(t *testing.T, err error, index, status int) {
	t.Helper()
	var be *store.BatchError
	if !errors.As(err, &be) || be.Index != index {
		t.Fatalf("got %v, want the failure of write %d", err, index)
	}
	e, ok := outcome.As(be.Err)
	if !ok || e.Status != status {
		t.Fatalf("write %d failed with %v, want status %d", index, be.Err, status)
	}
}

func matches(t *testing.T, s store.Store, q *search.Query) []string {
	t.Helper()
	var ids []string
	err := s.Transaction(context.Background(), func(tx store.Tx) error {
		var err error
		ids, err = tx.Match(context.Background(), q, 10)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// A batch creates, updates and deletes as single writes would, numbering
// versions and replacing index rows (https://hl7.org/fhir/R4/http.html#transaction).
func testBatchWrites(t *testing.T, s store.Store) {
	put(t, s, store.Write{Type: "Patient", ID: "old", Index: tokens("urn:x", "before")})
	put(t, s, store.Write{Type: "Patient", ID: "gone"})
	res, err := batch(s,
		store.Write{Type: "Patient", ID: "new1", Method: store.MethodPost, Index: tokens("urn:x", "n1")},
		store.Write{Type: "Observation", ID: "new2", Method: store.MethodPost},
		store.Write{Type: "Patient", ID: "old", Method: store.MethodPut, IfMatch: 1, Index: tokens("urn:x", "after")},
		store.Write{Type: "Patient", ID: "gone", Method: store.MethodDelete},
		store.Write{Type: "Patient", ID: "never", Method: store.MethodDelete},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		outcome store.Outcome
		version int64
	}{{store.Created, 1}, {store.Created, 1}, {store.Updated, 2}, {store.Deleted, 2}, {store.Unchanged, 0}}
	for i, w := range want {
		r := res[i]
		if r.Outcome != w.outcome || (w.version != 0 && (r.Version == nil || r.Version.VersionID != w.version || r.Version.Seq == 0)) {
			t.Fatalf("write %d: %+v %+v, want outcome %d version %d", i, r, r.Version, w.outcome, w.version)
		}
	}
	if res[4].Version != nil {
		t.Fatalf("delete of a missing resource: %+v", res[4].Version)
	}
	if res[0].Version.Seq >= res[2].Version.Seq {
		t.Fatalf("versions are not sequenced in batch order: %d, %d", res[0].Version.Seq, res[2].Version.Seq)
	}
	if v, err := s.Read(context.Background(), "Patient", "old"); err != nil || v.VersionID != 2 || string(v.Content) != string(res[2].Version.Content) {
		t.Fatalf("read after batch update: %+v %v", v, err)
	}
	if v, err := s.Read(context.Background(), "Patient", "gone"); err != nil || !v.Deleted {
		t.Fatalf("read after batch delete: %+v %v", v, err)
	}
	if got := matches(t, s, identifier("before")); len(got) != 0 {
		t.Fatalf("the old version's index rows remain: %v", got)
	}
	if got := matches(t, s, identifier("after")); len(got) != 1 || got[0] != "old" {
		t.Fatalf("the new version is not indexed: %v", got)
	}
	if got := matches(t, s, identifier("n1")); len(got) != 1 || got[0] != "new1" {
		t.Fatalf("a created resource is not indexed: %v", got)
	}
}

// Two writes of one resource in a batch are refused and nothing is written
// (https://hl7.org/fhir/R4/http.html#trules: identities must not overlap).
func testBatchIDCollision(t *testing.T, s store.Store) {
	_, err := batch(s,
		store.Write{Type: "Patient", ID: "other", Method: store.MethodPut},
		store.Write{Type: "Patient", ID: "twice", Method: store.MethodPut},
		store.Write{Type: "Patient", ID: "twice", Method: store.MethodPut},
	)
	wantBatchError(t, err, 2, http.StatusBadRequest)
	// The same type and id once each, across types, is no collision.
	if _, err := batch(s, store.Write{Type: "Patient", ID: "same", Method: store.MethodPut},
		store.Write{Type: "Observation", ID: "same", Method: store.MethodPut}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(context.Background(), "Patient", "other"); err == nil {
		t.Fatal("a refused batch wrote its other writes")
	}
	// A conditional update resolving to a resource another write names collides too.
	put(t, s, store.Write{Type: "Patient", ID: "target", Index: tokens("urn:x", "T")})
	_, err = batch(s,
		store.Write{Type: "Patient", ID: "target", Method: store.MethodPut},
		store.Write{Type: "Patient", Method: store.MethodPut, Match: identifier("T"), CreateID: "fresh"},
	)
	wantBatchError(t, err, 1, http.StatusBadRequest)
}

// A failed precondition fails the whole batch: nothing of it is stored
// (https://hl7.org/fhir/R4/http.html#concurrency, #transaction).
func testBatchIfMatchRollsBack(t *testing.T, s store.Store) {
	put(t, s, store.Write{Type: "Patient", ID: "p", Index: tokens("urn:x", "p1")})
	put(t, s, store.Write{Type: "Patient", ID: "p", Index: tokens("urn:x", "p2")})
	_, err := batch(s,
		store.Write{Type: "Patient", ID: "created", Method: store.MethodPost, Index: tokens("urn:x", "c")},
		store.Write{Type: "Patient", ID: "p", Method: store.MethodDelete},
		store.Write{Type: "Patient", ID: "q", Method: store.MethodPut, IfMatch: 1},
	)
	wantBatchError(t, err, 2, http.StatusPreconditionFailed)
	_, err = batch(s,
		store.Write{Type: "Patient", ID: "created", Method: store.MethodPost},
		store.Write{Type: "Patient", ID: "p", Method: store.MethodPut, IfMatch: 1},
	)
	wantBatchError(t, err, 1, http.StatusPreconditionFailed)
	_, err = batch(s, store.Write{Type: "Patient", ID: "p", Method: store.MethodPut, IfNoneMatch: true})
	wantBatchError(t, err, 0, http.StatusPreconditionFailed)
	if _, err := s.Read(context.Background(), "Patient", "created"); err == nil {
		t.Fatal("a failed batch kept its create")
	}
	if v, _ := s.Read(context.Background(), "Patient", "p"); v == nil || v.Deleted || v.VersionID != 2 {
		t.Fatalf("a failed batch changed p: %+v", v)
	}
	if got := matches(t, s, identifier("p2")); len(got) != 1 {
		t.Fatalf("a failed batch changed p's index: %v", got)
	}
	res, err := batch(s, store.Write{Type: "Patient", ID: "p", Method: store.MethodPut, IfMatch: 2})
	if err != nil || res[0].Version.VersionID != 3 {
		t.Fatalf("current If-Match: %+v %v", res, err)
	}
}

// Conditional writes in a batch resolve against the stored resources
// (https://hl7.org/fhir/R4/http.html#ccreate, #cond-update).
func testBatchConditional(t *testing.T, s store.Store) {
	put(t, s, store.Write{Type: "Patient", ID: "a", Index: tokens("urn:x", "A")})
	put(t, s, store.Write{Type: "Patient", ID: "u", Index: tokens("urn:x", "U")})
	put(t, s, store.Write{Type: "Patient", ID: "d", Index: tokens("urn:x", "D")})
	res, err := batch(s,
		store.Write{Type: "Patient", ID: "x1", Method: store.MethodPost, IfNoneExist: identifier("A"), Index: tokens("urn:x", "A")},
		store.Write{Type: "Patient", ID: "x2", Method: store.MethodPost, IfNoneExist: identifier("B"), Index: tokens("urn:x", "B")},
		store.Write{Type: "Patient", Method: store.MethodPut, Match: identifier("U"), CreateID: "x3", Index: tokens("urn:x", "U")},
		store.Write{Type: "Patient", Method: store.MethodPut, Match: identifier("V"), CreateID: "x4"},
		store.Write{Type: "Patient", Method: store.MethodDelete, Match: identifier("D")},
		store.Write{Type: "Patient", Method: store.MethodDelete, Match: identifier("none")},
	)
	if err != nil {
		t.Fatal(err)
	}
	check := func(i int, o store.Outcome, id string, version int64) {
		t.Helper()
		r := res[i]
		if r.Outcome != o || (id == "" && r.Version != nil) || (id != "" && (r.Version == nil || r.Version.ID != id || r.Version.VersionID != version)) {
			t.Fatalf("write %d: %+v %+v, want %d %s/%d", i, r, r.Version, o, id, version)
		}
	}
	check(0, store.Unchanged, "a", 1) // matched: the existing resource, untouched
	if len(res[0].Version.Content) == 0 {
		t.Fatal("a matched conditional create returns the resource's content")
	}
	check(1, store.Created, "x2", 1)
	check(2, store.Updated, "u", 2)
	check(3, store.Created, "x4", 1)
	check(4, store.Deleted, "d", 2)
	check(5, store.Unchanged, "", 0)
	if _, err := s.Read(context.Background(), "Patient", "x1"); err == nil {
		t.Fatal("a matched conditional create stored a resource")
	}
	// Several matches are 412 and roll back the batch.
	put(t, s, store.Write{Type: "Patient", ID: "a2", Index: tokens("urn:x", "A")})
	_, err = batch(s,
		store.Write{Type: "Patient", ID: "y", Method: store.MethodPut},
		store.Write{Type: "Patient", ID: "z", Method: store.MethodPost, IfNoneExist: identifier("A")},
	)
	wantBatchError(t, err, 1, http.StatusPreconditionFailed)
	if _, err := s.Read(context.Background(), "Patient", "y"); err == nil {
		t.Fatal("a failed batch kept its write")
	}
}
