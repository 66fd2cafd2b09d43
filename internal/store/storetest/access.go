package storetest

import (
	"context"
	"testing"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/auth"
	"github.com/mekong-fhir/mekong/internal/store"
)

// testAccess: a store.Access in the context restricts every read to the
// types, patient compartment and labels it allows
// (https://hl7.org/fhir/R4/security.html#AccessDenied: hidden is not found),
// old versions and deletes by their own labels; a request with a principal
// but no Access is refused rather than served unrestricted.
func testAccess(t *testing.T, s store.Store) {
	ctx := context.Background()
	hiv := "http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV"
	ix := func(patient string, labelled bool) *search.Index {
		x := &search.Index{Refs: []search.RefRow{{Param: "subject", TargetType: "Patient", TargetID: patient}}}
		if labelled {
			x.Tokens = []search.TokenRow{{Param: "_security", System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "HIV"}}
		}
		return x
	}
	put(t, s, store.Write{Type: "Patient", ID: "p1"})
	put(t, s, store.Write{Type: "Observation", ID: "o1", Index: ix("p1", false)})
	put(t, s, store.Write{Type: "Observation", ID: "o2", Index: ix("p2", false)})
	// h: unlabelled in version 1, labelled in 2, then deleted (3).
	put(t, s, store.Write{Type: "Observation", ID: "h", Index: ix("p1", false)})
	put(t, s, store.Write{Type: "Observation", ID: "h", Index: ix("p1", true)})
	put(t, s, store.Write{Type: "Observation", ID: "h", Method: store.MethodDelete})

	open := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": "", "Observation": ""}})
	p1 := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": "p1", "Observation": "p1"}, Hidden: []string{hiv}})
	noLabels := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": "", "Observation": ""}, Hidden: []string{hiv}})
	obsOnly := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Observation": ""}})

	for _, c := range []struct {
		name  string
		ctx   context.Context
		typ   string
		id    string
		found bool
	}{
		{"open o2", open, "Observation", "o2", true},
		{"p1 o1", p1, "Observation", "o1", true},
		{"p1 o2", p1, "Observation", "o2", false},
		{"p1 deleted labelled h", p1, "Observation", "h", false},
		{"no labels h", noLabels, "Observation", "h", false},
		{"open h", open, "Observation", "h", true},
		{"obsOnly Patient", obsOnly, "Patient", "p1", false},
	} {
		_, err := s.Read(c.ctx, c.typ, c.id)
		if c.found && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.found {
			wantStatus(t, err, 404)
		}
	}
	// Version 1 of h was unlabelled: visible; version 2 was not.
	if _, err := s.VRead(noLabels, "Observation", "h", 1); err != nil {
		t.Errorf("vread h/1: %v", err)
	}
	_, err := s.VRead(noLabels, "Observation", "h", 2)
	wantStatus(t, err, 404)
	page, err := s.History(noLabels, store.HistoryQuery{Type: "Observation", ID: "h", Count: 10})
	if err != nil || len(page.Versions) != 1 || page.Versions[0].VersionID != 1 {
		t.Errorf("history of h without the label: %+v %v", page, err)
	}
	page, err = s.History(p1, store.HistoryQuery{Count: 10})
	if err != nil || len(page.Versions) != 3 { // p1, o1, h/1
		t.Errorf("system history for p1: %+v %v", page, err)
	}
	res, err := s.Search(p1, &search.Query{Types: []string{"Observation"}, Count: 10, Total: "accurate"})
	if err != nil || res.Total != 1 || len(res.Matches) != 1 || res.Matches[0].ID != "o1" {
		t.Errorf("search for p1: %+v %v", res, err)
	}

	// A principal without a derived Access is refused, not served everything.
	bare := auth.WithPrincipal(ctx, &auth.Principal{Subject: "x"})
	if _, err := s.Read(bare, "Observation", "o1"); err == nil {
		t.Error("read with a principal and no Access succeeded")
	}
	if _, err := s.Search(bare, &search.Query{Types: []string{"Observation"}, Count: 10}); err == nil {
		t.Error("search with a principal and no Access succeeded")
	}
	// A compartment-limited write outside the compartment is 403.
	p1w := store.WithAccess(ctx, &store.Access{Types: map[string]string{"Observation": "p1"}, MayCreate: true})
	_, err = s.Write(p1w, store.Write{Type: "Observation", ID: "o3", Method: store.MethodPut, Render: body("Observation", "o3"), Index: ix("p2", false)})
	wantStatus(t, err, 403)
	put(t, s, store.Write{Type: "Observation", ID: "o3", Index: ix("p1", false)}) // inside it: fine (no Access here)
	if _, err := s.Write(p1w, store.Write{Type: "Observation", ID: "o4", Method: store.MethodPut, Render: body("Observation", "o4"), Index: ix("p1", false)}); err != nil {
		t.Errorf("write in the compartment: %v", err)
	}
}
