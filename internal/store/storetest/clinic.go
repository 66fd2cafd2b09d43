package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/fhir/search"
	"github.com/mekong-fhir/mekong/internal/store"
)

// testSessions: clinic page sessions live in the database (so every gateway
// instance on it sees them), end after the idle timeout or at their
// absolute expiry, and end at sign-out.
func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	ss := s.(store.Sessions)
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	idle := 15 * time.Minute
	mk := func(id string, exp time.Duration) {
		t.Helper()
		if err := ss.CreateSession(ctx, store.Session{ID: id, Principal: []byte(`{"sub":"n1"}`), CSRF: "c-" + id, Created: t0, LastSeen: t0, Expires: t0.Add(exp)}); err != nil {
			t.Fatal(err)
		}
	}
	mk("a", 8*time.Hour)
	mk("b", 8*time.Hour)
	mk("c", 20*time.Minute)
	got, err := ss.TouchSession(ctx, "a", t0.Add(10*time.Minute), idle)
	if err != nil || got == nil || got.CSRF != "c-a" || string(got.Principal) != `{"sub":"n1"}` || !got.LastSeen.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("touch a: %+v %v", got, err)
	}
	// Used 10 minutes ago, so alive at +24 minutes; b was last used at t0.
	if got, err := ss.TouchSession(ctx, "a", t0.Add(24*time.Minute), idle); err != nil || got == nil {
		t.Fatalf("a after 14 idle minutes: %+v %v", got, err)
	}
	if got, err := ss.TouchSession(ctx, "b", t0.Add(16*time.Minute), idle); err != nil || got != nil {
		t.Fatalf("b after 16 idle minutes: %+v %v, want ended", got, err)
	}
	if got, _ := ss.TouchSession(ctx, "b", t0, idle); got != nil {
		t.Fatal("an idle session ended is deleted, not revived")
	}
	if got, err := ss.TouchSession(ctx, "c", t0.Add(20*time.Minute), time.Hour); err != nil || got != nil {
		t.Fatalf("c at its expiry: %+v %v, want ended", got, err)
	}
	if err := ss.DeleteSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ss.TouchSession(ctx, "a", t0.Add(25*time.Minute), idle); got != nil {
		t.Fatal("a signed out session is still live")
	}
	if got, err := ss.TouchSession(ctx, "never", t0, idle); err != nil || got != nil {
		t.Fatalf("unknown session: %+v %v", got, err)
	}
	mk("d", time.Hour)
	mk("e", 8*time.Hour)
	if _, err := ss.TouchSession(ctx, "e", t0.Add(50*time.Minute), idle); err != nil {
		t.Fatal(err)
	}
	n, err := ss.PurgeSessions(ctx, t0.Add(61*time.Minute), idle)
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v, want d only", n, err)
	}
}

// testBreakGlass: a grant opens one patient's restricted data to one user
// while it lasts (CONTRACTS §3): Access.Exempt lifts Hidden for that
// compartment only, in reads and searches; grants are found per user and
// not after they expire; a grant is stored with its audit record.
func testBreakGlass(t *testing.T, s store.Store) {
	ctx := context.Background()
	bg := s.(store.BreakGlass)
	hiv := "http://terminology.hl7.org/CodeSystem/v3-ActCode|HIV"
	ix := func(patient string) *search.Index {
		return &search.Index{Refs: []search.RefRow{{Param: "subject", TargetType: "Patient", TargetID: patient}},
			Tokens: []search.TokenRow{{Param: "_security", System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "HIV"}}}
	}
	put(t, s, store.Write{Type: "Observation", ID: "hiv1", Index: ix("p1")})
	put(t, s, store.Write{Type: "Observation", ID: "hiv2", Index: ix("p2")})
	types := map[string]string{"Patient": "", "Observation": ""}
	hidden := store.WithAccess(ctx, &store.Access{Types: types, Hidden: []string{hiv}})
	granted := store.WithAccess(ctx, &store.Access{Types: types, Hidden: []string{hiv}, Exempt: []string{"p1"}})
	if _, err := s.Read(hidden, "Observation", "hiv1"); err == nil {
		t.Fatal("hiv1 visible without a grant")
	}
	if _, err := s.Read(granted, "Observation", "hiv1"); err != nil {
		t.Fatalf("hiv1 with a grant for p1: %v", err)
	}
	_, err := s.Read(granted, "Observation", "hiv2")
	wantStatus(t, err, 404)
	res, err := s.Search(granted, &search.Query{Types: []string{"Observation"}, Count: 10, Total: "accurate"})
	if err != nil || res.Total != 1 || len(res.Matches) != 1 || res.Matches[0].ID != "hiv1" {
		t.Fatalf("search with a grant for p1: %+v %v", res, err)
	}

	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	rec := store.Write{Type: "AuditEvent", ID: "btg-audit", Method: store.MethodPost, Render: body("AuditEvent", "btg-audit")}
	g := store.Grant{ID: "g1", Issuer: "https://idp", Subject: "nurse", Patient: "p1", Reason: "unconscious", Started: t0, Expires: t0.Add(time.Hour)}
	if err := bg.StartBreakGlass(store.WithAccess(ctx, &store.Access{Types: map[string]string{"Patient": ""}}), g, []store.Write{rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "AuditEvent", "btg-audit"); err != nil {
		t.Fatalf("the grant's record was not stored with it: %v", err)
	}
	for _, c := range []struct {
		iss, sub string
		at       time.Time
		want     int
	}{
		{"https://idp", "nurse", t0.Add(59 * time.Minute), 1},
		{"https://idp", "nurse", t0.Add(time.Hour), 0},
		{"https://idp", "doctor", t0, 0},
		{"https://other", "nurse", t0, 0},
	} {
		gs, err := bg.ActiveGrants(ctx, c.iss, c.sub, c.at)
		if err != nil || len(gs) != c.want {
			t.Errorf("grants of %s %s at %s: %+v %v, want %d", c.iss, c.sub, c.at, gs, err, c.want)
		}
		if c.want == 1 && (gs[0].Patient != "p1" || gs[0].Reason != "unconscious" || !gs[0].Expires.Equal(g.Expires)) {
			t.Errorf("grant read back: %+v", gs[0])
		}
	}
}
