package storetest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/mekong-fhir/mekong/internal/store"
)

// testRecordSameTransaction checks store.Write.Record: a write's records
// (its Provenance, https://hl7.org/fhir/R4/provenance.html) are made in the
// write's own transaction, once per version written, with the deleted
// content handed to a delete's hook; a write that fails leaves none, and
// one whose records fail is rolled back.
func testRecordSameTransaction(t *testing.T, s store.Store) {
	ctx := context.Background()
	n := 0
	record := func(v *store.Version, prior []byte) ([]store.Write, error) {
		n++
		if v.Deleted && len(prior) == 0 {
			t.Errorf("delete of %s/%s: no prior content", v.Type, v.ID)
		}
		id := "rec-" + v.ID + "-" + strconv.FormatInt(v.VersionID, 10)
		return []store.Write{{Type: "Provenance", ID: id, Method: store.MethodPost, Render: body("Provenance", id)}}, nil
	}
	put(t, s, store.Write{Type: "Patient", ID: "p1", Record: record})
	put(t, s, store.Write{Type: "Patient", ID: "p1", Record: record})
	put(t, s, store.Write{Type: "Patient", ID: "p1", Method: store.MethodDelete, Record: record})
	put(t, s, store.Write{Type: "Patient", ID: "p1", Method: store.MethodDelete, Record: record}) // already deleted: nothing written
	if n != 3 {
		t.Fatalf("Record ran %d times, want 3 (one per version written)", n)
	}
	for v := 1; v <= 3; v++ {
		if _, err := s.Read(ctx, "Provenance", "rec-p1-"+strconv.Itoa(v)); err != nil {
			t.Fatalf("record of version %d: %v", v, err)
		}
	}

	// A failing write (stale If-Match) leaves no record.
	_, err := s.Write(ctx, store.Write{Type: "Patient", ID: "p2", Method: store.MethodPut, IfMatch: 7, Render: body("Patient", "p2"), Record: record})
	wantStatus(t, err, http.StatusPreconditionFailed)
	if _, err := s.Read(ctx, "Provenance", "rec-p2-1"); err == nil {
		t.Fatal("a failed write left a record")
	}

	// Records that cannot be made roll the write back.
	boom := errors.New("boom")
	_, err = s.Write(ctx, store.Write{Type: "Patient", ID: "p3", Method: store.MethodPut, Render: body("Patient", "p3"),
		Record: func(*store.Version, []byte) ([]store.Write, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the record's error", err)
	}
	if _, err := s.Read(ctx, "Patient", "p3"); err == nil {
		t.Fatal("the write stayed although its records failed")
	}

	// Inside a transaction that fails later, the records go with the writes.
	err = s.Transaction(ctx, func(tx store.Tx) error {
		if _, err := tx.Write(ctx, store.Write{Type: "Patient", ID: "p4", Method: store.MethodPut, Render: body("Patient", "p4"), Record: record}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("transaction: %v", err)
	}
	if _, err := s.Read(ctx, "Provenance", "rec-p4-1"); err == nil {
		t.Fatal("a rolled-back transaction left a record")
	}
}
