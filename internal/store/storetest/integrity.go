package storetest

// The end-of-import referential integrity check (store.Integrity), the
// same on every store.

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

func testDanglingReferences(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := s.(store.Bulk)
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ref := func(param, typ, id string) search.RefRow {
		return search.RefRow{Param: param, TargetType: typ, TargetID: id}
	}
	obs := func(id string, when time.Time, refs ...search.RefRow) store.NewResource {
		return store.NewResource{Type: "Observation", ID: id, LastUpdated: when, Content: []byte(`{"resourceType":"Observation","id":"` + id + `"}`),
			Index: &search.Index{Refs: refs}}
	}
	err := b.LoadNew(ctx, []store.NewResource{
		{Type: "Patient", ID: "p1", LastUpdated: at, Content: []byte(`{"resourceType":"Patient","id":"p1"}`)},
		obs("ok", at, ref("subject", "Patient", "p1"), ref("patient", "Patient", "p1")),
		obs("gone", at, ref("subject", "Patient", "p404"), ref("patient", "Patient", "p404"), ref("has-member", "Observation", "ok")),
		obs("elsewhere", at, ref("encounter", "Encounter", "e1")),
		obs("before", old, ref("subject", "Patient", "p405")),
		obs("deleted-target", at, ref("derived-from", "Observation", "dead")),
		obs("dead", at),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(ctx, store.Write{Type: "Observation", ID: "dead", Method: store.MethodDelete}); err != nil {
		t.Fatal(err)
	}
	got, err := s.(store.Integrity).DanglingReferences(ctx, []string{"Patient", "Observation"}, []string{"Patient", "Observation"}, at, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Dangling{
		{Type: "Observation", ID: "deleted-target", Param: "derived-from", TargetType: "Observation", TargetID: "dead"},
		{Type: "Observation", ID: "gone", Param: "patient", TargetType: "Patient", TargetID: "p404"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dangling (-want +got):\n%s", d)
	}
	if got, _ := s.(store.Integrity).DanglingReferences(ctx, []string{"Observation"}, []string{"Patient", "Observation"}, old, 1); len(got) != 1 {
		t.Errorf("limit 1: %v", got)
	}
}
