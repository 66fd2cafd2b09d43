package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/outcome"
	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// patientMembers is what the registry gives for the served types of the
// Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html).
var patientMembers = []search.CompartmentMember{
	{Type: "Patient", Params: []string{"link"}},
	{Type: "Immunization", Params: []string{"patient"}},
	{Type: "Observation", Params: []string{"subject", "performer"}},
}

func refs(rows ...search.RefRow) *search.Index { return &search.Index{Refs: rows} }

func ref(param, typ, id string) search.RefRow {
	return search.RefRow{Param: param, TargetType: typ, TargetID: id}
}

// compartmentFixture writes patient p1's record among others' and returns
// the ids ("Type/id") that are in p1's compartment, in page order.
func compartmentFixture(t *testing.T, s store.Store) []string {
	put(t, s, store.Write{Type: "Patient", ID: "p1"})
	put(t, s, store.Write{Type: "Patient", ID: "p2"})
	put(t, s, store.Write{Type: "Patient", ID: "p3", Index: refs(ref("link", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Immunization", ID: "i1", Index: refs(ref("patient", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Immunization", ID: "i2", Index: refs(ref("patient", "Patient", "p2"))})
	put(t, s, store.Write{Type: "Observation", ID: "o1", Index: refs(ref("subject", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Observation", ID: "o2", Index: refs(ref("performer", "Patient", "p1"))})
	// Through both parameters: still one resource.
	put(t, s, store.Write{Type: "Observation", ID: "o3", Index: refs(ref("subject", "Patient", "p1"), ref("performer", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Observation", ID: "o4", Index: refs(ref("subject", "Patient", "p2"))})
	// A Practitioner that happens to share the patient's id is not the patient.
	put(t, s, store.Write{Type: "Observation", ID: "o5", Index: refs(ref("performer", "Practitioner", "p1"))})
	// A parameter outside the compartment definition does not bring a resource in.
	put(t, s, store.Write{Type: "Observation", ID: "o6", Index: refs(ref("focus", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Observation", ID: "o7", Index: refs(ref("subject", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Observation", ID: "o7", Method: store.MethodDelete})
	return []string{"Patient/p1", "Patient/p3", "Immunization/i1", "Observation/o1", "Observation/o2", "Observation/o3"}
}

// allPages follows Next from q's first page and returns every id, failing
// on a page larger than Count.
func allPages(t *testing.T, s store.Store, q store.CompartmentQuery) (ids []string, pages int) {
	t.Helper()
	total := 0
	for {
		p, err := s.Compartment(context.Background(), q)
		if err != nil {
			t.Fatalf("Compartment page %d: %v", pages+1, err)
		}
		pages++
		if pages == 1 {
			total = p.Total
		} else if p.Total != total {
			t.Fatalf("page %d total %d, first page said %d", pages, p.Total, total)
		}
		if len(p.Resources) > q.Count || (p.Next != "" && len(p.Resources) != q.Count) {
			t.Fatalf("page %d has %d resources for count %d (next %q)", pages, len(p.Resources), q.Count, p.Next)
		}
		for _, v := range p.Resources {
			if v.Deleted || v.Content == nil {
				t.Fatalf("page %d: %s/%s without content", pages, v.Type, v.ID)
			}
			ids = append(ids, v.Type+"/"+v.ID)
		}
		if p.Next == "" {
			return ids, pages
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		q.Cursor = p.Next
	}
}

// https://hl7.org/fhir/R4/patient-operation-everything.html: the patient
// and its compartment, every resource once, across pages and types; a
// deleted resource, another patient's data and non-compartment references
// never appear.
func testCompartment(t *testing.T, s store.Store) {
	want := compartmentFixture(t, s)
	for _, count := range []int{1, 2, 4, 100} {
		q := store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers, Count: count, Total: true}
		got, pages := allPages(t, s, q)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("count %d: got %v, want %v", count, got, want)
		}
		if wantPages := (len(want) + count - 1) / count; pages != wantPages {
			t.Errorf("count %d: %d pages, want %d", count, pages, wantPages)
		}
		first, err := s.Compartment(context.Background(), q)
		if err != nil || first.Total != len(want) {
			t.Errorf("count %d: total %d (%v), want %d", count, first.Total, err, len(want))
		}
	}
	zero, err := s.Compartment(context.Background(), store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers, Total: true})
	if err != nil || zero.Total != len(want) || len(zero.Resources) != 0 || zero.Next != "" {
		t.Errorf("count 0: %+v %v, want only the total %d", zero, err, len(want))
	}
	q := store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers[2:], Count: 10}
	if got, _ := allPages(t, s, q); strings.Join(got, " ") != "Observation/o1 Observation/o2 Observation/o3" {
		t.Errorf("Observation only: %v", got)
	}
	if p, err := s.Compartment(context.Background(), q); err != nil || p.Total != -1 {
		t.Errorf("total not asked for: %d %v", p.Total, err)
	}
	q = store.CompartmentQuery{Type: "Patient", ID: "p2", Members: patientMembers, Count: 10, Total: true}
	if got, _ := allPages(t, s, q); strings.Join(got, " ") != "Patient/p2 Immunization/i2 Observation/o4" {
		t.Errorf("p2: %v", got)
	}
}

// _since keeps what changed at or after the instant, the focal resource
// included; pages written while paging do not shift the keyset.
func testCompartmentSince(t *testing.T, s store.Store) {
	compartmentFixture(t, s)
	cut := put(t, s, store.Write{Type: "Observation", ID: "o2", Index: refs(ref("performer", "Patient", "p1"))}).Version.LastUpdated
	put(t, s, store.Write{Type: "Immunization", ID: "i9", Index: refs(ref("patient", "Patient", "p1"))})
	put(t, s, store.Write{Type: "Observation", ID: "o1", Index: refs(ref("subject", "Patient", "p2"))}) // moved to p2
	q := store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers, Since: cut, Count: 1, Total: true}
	got, _ := allPages(t, s, q)
	if strings.Join(got, " ") != "Immunization/i9 Observation/o2" {
		t.Errorf("since: %v", got)
	}
	p, err := s.Compartment(context.Background(), q)
	if err != nil || p.Total != 2 {
		t.Errorf("since total %d %v", p.Total, err)
	}

	// Keyset paging: deleting a returned resource and adding one before the
	// cursor changes nothing for the pages still to come.
	q = store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers, Count: 3, Total: true}
	first, err := s.Compartment(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, store.Write{Type: "Immunization", ID: "i1", Method: store.MethodDelete})
	put(t, s, store.Write{Type: "Patient", ID: "p3", Method: store.MethodDelete})
	put(t, s, store.Write{Type: "Immunization", ID: "i0", Index: refs(ref("patient", "Patient", "p1"))})
	q.Cursor = first.Next
	// The total is the first page's snapshot (allPages checks every later
	// page gives it), although a new count would now differ.
	live, err := s.Compartment(context.Background(), store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers, Total: true})
	if err != nil || live.Total != first.Total-1 {
		t.Fatalf("live total %d (%v), first page's %d", live.Total, err, first.Total)
	}
	if p, err := s.Compartment(context.Background(), q); err != nil || p.Total != first.Total {
		t.Fatalf("second page total %d (%v), want the first page's %d", p.Total, err, first.Total)
	}
	rest, _ := allPages(t, s, q)
	if strings.Join(rest, " ") != "Immunization/i9 Observation/o2 Observation/o3" {
		t.Errorf("after a change between pages: first %d resources, then %v", len(first.Resources), rest)
	}
}

// A cursor belongs to its query: another patient, filter or set of types,
// or a forged token, is a 400 naming _cursor.
func testCompartmentCursorBound(t *testing.T, s store.Store) {
	compartmentFixture(t, s)
	ctx := context.Background()
	q := store.CompartmentQuery{Type: "Patient", ID: "p1", Members: patientMembers, Count: 1}
	p, err := s.Compartment(ctx, q)
	if err != nil || p.Next == "" {
		t.Fatalf("first page: %+v %v", p, err)
	}
	other := []store.CompartmentQuery{
		{Type: "Patient", ID: "p2", Members: patientMembers, Count: 1, Cursor: p.Next},
		{Type: "Patient", ID: "p1", Members: patientMembers[1:], Count: 1, Cursor: p.Next},
		{Type: "Patient", ID: "p1", Members: patientMembers, Since: p.Resources[0].LastUpdated, Count: 1, Cursor: p.Next},
		{Type: "Patient", ID: "p1", Members: patientMembers, Count: 1, Cursor: "not-a-cursor"},
		// Well-formed but forged: a signature the server did not make.
		{Type: "Patient", ID: "p1", Members: patientMembers, Count: 1, Cursor: base64.RawURLEncoding.EncodeToString([]byte(`{"m":0,"a":"p1","s":1}`))},
	}
	for i, oq := range other {
		_, err := s.Compartment(ctx, oq)
		wantStatus(t, err, http.StatusBadRequest)
		if e, ok := outcome.As(err); !ok || fmt.Sprint(e.Issues[0].Expression) != "[_cursor]" {
			t.Errorf("case %d: %v, want an issue at _cursor", i, err)
		}
	}
}
